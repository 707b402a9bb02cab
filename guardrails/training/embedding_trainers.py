"""The centroid and knn trainers: embed the dataset once, fit from the vectors, calibrate by
leave-one-out, record provenance.

Both take the common trainer arguments (see :mod:`guardrails.training.trainers`) plus
``class_weight``; :func:`~guardrails.training.trainers.train` finds them through
:data:`~guardrails.training.trainers.TRAINERS`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from guardrails.calibration import (
    balanced_weights,
    binary_weights,
    fit_platt,
    fit_temperature,
    fit_temperature_and_smoothing,
    sigmoid,
    softmax,
)
from guardrails.classifiers.centroid import CentroidClassifier, centroids_and_loo_cosines
from guardrails.classifiers.knn import (
    EXACT_BELOW,
    KnnClassifier,
    NeighbourIndex,
    knn_vote,
    vote_weights,
)
from guardrails.embedders.base import Modality
from guardrails.errors import InputError
from guardrails.training.trainers import (
    EmbedderLike,
    check_trainable,
    embed_dataset,
    resolve_embedder,
    training_info,
)

if TYPE_CHECKING:
    from guardrails.classifiers.base import Classifier
    from guardrails.training.dataset import Dataset

__all__ = ["CentroidTrainer", "KnnTrainer"]


def _loo_metrics(dataset: Dataset, targets: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
    from guardrails.training.evaluate import compute_metrics

    result = compute_metrics(dataset.labels, targets, proba, multi_label=dataset.multi_label)
    return {"loo_accuracy": round(result.accuracy, 4), "loo_macro_f1": round(result.macro_f1, 4)}


class _EmbeddingTrainer:
    """Centroid and knn: embed the dataset once, fit from the vectors, record provenance."""

    classifier: ClassVar[type[CentroidClassifier | KnnClassifier]]

    def __init__(
        self,
        *,
        embedder: EmbedderLike = None,
        seed: int = 0,
        progress: bool = True,
        class_weight: str = "balanced",
    ) -> None:
        if class_weight not in ("balanced", "none"):
            raise ValueError(f"class_weight must be 'balanced' or 'none', not {class_weight!r}")
        self.embedder, self.seed, self.progress = embedder, seed, progress
        self.balanced = class_weight == "balanced"

    def train(self, dataset: Dataset, *, command: str | None = None) -> Classifier:
        if dataset.modality is Modality.AUDIO:
            raise InputError(f"{dataset.source}: no audio embedder ships with guardrails")
        check_trainable(dataset)
        start = time.perf_counter()
        embedder = resolve_embedder(self.embedder, dataset.modality)
        vectors = embed_dataset(embedder, dataset, progress=self.progress)
        embedded = time.perf_counter()
        targets = dataset.label_matrix().astype(np.uint8)
        fitted, proba, rows = self.fit(vectors, targets, dataset)
        end = time.perf_counter()
        metrics = _loo_metrics(dataset, targets[rows], proba) | {
            "embed_seconds": round(embedded - start, 3),
            "fit_seconds": round(end - embedded, 3),
        }
        info = training_info(dataset, seconds=end - start, seed=self.seed, command=command)
        return self.classifier(
            dataset.labels,
            **fitted,
            embedder_config=embedder.config,
            multi_label=dataset.multi_label,
            training=info,
            metrics=metrics,
            embedder=embedder,
        )

    def fit(
        self, vectors: np.ndarray, targets: np.ndarray, dataset: Dataset
    ) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        """The classifier's fitted arguments, and the out-of-fold probabilities of ``rows``."""
        raise NotImplementedError


class CentroidTrainer(_EmbeddingTrainer):
    """Fits a :class:`CentroidClassifier`, calibrated by leave-one-out.

    ``class_weight="balanced"`` (default) weighs each label equally when fitting the calibration.
    """

    classifier = CentroidClassifier

    def fit(
        self, vectors: np.ndarray, targets: np.ndarray, dataset: Dataset
    ) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        centroids, loo = centroids_and_loo_cosines(vectors, targets)
        rows = np.arange(len(vectors))
        if dataset.multi_label:
            columns = targets.T.astype(bool)
            platt = np.array(
                [
                    fit_platt(x, y, weights=binary_weights(y) if self.balanced else None)
                    for x, y in zip(loo.T, columns, strict=True)
                ]
            )
            proba = sigmoid(loo * platt[:, 0] + platt[:, 1])
            return {"centroids": centroids, "platt": platt}, proba, rows
        y = targets.argmax(axis=1)
        weights = balanced_weights(y, targets.shape[1]) if self.balanced else None
        temperature = fit_temperature(loo, y, weights=weights)
        return {"centroids": centroids, "temperature": temperature}, softmax(loo, temperature), rows


