"""Classifier families behind one interface, and loading a saved one by directory or id.

Families are resolved lazily from :data:`FAMILIES` (``"module:attr"`` strings, as uvicorn does),
so loading a centroid classifier never imports SetFit's torch code. A new family adds a line
here, a ``Classifier`` subclass, and a trainer in :data:`guardrails.training.trainers.TRAINERS`.
"""

from __future__ import annotations

import os
import pkgutil
import threading
from collections.abc import Mapping
from pathlib import Path

from guardrails.artifacts import MANIFEST_NAME, read_manifest
from guardrails.classifiers.base import Classifier, LabelScore, Prediction
from guardrails.embedders.base import Embedder, EmbedderConfig, load_embedder
from guardrails.errors import ModelLoadError

__all__ = [
    "FAMILIES",
    "Classifier",
    "EmbedderSlot",
    "LabelScore",
    "Prediction",
    "load_classifier",
]

FAMILIES: dict[str, str] = {
    "centroid": "guardrails.classifiers.centroid:CentroidClassifier",
    "knn": "guardrails.classifiers.knn:KnnClassifier",
    "setfit": "guardrails.classifiers.setfit:SetFitClassifier",
}
"""The ``family`` of a saved manifest -> the ``"module:attr"`` of its Classifier class."""


def load_classifier(
    dir_or_id: str | Path,
    *,
    embedder: Embedder | None = None,
    environ: Mapping[str, str] | None = None,
) -> Classifier:
    """Load a saved classifier from its directory, or by an id of ``GUARDRAILS_CLASSIFIERS``
    (``"toxicity=models/toxicity,nsfw=models/nsfw"``; see :mod:`guardrails.registry`).

    ``embedder``: an already loaded embedder to use instead of building the one the manifest
    names; it must be the same model, else ModelLoadError says which embedder was expected.
    """
    directory = Path(dir_or_id)
    if isinstance(dir_or_id, str) and not (directory / MANIFEST_NAME).exists():
        from guardrails.registry import ENV_VAR, parse_classifier_spec

        known = parse_classifier_spec((os.environ if environ is None else environ).get(ENV_VAR, ""))
        directory = Path(known.get(dir_or_id, dir_or_id))
    manifest = read_manifest(directory, embedder=embedder)
    if manifest.family not in FAMILIES:
        raise ModelLoadError(
            f"{directory}: unknown classifier family '{manifest.family}' "
            f"(known: {', '.join(sorted(FAMILIES))})"
        )
    cls = pkgutil.resolve_name(FAMILIES[manifest.family])
    if embedder is None:
        return cls.load(directory)
    return cls.load(directory, embedder=embedder)


class EmbedderSlot:
    """A classifier's embedder: the one handed over at load, or the one its config names, built
    on first use (once, even under concurrent first calls)."""

    def __init__(self, config: EmbedderConfig, embedder: Embedder | None = None) -> None:
        self.config = config
        self._embedder = embedder
        self._lock = threading.Lock()

    def get(self) -> Embedder:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    self._embedder = load_embedder(self.config)
        return self._embedder
