"""SetFit classifier: a contrastively fine-tuned text encoder and a logistic-regression head.

The inference half of SetFit (the trainer is :class:`guardrails.training.setfit_trainer.
SetFitTrainer`). It owns its encoder: the body was fine-tuned, so its embeddings differ from
the base model's and cannot be shared with other classifiers of that base model
(``owns_encoder = True`` tells the engine to embed with :attr:`SetFitClassifier.embedder`).

The head scores a unit embedding ``v`` as ``v @ weight.T + bias``: softmax over the labels for
single-label data, an independent sigmoid per label (one-vs-rest) for multi-label data.

Saved directory::

    manifest.json        family "setfit", labels, base embedder config, params (max_length)
    head.safetensors     weight (labels, dimension), bias (labels,)
    body/                the fine-tuned encoder (``save_pretrained``, safetensors) and tokenizer
  or
    body.safetensors     only the tensors fine-tuning changed, over the base encoder, which is
                         then loaded from its config and checked by sha256 (``encoder_delta``)

Every file is listed in the manifest with its sha256, so a missing or altered one is named at
load. No pickle anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from guardrails.artifacts import (
    Manifest,
    TrainingInfo,
    load_arrays,
    manifest_params,
    read_manifest,
    save_arrays,
    write_manifest,
)
from guardrails.calibration import sigmoid, softmax
from guardrails.classifiers.base import Classifier
from guardrails.embedders.base import Embedder, TextEmbedderConfig
from guardrails.errors import MissingDependency, ModelLoadError
from guardrails.manifest import PositiveInteger
from guardrails.saving import saving

__all__ = ["SetFitClassifier"]

_HEAD = "head.safetensors"
_BODY = "body"
_DELTA = "body.safetensors"
_STORAGE = ("max_length", "body", "base_sha256")


class _Params(BaseModel):
    """The ``params`` a classifier reads back; the trainer's options are recorded beside them
    for provenance and ignored here."""

    model_config = ConfigDict(strict=True, frozen=True)

    max_length: PositiveInteger | None = Field(None, description="a positive integer")
    body: Literal["body", "body.safetensors"] = _BODY


class _DeltaParams(_Params):
    """A body saved as its changes to the base encoder also records the base's fingerprint."""

    base_sha256: Annotated[
        str, Field(pattern="^[0-9a-f]{64}$", description="a sha256 (64 hex digits)")
    ]


