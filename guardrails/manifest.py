"""What a saved classifier's ``manifest.json`` holds: a :class:`Manifest` and its
:class:`TrainingInfo`.

``manifest.json`` records: ``format_version``, ``family`` (``centroid`` | ``knn`` | ``setfit``),
``labels``, ``multi_label``, ``embedder`` (the tagged config, ``{"text": {"model": ...}}``),
``dimension``, ``training`` (:class:`TrainingInfo`), ``metrics`` at training time,
``thresholds`` (per label, filled by calibration, may be ``null``), ``params`` (family options
and fitted scalars) and ``files`` (every other file with its size and sha256, checked at load, so
a truncated or corrupt file is named). There are no Python class paths in it: a family name is
resolved by :func:`guardrails.classifiers.load_classifier` through a dict of lazy
``"module:attr"`` strings. Reading and writing it is :mod:`guardrails.artifacts`' job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from guardrails.embedders.base import EmbedderConfig, embedder_config_from_dict

__all__ = ["FORMAT_VERSION", "Manifest", "TrainingInfo"]

FORMAT_VERSION = 1


@dataclass(frozen=True)
class TrainingInfo:
    """Where a classifier came from: the data (path, sha256, size, per-label counts), the
    command line and the seed if known, the wall-clock seconds training took, and the rows
    held out of training if any. Each sha256 is of a file's rows (inputs and labels), not of
    its bytes; ``sources`` has one ``{source, sha256, rows}`` per data file (``rows``: how many
    of its rows training used), ``source`` and ``sha256`` are of them all together."""

    source: str | None = None
    sha256: str | None = None
    size: int = 0
    label_counts: Mapping[str, int] = field(default_factory=dict)
    command: str | None = None
    seed: int | None = None
    seconds: float | None = None
    held_out: Mapping[str, Any] | None = None
    """Rows of the source kept out of training for calibration (see ``Dataset.holdout``)."""
    sources: tuple[Mapping[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        seconds = None if self.seconds is None else round(self.seconds, 3)
        return asdict(self) | {
            "label_counts": dict(self.label_counts),
            "seconds": seconds,
            "sources": [dict(part) for part in self.sources],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingInfo:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["sources"] = tuple(known.get("sources") or ())
        return cls(**known)


@dataclass(frozen=True)
class Manifest:
    """The content of ``manifest.json``. ``files`` lists the family's other files (relative
    paths); :func:`~guardrails.artifacts.write_manifest` records their sizes and hashes."""

    family: str
    labels: tuple[str, ...]
    multi_label: bool
    embedder: Mapping[str, Any]
    dimension: int
    params: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    training: TrainingInfo = field(default_factory=TrainingInfo)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    thresholds: Mapping[str, Mapping[str, float]] | None = None
    format_version: int = FORMAT_VERSION

    @property
    def embedder_config(self) -> EmbedderConfig:
        return embedder_config_from_dict(dict(self.embedder))

    @classmethod
    def of(
        cls, classifier: Any, *, dimension: int, params: Mapping[str, Any], files: Sequence[str]
    ) -> Manifest:
        """The manifest of a classifier with the usual attributes (``family``, ``labels``,
        ``multi_label``, ``embedder_config``, ``training``, ``metrics``, ``thresholds``)."""
        return cls(
            family=classifier.family,
            labels=tuple(classifier.labels),
            multi_label=classifier.multi_label,
            embedder=classifier.embedder_config.to_dict(),
            dimension=dimension,
            params=params,
            files=tuple(files),
            training=classifier.training,
            metrics=classifier.metrics,
            thresholds=classifier.thresholds,
        )

    def provenance(self) -> dict[str, Any]:
        """``training``, ``metrics`` and ``thresholds``, as keyword arguments for a loader."""
        return {"training": self.training, "metrics": self.metrics, "thresholds": self.thresholds}

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, without ``files`` (which :func:`~guardrails.artifacts.write_manifest`
        fills in)."""
        return {
            "format_version": self.format_version,
            "family": self.family,
            "labels": list(self.labels),
            "multi_label": self.multi_label,
            "embedder": dict(self.embedder),
            "dimension": self.dimension,
            "training": self.training.to_dict(),
            "metrics": dict(self.metrics),
            "thresholds": None if self.thresholds is None else dict(self.thresholds),
            "params": dict(self.params),
        }
