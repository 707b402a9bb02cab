"""Disposable trainers and the :func:`train` entry point.

A trainer is built with its options, trains once, and returns an inference object that knows
nothing of training (as in setfit)::

    trainer = KnnTrainer(embedder={"text": {"model": "minilm"}}, k=10)
    classifier = trainer.train(dataset)            # a KnnClassifier
    classifier = train(dataset, family="knn", k=10)  # the same, by family name

Every trainer takes the keyword arguments ``embedder`` (``None`` for the dataset modality's
default, an :class:`Embedder`, an embedder config, its tagged dict, or a text model name),
``seed``, ``progress`` (a tqdm bar on stderr) and its family's options, and has
``train(dataset, *, command=None) -> Classifier``. Families resolve lazily from :data:`TRAINERS`
so that SetFit's torch training code is imported only when asked for. :class:`TrainerOptions`
(a pydantic model; :data:`OPTIONS` are its fields) says what each option's value must be;
:func:`check_options` checks names, types and ranges before any data is read or embedded (a new
option needs a field there; a test keeps it complete).

This module holds what every trainer shares. The centroid and knn trainers live in
:mod:`guardrails.training.embedding_trainers`, SetFit's in
:mod:`guardrails.training.setfit_trainer`.
"""

from __future__ import annotations

import inspect
import pkgutil
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

from guardrails.artifacts import TrainingInfo
from guardrails.embedders.base import (
    Embedder,
    EmbedderConfig,
    Modality,
    TextEmbedderConfig,
    VisionEmbedderConfig,
    load_embedder,
)
from guardrails.errors import InputError
from guardrails.manifest import (
    Boolean,
    Fraction,
    NonNegativeInteger,
    NonNegativeNumber,
    PositiveInteger,
    PositiveNumber,
    field_problem,
)
from guardrails.training.losses import PAIR_LOSSES

if TYPE_CHECKING:
    from guardrails.classifiers.base import Classifier
    from guardrails.training.dataset import Dataset

__all__ = [
    "OPTIONS",
    "TRAINERS",
    "Trainer",
    "TrainerOptions",
    "check_options",
    "check_trainable",
    "embed_dataset",
    "in_batches",
    "resolve_embedder",
    "train",
    "training_info",
]


TRAINERS: dict[str, str] = {
    "centroid": "guardrails.training.embedding_trainers:CentroidTrainer",
    "knn": "guardrails.training.embedding_trainers:KnnTrainer",
    "setfit": "guardrails.training.setfit_trainer:SetFitTrainer",
}

EmbedderLike = Embedder | EmbedderConfig | dict[str, Any] | str | None

PairLoss = Literal[tuple(sorted(PAIR_LOSSES))]  # type: ignore[valid-type]


class TrainerOptions(BaseModel):
    """What each family option's value must be, for every family that has the option. An
    option left out keeps its trainer's default (not repeated here: the ``None`` defaults only
    mark the options optional and are never validated, so an explicit null is refused unless
    the option allows it). Which family has which option is its trainer's signature."""

    model_config = ConfigDict(strict=True, frozen=True)

    # centroid and knn (and setfit's head)
    class_weight: Literal["balanced", "none"] = None
    # knn
    k: PositiveInteger = None
    search: Literal["auto", "exact", "hnsw"] = None
    exact_below: NonNegativeInteger | None = Field(
        None, description="a non-negative integer or null"
    )
    M: int = Field(None, ge=2, description="an integer >= 2")
    ef_construction: PositiveInteger = None
    ef_search: PositiveInteger = None
    calibration_size: int = Field(None, ge=2, description="an integer >= 2")
    # setfit
    num_pairs: PositiveInteger | None = Field(None, description="a positive integer or null")
    num_iterations: PositiveInteger | None = Field(None, description="a positive integer or null")
    epochs: PositiveNumber = None
    batch_size: int = Field(None, ge=2, description="an integer >= 2")
    min_steps: NonNegativeInteger = None
    max_steps: NonNegativeInteger = None
    lr: PositiveNumber = None
    loss: PairLoss = None
    temperature: PositiveNumber = None
    warmup: Fraction = None
    weight_decay: NonNegativeNumber = None
    head_c: PositiveNumber = None
    lp_ft: Boolean = None
    lp_ft_epochs: PositiveInteger = None
    lp_ft_lr: PositiveNumber = None
    chunk_size: PositiveInteger = None
    train_layers: Literal["auto"] | PositiveInteger | None = Field(
        None, description='"auto", null (the whole encoder) or a positive integer'
    )
    body_dtype: Literal["float32", "float16"] = None
    num_threads: PositiveInteger | None = Field(None, description="a positive integer or null")


OPTIONS: dict[str, FieldInfo] = TrainerOptions.model_fields
"""Every family option by name (the fields of :class:`TrainerOptions`)."""


class Trainer(Protocol):
    def train(self, dataset: Dataset, *, command: str | None = None) -> Classifier: ...


def resolve_embedder(embedder: EmbedderLike, modality: Modality) -> Embedder:
    """The embedder to train with, checked against the dataset's modality."""
    if modality is Modality.AUDIO:
        raise InputError("no audio embedder ships with guardrails: audio cannot be classified")
    if embedder is None:
        embedder = TextEmbedderConfig() if modality is Modality.TEXT else VisionEmbedderConfig()
    if not isinstance(embedder, Embedder):
        embedder = load_embedder(embedder)
    if embedder.modality is not modality:
        raise InputError(
            f"the dataset holds {modality.value} inputs but the embedder "
            f"({embedder.config.to_dict()}) embeds {embedder.modality.value}"
        )
    return embedder


