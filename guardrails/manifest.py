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

:class:`Expect` says what a value must be, in words and as a test: the manifest's fields, each
family's ``params`` and the trainers' options are checked with it, so a wrong value is named
(``'params.k' must be a positive integer, got 2.5``) instead of failing later.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from guardrails.embedders.base import EmbedderConfig, embedder_config_from_dict

__all__ = [
    "BOOLEAN",
    "FORMAT_VERSION",
    "Expect",
    "Manifest",
    "TrainingInfo",
    "integer",
    "number",
    "one_of",
    "shown",
]

FORMAT_VERSION = 1


def shown(value: Any) -> str:
    """``value`` as it is written in JSON (``"ten"``, ``2.5``, ``true``), for messages."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


@dataclass(frozen=True)
class Expect:
    """What a value must be: ``description`` in words (``"a positive integer"``), ``test``."""

    description: str
    test: Callable[[Any], bool]

    def problem(self, value: Any) -> str | None:
        """``expected <description>, got <value>``, or None when ``value`` passes."""
        return None if self.test(value) else f"expected {self.description}, got {shown(value)}"

    def or_null(self) -> Expect:
        return Expect(f"{self.description} or null", lambda v: v is None or self.test(v))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def integer(minimum: int) -> Expect:
    """An integer (not a bool, not 2.0) of at least ``minimum``."""
    words = {0: "a non-negative integer", 1: "a positive integer"}
    return Expect(
        words.get(minimum, f"an integer >= {minimum}"), lambda v: _is_int(v) and v >= minimum
    )


def number(*, minimum: float = 0.0, strict: bool = True, below: float | None = None) -> Expect:
    """A finite number above ``minimum`` (or equal to it unless ``strict``), below ``below``."""
    if below is not None:
        words = f"a number in {'(' if strict else '['}{minimum:g}, {below:g})"
    elif minimum == 0:
        words = "a positive number" if strict else "a number >= 0"
    else:
        words = f"a number {'>' if strict else '>='} {minimum:g}"

    def test(value: Any) -> bool:
        if not _is_number(value) or value < minimum or (strict and value == minimum):
            return False
        return below is None or value < below

    return Expect(words, test)


def one_of(*choices: str) -> Expect:
    names = [shown(choice) for choice in choices]
    words = " or ".join(names) if len(names) == 2 else f"one of {', '.join(names)}"
    return Expect(words, lambda v: isinstance(v, str) and v in choices)


BOOLEAN = Expect("true or false", lambda v: isinstance(v, bool))
_TEXT = Expect("a string", lambda v: isinstance(v, str))
_OBJECT = Expect("an object", lambda v: isinstance(v, dict))
_TRAINING_FIELDS: dict[str, Expect] = {
    "source": _TEXT.or_null(),
    "sha256": _TEXT.or_null(),
    "size": integer(0),
    "label_counts": Expect(
        "an object of label counts",
        lambda v: isinstance(v, dict) and all(_is_int(n) and n >= 0 for n in v.values()),
    ),
    "command": _TEXT.or_null(),
    "seed": Expect("an integer or null", lambda v: v is None or _is_int(v)),
    "seconds": number(strict=False).or_null(),
    "held_out": _OBJECT.or_null(),
    "sources": Expect(
        "a list of objects", lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v)
    ),
}


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
        """The record of ``manifest.json``; a ValueError naming the first wrongly typed field
        (``'training.size' must be a non-negative integer, got "six"``)."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        for name, value in known.items():
            expect = _TRAINING_FIELDS[name]
            if not expect.test(value):
                raise ValueError(
                    f"'training.{name}' must be {expect.description}, got {shown(value)}"
                )
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
