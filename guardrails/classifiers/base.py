"""The interface every classifier family shares (centroid, knn, setfit, hf, zero-shot).

A classifier is an inference object: immutable after load, safe to share between concurrent
requests, and ignorant of training (trainers are separate, disposable objects in
``guardrails.training``). It scores embeddings, so the engine can embed an item once and hand
the same vectors to every classifier that uses that embedder.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from guardrails.embedders.base import Embedder, EmbedderConfig, Modality

__all__ = ["Classifier", "LabelScore", "Prediction", "assemble_predictions", "reduce_windows"]


@dataclass(frozen=True, slots=True)
class LabelScore:
    label: str
    probability: float


@dataclass(frozen=True, slots=True)
class Prediction:
    """Top-k labels for one input, most probable first, with evidence where the family has it
    (KNN: the ids of the nearest training examples)."""

    labels: tuple[LabelScore, ...]
    evidence: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.labels[0].label

    @property
    def probability(self) -> float:
        return self.labels[0].probability


class Classifier(ABC):
    """Scores inputs against a fixed label set with probabilities in 0..1.

    ``multi_label`` classifiers give each label an independent probability; single-label ones
    give a distribution that sums to 1 (for one window; a long text keeps each label's maximum
    over its windows).
    """

    family: ClassVar[str]

    labels: tuple[str, ...]
    multi_label: bool
    embedder_config: EmbedderConfig

    @property
    def modality(self) -> Modality:
        return self.embedder_config.modality

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.labels))

    @abstractmethod
    def predict_proba_embeddings(self, vectors: np.ndarray) -> np.ndarray:
        """``(n, len(labels))`` probabilities for ``n`` L2-normalised embedding rows."""

    def evidence_for(self, vectors: np.ndarray) -> list[tuple[str, ...]]:
        """Per row, ids of the training examples that support the prediction (KNN only)."""
        return [() for _ in range(len(vectors))]

    @property
    @abstractmethod
    def embedder(self) -> Embedder:
        """The embedder this classifier was trained with, loaded on first use."""

    def predict_proba(self, inputs: Sequence[Any]) -> np.ndarray:
        """Embed ``inputs`` (every window of a long text) and score them."""
        vectors, owner = self.embedder.embed_windows(inputs)
        return reduce_windows(self.predict_proba_embeddings(vectors), owner, len(inputs))

    def predict(self, inputs: Sequence[Any], top_k: int = 1) -> list[Prediction]:
        vectors, owner = self.embedder.embed_windows(inputs)
        return self.predict_embeddings(vectors, owner, len(inputs), top_k)

    def predict_embeddings(
        self, vectors: np.ndarray, owner: np.ndarray, n_inputs: int, top_k: int = 1
    ) -> list[Prediction]:
        """Top-k predictions from window vectors already computed (``owner[row]``: the input
        each row belongs to, as :meth:`Embedder.embed_windows` returns)."""
        proba = self.predict_proba_embeddings(vectors)
        return assemble_predictions(
            self.labels, proba, self.evidence_for(vectors), owner, n_inputs, top_k
        )

    @abstractmethod
    def save(self, directory: str | Path) -> Path:
        """Write ``manifest.json`` and safetensors (never pickle) into ``directory``."""

    @classmethod
    @abstractmethod
    def load(cls, directory: str | Path, *, embedder: Embedder | None = None) -> Classifier:
        """Load a directory written by :meth:`save`; raise ModelLoadError saying what is wrong.

        ``embedder``: use this (already loaded, shared) embedder instead of building the one the
        manifest names; the loader checks that it is the same model (``artifacts.read_manifest``).
        """


def reduce_windows(proba: np.ndarray, owner: np.ndarray, n_inputs: int) -> np.ndarray:
    """Keep, per input and label, the highest probability over that input's windows."""
    if len(owner) == n_inputs and np.array_equal(owner, np.arange(n_inputs)):
        return proba
    out = np.zeros((n_inputs, proba.shape[1]), dtype=proba.dtype)
    np.maximum.at(out, owner, proba)
    return out


def assemble_predictions(
    labels: Sequence[str],
    window_proba: np.ndarray,
    evidence: Sequence[tuple[str, ...]],
    owner: np.ndarray,
    n_inputs: int,
    top_k: int,
) -> list[Prediction]:
    """Per input: labels by their highest probability over its windows, and the evidence of
    the window that scored highest on the input's top label (where the harm is)."""
    proba = reduce_windows(window_proba, owner, n_inputs)
    best_row = np.full(n_inputs, -1)
    for row, index in enumerate(owner):
        top = int(np.argmax(proba[index]))
        if best_row[index] < 0 or window_proba[row, top] > window_proba[best_row[index], top]:
            best_row[index] = row
    return [
        to_prediction(labels, proba[i], top_k, evidence[r] if r >= 0 else ())
        for i, r in enumerate(best_row)
    ]


def to_prediction(
    labels: Sequence[str], proba: np.ndarray, top_k: int, evidence: tuple[str, ...] = ()
) -> Prediction:
    order = np.argsort(-proba, kind="stable")[: max(1, top_k)]
    return Prediction(
        labels=tuple(LabelScore(labels[i], float(proba[i])) for i in order), evidence=evidence
    )
