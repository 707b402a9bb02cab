"""The disposable SetFit trainer: contrastive fine-tuning of a text encoder, then a linear head.

Three stages, deterministic for a given ``seed`` and thread count:

1. **Contrastive body** (:mod:`guardrails.training.contrastive`): a pair loss over every pair
   inside stratified batches, so one forward pass per example serves ``batch_size - 1`` pairs:
   the supervised contrastive loss by default, SetFit's own cosine-similarity loss with
   ``loss="cosine"``. The steps cover ``num_pairs`` pairs (default: as many as the
   `setfit` library would draw for the same examples), at least ``min_steps``.
2. **Linear probe** (:mod:`guardrails.training.setfit_head`): a logistic-regression head on
   the fine-tuned, frozen embeddings (softmax, or one-vs-rest sigmoids for multi-label data),
   fitted by L-BFGS with an L2 penalty (``head_c`` is scikit-learn's ``C``) and balanced class
   weights by default.
3. **LP-FT** (``lp_ft=True``): body and probed head fine-tuned together on the classification
   loss with a small body learning rate, so the features are barely distorted.

Returns a :class:`~guardrails.classifiers.setfit.SetFitClassifier`.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from guardrails.embedders import THREADS_ENV
from guardrails.embedders.base import Embedder, EmbedderConfig, Modality
from guardrails.errors import InputError
from guardrails.training.losses import PAIR_LOSSES, SUPCON_TEMPERATURE
from guardrails.training.setfit_head import fit_head, head_weights, train_metrics
from guardrails.training.trainers import check_trainable, resolve_embedder, training_info

if TYPE_CHECKING:
    from guardrails.classifiers.setfit import SetFitClassifier
    from guardrails.training.dataset import Dataset

__all__ = ["SMALL_DATA", "SetFitTrainer", "fit_head"]

SMALL_DATA = 100
"""Below this many examples, ``train_layers="auto"`` fine-tunes only the top half of the encoder
(tweeteval offensive, 8 per class, 5 seeds: macro-F1 0.531 vs 0.525 for the whole encoder, in
about two thirds of the time; at 64 per class the whole encoder wins, 0.702 vs 0.691)."""


class SetFitTrainer:
    """Trains a :class:`SetFitClassifier`: build it with options, call :meth:`train`.

    ``embedder``: the text encoder to fine-tune (``None`` for MiniLM, a config, a tagged dict,
    a model name, or a loaded TextEmbedder, which is copied, never changed). ``num_pairs``:
    pairs of one epoch (default: the `setfit` library's count for these examples;
    ``num_iterations`` sets it as `setfit` does, ``2 * num_iterations * len(dataset)``); the
    contrastive stage runs ``epochs`` of them in batches of ``batch_size`` examples, clamped to
    ``min_steps..max_steps`` steps. ``train_layers``: fine-tune only the top N transformer
    blocks (``None``: the whole encoder; ``"auto"``: the top half below :data:`SMALL_DATA`
    examples, where it is faster and overfits less, else the whole encoder). ``body_dtype``:
    ``"float16"`` rounds the fine-tuned weights to half precision before the head is fitted,
    so a body saved as its changes to the base (top layers only) takes half the space with no
    round-trip difference. ``num_threads``:
    torch threads while training (default: ``GUARDRAILS_TORCH_THREADS`` or every CPU this
    process may use), restored after.
    Defaults measured on tweeteval offensive, 8 and 64 examples per class (benchmarks/).
    """

    def __init__(
        self,
        *,
        embedder: Embedder | EmbedderConfig | dict[str, Any] | str | None = None,
        seed: int = 0,
        progress: bool = True,
        num_pairs: int | None = None,
        num_iterations: int | None = None,
        epochs: float = 3.0,
        batch_size: int = 32,
        min_steps: int = 12,
        max_steps: int = 64,
        lr: float = 1e-4,
        loss: str = "supcon",
        temperature: float = SUPCON_TEMPERATURE,
        warmup: float = 0.1,
        weight_decay: float = 0.01,
        head_c: float = 1.0,
        class_weight: str = "balanced",
        lp_ft: bool = False,
        lp_ft_epochs: int = 2,
        lp_ft_lr: float = 1e-5,
        chunk_size: int = 16,
        train_layers: int | str | None = "auto",
        body_dtype: str = "float32",
        num_threads: int | None = None,
    ) -> None:
        if loss not in PAIR_LOSSES:
            raise ValueError(f"loss must be one of {sorted(PAIR_LOSSES)}, not {loss!r}")
        if class_weight not in ("balanced", "none"):
            raise ValueError(f"class_weight must be 'balanced' or 'none', not {class_weight!r}")
        if batch_size < 2 or chunk_size < 1 or not 0 <= min_steps <= max_steps:
            raise ValueError("need batch_size >= 2, chunk_size >= 1, 0 <= min_steps <= max_steps")
        if train_layers not in ("auto", None) and not (
            isinstance(train_layers, int) and train_layers >= 1
        ):
            raise ValueError(f"train_layers must be 'auto', None (all) or >= 1: {train_layers!r}")
        if body_dtype not in ("float32", "float16"):
            raise ValueError(f"body_dtype must be 'float32' or 'float16', not {body_dtype!r}")
        if min(lr, head_c, epochs, lp_ft_lr, temperature) <= 0 or not 0 <= warmup < 1:
            raise ValueError(
                "lr, head_c, epochs, lp_ft_lr and temperature must be > 0, warmup in [0, 1)"
            )
        self.embedder, self.seed, self.progress = embedder, seed, progress
        self.num_pairs, self.num_iterations, self.epochs = num_pairs, num_iterations, epochs
        self.batch_size, self.min_steps, self.max_steps = batch_size, min_steps, max_steps
        self.lr, self.warmup, self.weight_decay = lr, warmup, weight_decay
        self.loss, self.temperature = loss, temperature
        self.head_c, self.balanced = head_c, class_weight == "balanced"
        self.lp_ft, self.lp_ft_epochs, self.lp_ft_lr = lp_ft, lp_ft_epochs, lp_ft_lr
        self.chunk_size, self.train_layers, self.body_dtype = chunk_size, train_layers, body_dtype
        self.num_threads = num_threads or _default_threads()

    def steps_for(self, targets: np.ndarray) -> tuple[int, int]:
        """Contrastive optimiser steps for these targets, and the pairs they cover."""
        from guardrails.training.contrastive import pairs_per_batch, setfit_pair_count

        if self.num_pairs is not None:
            pairs = self.num_pairs
        elif self.num_iterations is not None:
            pairs = 2 * self.num_iterations * len(targets)
        else:
            pairs = setfit_pair_count(targets)
        if pairs <= 0:  # no contrastive stage: a linear probe on the base encoder
            return 0, 0
        per_step = pairs_per_batch(min(self.batch_size, len(targets)))
        steps = math.ceil(self.epochs * pairs / per_step)
        steps = min(max(steps, self.min_steps), self.max_steps)
        return steps, steps * per_step

    def params(self) -> dict[str, Any]:
        """The options that shaped the classifier, recorded in its manifest."""
        return {
            "batch_size": self.batch_size,
            "lr": self.lr,
            "loss": self.loss,
            "temperature": self.temperature,
            "head_c": self.head_c,
            "class_weight": "balanced" if self.balanced else "none",
            "epochs": self.epochs,
            "train_layers": self.train_layers,
            "body_dtype": self.body_dtype,
            "lp_ft": self.lp_ft,
        }

    def train(self, dataset: Dataset, *, command: str | None = None) -> SetFitClassifier:
        import torch

        from guardrails.classifiers.setfit import SetFitClassifier
        from guardrails.embedders.text import TextEmbedder
        from guardrails.training.contrastive import (
            fine_tune_with_head,
            train_body,
            transformer_depth,
            tuned_parameters,
        )

        _check(dataset)
        start = time.perf_counter()
        base = resolve_embedder(self.embedder, dataset.modality)
        if not isinstance(base, TextEmbedder):
            raise InputError(f"setfit fine-tunes text encoders only, not {type(base).__name__}")
        model, tokenizer = base.model, base.tokenizer
        if base is self.embedder:  # the caller's embedder: fine-tune a copy
            model, tokenizer = copy.deepcopy(model), copy.deepcopy(tokenizer)
        texts, targets = dataset.inputs(), dataset.label_matrix()
        strata = np.unique(targets, axis=0, return_inverse=True)[1].reshape(-1)
        steps, pairs = self.steps_for(targets)
        layers = self.train_layers
        if layers == "auto":
            layers = None if len(dataset) >= SMALL_DATA else max(1, transformer_depth(model) // 2)
        body_config = base.config.model_copy(update={"max_length": base.max_length})
        shared = {"batch_size": self.batch_size, "weight_decay": self.weight_decay}
        shared |= {"chunk_size": self.chunk_size, "train_layers": layers}
        with _torch_state(torch, self.seed, self.num_threads):
            rng = np.random.default_rng(self.seed)
            tokens = base.tokenize(texts)
            losses = train_body(
                model, tokens, targets, strata, rng, steps=steps, lr=self.lr,
                warmup=self.warmup, progress=self.progress, loss=self.loss,
                temperature=self.temperature, **shared,
            )  # fmt: skip
            tuned = tuned_parameters(model, layers)
            self._round(torch, tuned)
            body = TextEmbedder.from_modules(model, tokenizer, body_config)
            vectors = body.embed(texts)
            weight, bias = fit_head(
                vectors, targets, dataset.multi_label, self.head_c, self.balanced
            )
            if self.lp_ft:
                weights = head_weights(targets, dataset.multi_label, self.balanced)
                weight, bias = fine_tune_with_head(
                    model, tokens, targets, weights, strata, (weight, bias), rng,
                    multi_label=dataset.multi_label, epochs=self.lp_ft_epochs, lr=self.lp_ft_lr,
                    **shared,
                )  # fmt: skip
                self._round(torch, tuned)
                body = TextEmbedder.from_modules(model, tokenizer, body_config)
                vectors = body.embed(texts)
        seconds = time.perf_counter() - start
        span = max(1, len(losses) // 10)
        metrics = {
            "contrastive_steps": steps,
            "train_layers": layers,
            "pairs_covered": pairs,
            "contrastive_loss_start": round(float(np.mean(losses[:span] or [0.0])), 4),
            "contrastive_loss_end": round(float(np.mean(losses[-span:] or [0.0])), 4),
            "seconds": round(seconds, 3),
        } | train_metrics(dataset, targets, vectors @ weight.T + bias)
        info = training_info(dataset, seconds=seconds, seed=self.seed, command=command)
        return SetFitClassifier(
            dataset.labels,
            body=body,
            weight=weight,
            bias=bias,
            embedder_config=base.config,
            multi_label=dataset.multi_label,
            params=self.params(),
            training=info,
            metrics=metrics,
        )

    def _round(self, torch: Any, params: list[Any]) -> None:
        if self.body_dtype == "float16":
            with torch.no_grad():
                for param in params:
                    param.copy_(param.to(torch.float16).to(param.dtype))


def _check(dataset: Dataset) -> None:
    if dataset.modality is not Modality.TEXT:
        raise InputError(
            f"{dataset.source}: setfit fine-tunes text encoders; this dataset holds "
            f"{dataset.modality.value} inputs (use the centroid or knn family)"
        )
    check_trainable(dataset)


def _default_threads() -> int:
    """``GUARDRAILS_TORCH_THREADS`` if set, else every CPU this process may run on."""
    wanted = os.environ.get(THREADS_ENV, "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextmanager
def _torch_state(torch: Any, seed: int, threads: int) -> Iterator[None]:
    """Seed torch and set its thread count for the block; restore both afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(before)