class SetFitClassifier(Classifier):
    """A fine-tuned :class:`~guardrails.embedders.text.TextEmbedder` (``body``) and a linear head.

    ``embedder_config`` is the base encoder the body was fine-tuned from (recorded in the
    manifest); ``body.config`` is the same with the window length it was trained at.
    """

    family: ClassVar[str] = "setfit"
    owns_encoder: ClassVar[bool] = True

    def __init__(
        self,
        labels: Sequence[str],
        *,
        body: Any,
        weight: np.ndarray,
        bias: np.ndarray,
        embedder_config: TextEmbedderConfig,
        multi_label: bool = False,
        params: Mapping[str, Any] | None = None,
        training: TrainingInfo | None = None,
        metrics: Mapping[str, Any] | None = None,
        thresholds: Mapping[str, Mapping[str, float]] | None = None,
    ) -> None:
        self.labels = tuple(labels)
        if len(self.labels) < (1 if multi_label else 2):
            raise ValueError(f"need at least two labels (one if multi-label), got {self.labels}")
        self.multi_label = multi_label
        self.embedder_config = embedder_config
        self.body = body
        self.weight = _frozen(weight, (len(self.labels), int(body.dimension)), "weight")
        self.bias = _frozen(bias, (len(self.labels),), "bias")
        self.params = dict(params or {})
        self.training = training or TrainingInfo()
        self.metrics = dict(metrics or {})
        self.thresholds = thresholds

    def __repr__(self) -> str:
        kind = "multi-label" if self.multi_label else "single-label"
        return f"SetFitClassifier(labels={list(self.labels)}, {kind}, body={self.body!r})"

    @property
    def dimension(self) -> int:
        return int(self.weight.shape[1])

    @property
    def embedder(self) -> Embedder:
        """The fine-tuned encoder: the only embedder whose vectors this head understands."""
        return self.body

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"expected (n, {self.dimension}) vectors, got {vectors.shape}")
        return vectors.astype(np.float64) @ self.weight.T.astype(np.float64) + self.bias

    def predict_proba_embeddings(self, vectors: np.ndarray) -> np.ndarray:
        """Probabilities for rows embedded by :attr:`embedder` (the fine-tuned body)."""
        logits = self.logits(vectors)
        proba = sigmoid(logits) if self.multi_label else softmax(logits)
        return proba.astype(np.float32)

    def save(self, directory: str | Path) -> Path:
        """Save head and body; the body as its changes to the base encoder when fine-tuning
        touched at most half of it (see :mod:`guardrails.classifiers.encoder_delta`)."""
        with saving(directory) as staging:
            save_arrays(staging / _HEAD, {"weight": self.weight, "bias": self.bias})
            params = {k: v for k, v in self.params.items() if k not in _STORAGE}
            params |= {"max_length": int(self.body.max_length)} | self._save_body(staging)
            files = [_HEAD, *_files_under(staging, params["body"])]
            manifest = Manifest.of(self, dimension=self.dimension, params=params, files=files)
            write_manifest(staging, manifest)
        return Path(directory)

    def _save_body(self, directory: Path) -> dict[str, Any]:
        from guardrails.classifiers import encoder_delta
        from guardrails.embedders.text import TextEmbedder

        base = TextEmbedder.from_config(self.embedder_config).model
        changed = encoder_delta.changed_tensors(self.body.model, base)
        if changed is not None:
            fingerprint = encoder_delta.base_fingerprint(base)
            encoder_delta.save_delta(directory / _DELTA, changed, fingerprint)
            return {"body": _DELTA, "base_sha256": fingerprint}
        body_dir = directory / _BODY
        self.body.model.save_pretrained(body_dir, safe_serialization=True)
        self.body.tokenizer.save_pretrained(body_dir)
        return {"body": _BODY}

    @classmethod
    def load(cls, directory: str | Path, *, embedder: Embedder | None = None) -> SetFitClassifier:
        """Load a saved SetFit classifier with its own fine-tuned encoder.

        ``embedder`` must be left out: a SetFit head reads only its own body's vectors.
        """
        directory = Path(directory)
        if embedder is not None:
            raise ModelLoadError(
                f"{directory}: a setfit classifier carries its own fine-tuned encoder; "
                "load it without a shared embedder"
            )
        manifest = read_manifest(directory, family=cls.family)
        config = manifest.embedder_config
        if not isinstance(config, TextEmbedderConfig):
            raise ModelLoadError(f"{directory}: a setfit classifier needs a text encoder")
        delta = manifest.params.get("body") == _DELTA
        params = manifest_params(directory, manifest, _DeltaParams if delta else _Params)
        head = load_arrays(directory / _HEAD, ["weight", "bias"])
        if isinstance(params, _DeltaParams):
            from guardrails.classifiers.encoder_delta import load_delta

            body = load_delta(directory / _DELTA, config, params.base_sha256, params.max_length)
        else:
            body = _load_body(directory / params.body, config, params.max_length)
        if body.dimension != manifest.dimension:
            raise ModelLoadError(
                f"{directory}: the encoder gives {body.dimension}-d vectors, "
                f"the manifest says {manifest.dimension}-d"
            )
        try:
            return cls(
                manifest.labels,
                body=body,
                weight=head["weight"],
                bias=head["bias"],
                embedder_config=config,
                multi_label=manifest.multi_label,
                params=manifest.params,
                **manifest.provenance(),
            )
        except ValueError as exc:
            raise ModelLoadError(f"{directory}: inconsistent classifier ({exc})") from exc


def _load_body(body_dir: Path, config: TextEmbedderConfig, max_length: Any) -> Any:
    """The fine-tuned encoder saved under ``body_dir``, wrapped as a TextEmbedder."""
    try:
        import torch
        import transformers

        from guardrails.embedders.text import TextEmbedder
    except ImportError as exc:
        raise MissingDependency("ml", "a setfit classifier", exc) from exc
    if not (body_dir / "config.json").is_file():
        raise ModelLoadError(f"{body_dir}: the fine-tuned encoder is missing")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(body_dir)
        model = transformers.AutoModel.from_pretrained(body_dir, dtype=torch.float32)
    except Exception as exc:
        raise ModelLoadError(
            f"{body_dir}: cannot load the fine-tuned encoder: {type(exc).__name__}: {exc}"
        ) from exc
    if isinstance(max_length, int):
        config = config.model_copy(update={"max_length": max_length})
    return TextEmbedder.from_modules(model, tokenizer, config)


def _files_under(directory: Path, name: str) -> list[str]:
    """``name`` if it is a file in ``directory``, else every file below that folder."""
    if (directory / name).is_file():
        return [name]
    return sorted(
        path.relative_to(directory).as_posix()
        for path in (directory / name).rglob("*")
        if path.is_file() and not path.name.startswith(".")
    )


def _frozen(array: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    out = np.array(array, dtype=np.float32, copy=True)
    if out.shape != shape:
        raise ValueError(f"{name} has shape {out.shape}, expected {shape}")
    if not np.isfinite(out).all():
        raise ValueError(f"{name} holds non-finite values")
    out.flags.writeable = False
    return out