class KnnTrainer(_EmbeddingTrainer):
    """Builds a :class:`KnnClassifier`, its ``T`` and ``eps`` fitted by leave-one-out.

    ``k``: neighbours that vote. ``search``: ``"auto"`` (exact below ``exact_below`` examples,
    default :data:`~guardrails.classifiers.knn.EXACT_BELOW`, else HNSW), ``"exact"`` or
    ``"hnsw"``. ``M``, ``ef_construction``, ``ef_search``: HNSW parameters.
    ``calibration_size``: at most this many examples (drawn with ``seed``) fit ``T`` and ``eps``.
    ``class_weight="balanced"`` (default): neighbours vote with the inverse frequency of their
    label, so a majority label does not win by numbers alone.
    """

    classifier = KnnClassifier

    def __init__(
        self,
        *,
        embedder: EmbedderLike = None,
        seed: int = 0,
        progress: bool = True,
        class_weight: str = "balanced",
        k: int = 10,
        search: str = "auto",
        exact_below: int | None = None,
        M: int = 16,
        ef_construction: int = 200,
        ef_search: int = 64,
        calibration_size: int = 5000,
    ) -> None:
        super().__init__(embedder=embedder, seed=seed, progress=progress, class_weight=class_weight)
        if search not in ("auto", "exact", "hnsw"):
            raise ValueError(f"search must be 'auto', 'exact' or 'hnsw', not {search!r}")
        if min(k, M - 1, ef_construction, ef_search, calibration_size - 1) < 1:
            raise ValueError(
                "need k >= 1, M >= 2, ef_construction >= 1, ef_search >= 1, calibration_size >= 2"
            )
        self.k, self.search, self.exact_below = k, search, exact_below
        self.hnsw = {"M": M, "ef_construction": ef_construction, "ef_search": ef_search}
        self.calibration_size = calibration_size

    def fit(
        self, vectors: np.ndarray, targets: np.ndarray, dataset: Dataset
    ) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        n, k = len(vectors), min(self.k, len(vectors) - 1)
        limit = EXACT_BELOW if self.exact_below is None else self.exact_below
        exact = self.search == "exact" or (self.search == "auto" and n < limit)
        hnsw = self.hnsw | {"ef_search": max(self.hnsw["ef_search"], k + 1)}
        index = NeighbourIndex.build(vectors, exact=exact, seed=self.seed, **hnsw)
        label_weights = vote_weights(targets, dataset.multi_label, self.balanced)
        rows = np.arange(n)
        if n > self.calibration_size:
            rng = np.random.default_rng(self.seed)
            rows = np.sort(rng.choice(n, self.calibration_size, replace=False))
        indices, sims = index.search(vectors[rows], k + 1)
        keep = indices != rows[:, None]  # leave each example out of its own vote
        keep[keep.all(axis=1), -1] = False
        indices, sims = indices[keep].reshape(len(rows), k), sims[keep].reshape(len(rows), k)
        y = targets[rows].astype(bool)
        if dataset.multi_label:  # each (example, label) weighs what it weighs in the vote
            weights = np.where(y, label_weights[:, 0], label_weights[:, 1])
        else:
            weights = label_weights[y.argmax(axis=1), 0]

        def vote(temperature: float, smoothing: float) -> np.ndarray:
            return knn_vote(
                sims,
                targets[indices],
                temperature=temperature,
                smoothing=smoothing,
                label_weights=label_weights,
                multi_label=dataset.multi_label,
            )

        temperature, smoothing = fit_temperature_and_smoothing(
            vote, y, weights=weights, multi_label=dataset.multi_label
        )
        ids = [ex.id if ex.id is not None else f"line:{ex.line}" for ex in dataset.examples]
        fitted = {
            "targets": targets,
            "ids": ids,
            "index": index,
            "k": self.k,
            "temperature": temperature,
            "smoothing": smoothing,
            "label_weights": label_weights,
            "params": hnsw | {"class_weight": "balanced" if self.balanced else "none"},
        }
        return fitted, vote(temperature, smoothing), rows