def check_trainable(dataset: Dataset) -> None:
    """An :class:`InputError` naming the file unless every label has an example and there are
    at least two examples (and two labels, unless the data is multi-label)."""
    if len(dataset) < 2 or (not dataset.multi_label and len(dataset.labels) < 2):
        raise InputError(
            f"{dataset.source}: need at least 2 examples (and 2 labels unless multi-label)"
        )
    empty = sorted(set(dataset.labels) - {x for e in dataset.examples for x in e.labels})
    if empty:
        raise InputError(f"{dataset.source}: no training example for label(s) {empty}")


def in_batches(
    fn: Callable[[list[Any]], np.ndarray],
    items: list[Any],
    *,
    size: int,
    desc: str,
    progress: bool,
    width: int,
) -> np.ndarray:
    """``fn`` over ``items`` in batches of ``size``, rows stacked, with a tqdm bar on stderr."""
    from tqdm.auto import tqdm

    parts = []
    with tqdm(total=len(items), desc=desc, unit="ex", file=sys.stderr, disable=not progress) as bar:
        for begin in range(0, len(items), size):
            parts.append(np.asarray(fn(items[begin : begin + size]), dtype=np.float32))
            bar.update(len(parts[-1]))
    return np.concatenate(parts) if parts else np.zeros((0, width), dtype=np.float32)


def embed_dataset(embedder: Embedder, dataset: Dataset, *, progress: bool = True) -> np.ndarray:
    """One L2-normalised vector per example (a long text: the mean of its windows)."""
    inputs = dataset.inputs()
    return in_batches(
        embedder.embed,
        inputs,
        size=256,
        desc="embedding",
        progress=progress,
        width=embedder.dimension,
    )


def training_info(
    dataset: Dataset, *, seconds: float, seed: int, command: str | None
) -> TrainingInfo:
    """What a classifier records of its training: the data set's source, hash, size and label
    counts, each file's source, hash and rows, what was held out, the seconds, the seed and the
    command."""
    counts = Counter(label for example in dataset.examples for label in example.labels)
    rows = Counter(example.part for example in dataset.examples)
    parts = dataset.parts or ((dataset.source, dataset.sha256),)
    sources = tuple(
        {"source": source, "sha256": sha256, "rows": rows[i]}
        for i, (source, sha256) in enumerate(parts)
    )
    return TrainingInfo(
        source=dataset.source,
        sha256=dataset.sha256,
        size=len(dataset),
        label_counts={label: counts[label] for label in dataset.labels},
        command=command,
        seed=seed,
        seconds=seconds,
        held_out=dataset.held_out,
        sources=sources,
    )


def check_options(
    family: str, options: Mapping[str, Any], flags: Mapping[str, str] | None = None
) -> type:
    """The trainer class of ``family``, once ``options`` are known to it and each value is of
    the right type and range (:class:`TrainerOptions`); else a ValueError naming the family or
    option: ``k must be a positive integer, got 2.5``, or with ``flags`` (how each option was
    given on a command line) ``--option k: expected a positive integer, got 2.5``. Builds the
    trainer once (cheap: it stores its options), so checks across options (``min_steps <=
    max_steps``) also run before any data is read."""
    if family not in TRAINERS:
        raise ValueError(f"unknown family {family!r} (known: {', '.join(TRAINERS)})")
    trainer_cls = pkgutil.resolve_name(TRAINERS[family])
    accepted = inspect.signature(trainer_cls).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            known = sorted(set(accepted) - {"embedder", "seed", "progress"})
            raise ValueError(f"unknown option(s) {unknown} for {family} (known: {known})")
    try:
        TrainerOptions.model_validate(options)
    except ValidationError as exc:
        problem = field_problem(exc, TrainerOptions, options)
        if flags is None:
            raise ValueError(f"{problem.path} {problem.must_be()}") from None
        flag = flags.get(problem.path, problem.path)
        raise ValueError(f"{flag}: {problem.of_option()}") from None
    trainer_cls(progress=False, **options)
    return trainer_cls


def train(
    dataset: Dataset | str | Path,
    family: str = "centroid",
    embedder: EmbedderLike = None,
    *,
    seed: int = 0,
    progress: bool = True,
    command: str | None = None,
    **options: Any,
) -> Classifier:
    """Train a classifier of ``family`` (``centroid``, ``knn``, ``setfit``) on ``dataset`` (a
    :class:`Dataset` or the path of a JSONL / CSV file). ``options`` go to the family's trainer;
    an unknown family or option, or a wrong value, is a ValueError (:func:`check_options`)
    raised before the data is read."""
    trainer_cls = check_options(family, options)
    if isinstance(dataset, str | Path):
        from guardrails.training.dataset import load_dataset

        dataset = load_dataset(dataset)
    trainer = trainer_cls(embedder=embedder, seed=seed, progress=progress, **options)
    if "command" in inspect.signature(trainer.train).parameters:
        return trainer.train(dataset, command=command)
    return trainer.train(dataset)
