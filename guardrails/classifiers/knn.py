"""k-nearest-neighbour classifier over the training embeddings, with its evidence.

Search (:mod:`guardrails.classifiers.neighbour_index`) is exact (one matrix product) for small
training sets, where that is faster, and an hnswlib cosine HNSW index above ``exact_below``
examples. The ``k`` nearest neighbours vote (all of them when ``k`` is larger than the training
set: ``k`` is clamped to its size), each weighted by ``exp((cos - cos_nearest) / T)``
and, with ``class_weight="balanced"`` (default), by the inverse frequency of its label, so a
majority label does not win by numbers alone. The vote is smoothed,
``p = (1 - eps) * vote + eps * uniform``; ``T`` and ``eps`` are fitted on the training set by
leave-one-out (each example voted on by its neighbours other than itself).
Multi-label: each label's vote is its weighted share among the neighbours. Every prediction
carries the ids of the nearest training examples (``Example.id`` or ``line:N``).

Saved as ``knn.safetensors`` (label matrix, label weights, and the vectors for exact search),
``ids.json`` and, for HNSW, hnswlib's own ``index.bin``. Concurrent queries are safe: the index
is only read after load (hnswlib allows parallel searches) and each call searches on one thread.
"""

from __future__ import annotations

import json
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
from guardrails.classifiers import EmbedderSlot
from guardrails.classifiers.base import Classifier, Prediction, assemble_predictions
from guardrails.classifiers.neighbour_index import EXACT_BELOW, NeighbourIndex, import_hnswlib
from guardrails.embedders.base import Embedder, EmbedderConfig
from guardrails.errors import ModelLoadError
from guardrails.manifest import Fraction, PositiveInteger, PositiveNumber
from guardrails.saving import saving

__all__ = ["EXACT_BELOW", "KnnClassifier", "NeighbourIndex", "knn_vote", "vote_weights"]

_ARRAYS, _IDS, _INDEX = "knn.safetensors", "ids.json", "index.bin"


class _ExactParams(BaseModel):
    """The ``params`` a classifier reads back; the trainer's other options are recorded
    beside them for provenance and ignored here."""

    model_config = ConfigDict(strict=True, frozen=True)

    search: Literal["exact", "hnsw"]
    k: PositiveInteger
    size: PositiveInteger
    temperature: PositiveNumber
    smoothing: Fraction


class _HnswParams(_ExactParams):
    ef_search: PositiveInteger


def knn_vote(
    sims: np.ndarray,
    neighbour_targets: np.ndarray,
    *,
    temperature: float,
    smoothing: float,
    label_weights: np.ndarray,
    multi_label: bool,
) -> np.ndarray:
    """Probabilities from neighbours' cosines ``(m, k)`` and 0/1 labels ``(m, k, L)``.

    ``label_weights`` is ``(L, 2)``: the weight of a neighbour having / not having each label
    (single-label uses the first column only).
    """
    sims = np.asarray(sims, dtype=np.float64)
    w = np.exp((sims - sims[:, :1]) / temperature)
    targets = neighbour_targets.astype(np.float64)
    positive = np.einsum("mk,mkl->ml", w, targets) * label_weights[:, 0]
    if multi_label:
        negative = np.einsum("mk,mkl->ml", w, 1.0 - targets) * label_weights[:, 1]
        vote = positive / np.maximum(positive + negative, 1e-300)
        return (1.0 - smoothing) * vote + smoothing * 0.5
    vote = positive / np.maximum(positive.sum(axis=1, keepdims=True), 1e-300)
    return (1.0 - smoothing) * vote + smoothing / targets.shape[-1]


def vote_weights(targets: np.ndarray, multi_label: bool, balanced: bool) -> np.ndarray:
    """``(L, 2)`` weights of a neighbour having / not having each label: with ``balanced``,
    inverse label frequencies, so every label (and, multi-label, its absence) weighs the same."""
    n, n_labels = targets.shape
    if not balanced:
        return np.ones((n_labels, 2))
    n_pos = np.maximum(targets.sum(axis=0), 1).astype(np.float64)
    if not multi_label:
        return np.stack([n / (n_labels * n_pos), np.ones(n_labels)], axis=1)
    return np.stack([n / (2.0 * n_pos), n / (2.0 * np.maximum(n - n_pos, 1))], axis=1)


