"""Nearest-centroid classifier: one normalised mean embedding per label, cosine to each.

Cosines are not probabilities, so they are calibrated on the training data (leave-one-out: an
example is removed from its own label's centroid before it is scored):

- single-label: ``softmax(cos / T)`` over the labels, one fitted temperature ``T``;
- multi-label: per label ``sigmoid(a * cos + b)`` (Platt scaling), fitted per label.

Centroids weigh every label the same whatever its number of examples, so the probabilities do
not favour the majority label. Trained by
:class:`guardrails.training.embedding_trainers.CentroidTrainer`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

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
from guardrails.classifiers import EmbedderSlot
from guardrails.classifiers.base import Classifier
from guardrails.embedders.base import Embedder, EmbedderConfig
from guardrails.errors import ModelLoadError
from guardrails.manifest import PositiveNumber
from guardrails.saving import saving

__all__ = ["CentroidClassifier", "centroids_and_loo_cosines"]


class _TemperatureParams(BaseModel):
    """The ``params`` of a single-label classifier: its fitted temperature."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    calibration: Literal["temperature"] = "temperature"
    temperature: PositiveNumber


class _PlattParams(BaseModel):
    """The ``params`` of a multi-label classifier (its Platt scaling is an array)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    calibration: Literal["platt"] = "platt"


_ARRAYS = "centroids.safetensors"


class CentroidClassifier(Classifier):
    """Scores embeddings by cosine to per-label centroids, calibrated to probabilities.

    ``centroids`` is ``(len(labels), dimension)`` with unit rows. Single-label classifiers need
    ``temperature``; multi-label ones need ``platt``, a ``(len(labels), 2)`` array of ``(a, b)``.
    """

    family: ClassVar[str] = "centroid"

    def __init__(
        self,
        labels: Sequence[str],
        centroids: np.ndarray,
        *,
        embedder_config: EmbedderConfig,
        multi_label: bool = False,
        temperature: float | None = None,
        platt: np.ndarray | None = None,
        training: TrainingInfo | None = None,
        metrics: Mapping[str, Any] | None = None,
        thresholds: Mapping[str, Mapping[str, float]] | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.labels = tuple(labels)
        self.multi_label = multi_label
        self.embedder_config = embedder_config
        self.centroids = _frozen(centroids, (len(self.labels), None), "centroids")
        if multi_label:
            if platt is None:
                raise ValueError("a multi-label centroid classifier needs Platt parameters")
            self.platt = _frozen(platt, (len(self.labels), 2), "platt")
            self.temperature = None
        else:
            if temperature is None or not temperature > 0:
                raise ValueError(f"temperature must be > 0, got {temperature!r}")
            self.temperature = float(temperature)
            self.platt = None
        self.training = training or TrainingInfo()
        self.metrics = dict(metrics or {})
        self.thresholds = thresholds
        self._slot = EmbedderSlot(embedder_config, embedder)

    def __repr__(self) -> str:
        kind = "multi-label" if self.multi_label else f"T={self.temperature:.4g}"
        return f"CentroidClassifier(labels={list(self.labels)}, {kind})"

    @property
    def dimension(self) -> int:
        return int(self.centroids.shape[1])

    @property
    def embedder(self) -> Embedder:
        return self._slot.get()

    def cosines(self, vectors: np.ndarray) -> np.ndarray:
        """``(n, len(labels))`` cosine of each row to each label's centroid."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"expected (n, {self.dimension}) vectors, got {vectors.shape}")
        return vectors @ self.centroids.T

    def predict_proba_embeddings(self, vectors: np.ndarray) -> np.ndarray:
        cos = self.cosines(vectors).astype(np.float64)
        if self.platt is not None:
            proba = sigmoid(cos * self.platt[:, 0] + self.platt[:, 1])
        else:
            proba = softmax(cos, self.temperature or 1.0)
        return proba.astype(np.float32)

    def save(self, directory: str | Path) -> Path:
        arrays = {"centroids": self.centroids}
        if self.platt is not None:
            arrays["platt"] = self.platt
        params: dict[str, Any] = {"calibration": "platt" if self.multi_label else "temperature"}
        if self.temperature is not None:
            params["temperature"] = self.temperature
        manifest = Manifest.of(self, dimension=self.dimension, params=params, files=[_ARRAYS])
        with saving(directory) as staging:
            save_arrays(staging / _ARRAYS, arrays)
            write_manifest(staging, manifest)
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path, *, embedder: Embedder | None = None) -> CentroidClassifier:
        directory = Path(directory)
        manifest = read_manifest(directory, family=cls.family, embedder=embedder)
        params = _PlattParams if manifest.multi_label else _TemperatureParams
        temperature = getattr(manifest_params(directory, manifest, params), "temperature", None)
        names = ["centroids", "platt"] if manifest.multi_label else ["centroids"]
        arrays = load_arrays(directory / _ARRAYS, names)
        if arrays["centroids"].shape[-1] != manifest.dimension:
            raise ModelLoadError(
                f"{directory / _ARRAYS}: centroids are {arrays['centroids'].shape[-1]}-d, "
                f"the manifest says {manifest.dimension}-d"
            )
        try:
            return cls(
                manifest.labels,
                arrays["centroids"],
                embedder_config=manifest.embedder_config,
                multi_label=manifest.multi_label,
                temperature=temperature,
                platt=arrays.get("platt"),
                embedder=embedder,
                **manifest.provenance(),
            )
        except ValueError as exc:
            raise ModelLoadError(f"{directory}: inconsistent classifier ({exc})") from exc


def _frozen(array: np.ndarray, shape: tuple[int | None, ...], name: str) -> np.ndarray:
    out = np.array(array, dtype=np.float32, copy=True)
    expected = tuple(o if s is None else s for s, o in zip(shape, out.shape, strict=False))
    if out.ndim != len(shape) or out.shape != expected:
        raise ValueError(f"{name} has shape {out.shape}, expected {shape}")
    if not np.isfinite(out).all():
        raise ValueError(f"{name} holds non-finite values")
    out.flags.writeable = False
    return out


def centroids_and_loo_cosines(
    vectors: np.ndarray, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Unit centroids ``(L, d)`` of 0/1 ``targets`` ``(n, L)``, and each example's cosine to
    each centroid with the example left out of its own labels' centroids (0 where it was a
    label's only example). The out-of-sample scores a centroid classifier is calibrated on."""
    x = np.asarray(vectors, dtype=np.float64)
    y = np.asarray(targets).astype(bool)
    sums = y.T.astype(np.float64) @ x
    dots = x @ sums.T
    sq_sums = (sums * sums).sum(axis=1)[None, :]
    sq_x = (x * x).sum(axis=1)[:, None]
    numerator = np.where(y, dots - sq_x, dots)
    sq_norm = np.where(y, sq_sums - 2.0 * dots + sq_x, sq_sums)
    valid = sq_norm > 1e-12
    loo = np.where(valid, numerator / np.sqrt(np.where(valid, sq_norm, 1.0)), 0.0)
    centroids = sums / np.maximum(np.sqrt(sq_sums.T), 1e-12)
    return centroids.astype(np.float32), loo