class KnnClassifier(Classifier):
    """Distance-weighted k-NN vote over training embeddings, calibrated to probabilities."""

    family: ClassVar[str] = "knn"

    def __init__(
        self,
        labels: Sequence[str],
        targets: np.ndarray,
        ids: Sequence[str],
        index: NeighbourIndex,
        *,
        embedder_config: EmbedderConfig,
        multi_label: bool = False,
        k: int = 10,
        temperature: float = 0.05,
        smoothing: float = 0.01,
        label_weights: np.ndarray | None = None,
        params: Mapping[str, Any] | None = None,
        training: TrainingInfo | None = None,
        metrics: Mapping[str, Any] | None = None,
        thresholds: Mapping[str, Mapping[str, float]] | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.labels = tuple(labels)
        self.multi_label = multi_label
        self.embedder_config = embedder_config
        self.targets = np.array(targets, dtype=np.uint8)
        self.targets.flags.writeable = False
        self.ids = tuple(ids)
        if self.targets.shape != (index.size, len(self.labels)) or len(self.ids) != index.size:
            raise ValueError(
                f"{index.size} indexed vectors, targets {self.targets.shape}, {len(self.ids)} ids"
            )
        if not (k >= 1 and temperature > 0 and 0 <= smoothing < 1):
            raise ValueError(f"need k >= 1, T > 0, 0 <= eps < 1: {k=} {temperature=} {smoothing=}")
        self.index, self.k = index, min(int(k), index.size)  # more than all of them: all vote
        self.temperature, self.smoothing = float(temperature), float(smoothing)
        weights = np.ones((len(self.labels), 2)) if label_weights is None else label_weights
        self.label_weights = np.array(weights, dtype=np.float64).reshape(len(self.labels), 2)
        self.params = dict(params or {})
        self.training = training or TrainingInfo()
        self.metrics = dict(metrics or {})
        self.thresholds = thresholds
        self._slot = EmbedderSlot(embedder_config, embedder)

    def __repr__(self) -> str:
        return (
            f"KnnClassifier(labels={list(self.labels)}, n={self.index.size}, k={self.k}, "
            f"search={self.index.kind})"
        )

    @property
    def embedder(self) -> Embedder:
        return self._slot.get()

    def neighbours(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Indices and cosines of the ``k`` nearest training examples of each row."""
        return self.index.search(vectors, self.k)

    def _vote(self, indices: np.ndarray, sims: np.ndarray) -> np.ndarray:
        proba = knn_vote(
            sims,
            self.targets[indices],
            temperature=self.temperature,
            smoothing=self.smoothing,
            label_weights=self.label_weights,
            multi_label=self.multi_label,
        )
        return proba.astype(np.float32)

    def predict_proba_embeddings(self, vectors: np.ndarray) -> np.ndarray:
        return self._vote(*self.neighbours(vectors))

    def evidence_for(self, vectors: np.ndarray) -> list[tuple[str, ...]]:
        indices, _ = self.neighbours(vectors)
        return [tuple(self.ids[i] for i in row) for row in indices]

    def predict_embeddings(
        self, vectors: np.ndarray, owner: np.ndarray, n_inputs: int, top_k: int = 1
    ) -> list[Prediction]:
        indices, sims = self.neighbours(vectors)  # one search for both scores and evidence
        evidence = [tuple(self.ids[i] for i in row) for row in indices]
        return assemble_predictions(
            self.labels, self._vote(indices, sims), evidence, owner, n_inputs, top_k
        )

    def save(self, directory: str | Path) -> Path:
        arrays = {"targets": self.targets, "label_weights": self.label_weights}
        files = [_ARRAYS, _IDS]
        if self.index.vectors is not None:
            arrays["vectors"] = self.index.vectors
        else:
            files.append(_INDEX)
        params = dict(self.params) | {
            "k": self.k,
            "temperature": self.temperature,
            "smoothing": self.smoothing,
            "search": self.index.kind,
            "size": self.index.size,
        }
        if self.index.hnsw is not None:
            hnsw = self.index.hnsw
            params |= {"M": hnsw.M, "ef_construction": hnsw.ef_construction, "ef_search": hnsw.ef}
        manifest = Manifest.of(self, dimension=self.index.dimension, params=params, files=files)
        with saving(directory) as staging:
            if self.index.hnsw is not None:
                self.index.hnsw.save_index(str(staging / _INDEX))
            save_arrays(staging / _ARRAYS, arrays)
            (staging / _IDS).write_text(json.dumps({"ids": list(self.ids)}), encoding="utf-8")
            write_manifest(staging, manifest)
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path, *, embedder: Embedder | None = None) -> KnnClassifier:
        directory = Path(directory)
        manifest = read_manifest(directory, family=cls.family, embedder=embedder)
        hnsw_search = manifest.params.get("search") == "hnsw"
        params = manifest_params(directory, manifest, _HnswParams if hnsw_search else _ExactParams)
        exact = not isinstance(params, _HnswParams)
        arrays = load_arrays(
            directory / _ARRAYS, ["targets", "label_weights"] + (["vectors"] if exact else [])
        )
        try:
            ids = json.loads((directory / _IDS).read_text(encoding="utf-8"))["ids"]
            if exact:
                index = NeighbourIndex(vectors=arrays["vectors"])
            else:
                hnsw = import_hnswlib().Index(space="cosine", dim=manifest.dimension)
                hnsw.load_index(str(directory / _INDEX), max_elements=params.size)
                hnsw.set_ef(max(params.ef_search, params.k))
                index = NeighbourIndex(hnsw=hnsw)
            return cls(
                manifest.labels,
                arrays["targets"],
                ids,
                index,
                embedder_config=manifest.embedder_config,
                multi_label=manifest.multi_label,
                k=params.k,
                temperature=params.temperature,
                smoothing=params.smoothing,
                label_weights=arrays["label_weights"],
                params=manifest.params,
                embedder=embedder,
                **manifest.provenance(),
            )
        except (OSError, KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"{directory}: inconsistent knn classifier ({exc!r})") from exc
