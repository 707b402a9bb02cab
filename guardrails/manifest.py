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

The manifest's fields, each family's ``params`` and the trainers' options are checked by
pydantic models (strict types: no ``"10"`` for 10, no ``true`` for 1). Each field's
``description`` says in words what its value must be, and :func:`field_problem` turns a
:class:`~pydantic.ValidationError` into ``'params.k' must be a positive integer, got 2.5``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, NamedTuple, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from guardrails.embedders.base import EmbedderConfig, embedder_config_from_dict

__all__ = [
    "FORMAT_VERSION",
    "Boolean",
    "FieldProblem",
    "Fraction",
    "Manifest",
    "NonNegativeInteger",
    "NonNegativeNumber",
    "PositiveInteger",
    "PositiveNumber",
    "TrainingInfo",
    "TrainingRecord",
    "field_problem",
]

FORMAT_VERSION = 1

PositiveInteger = Annotated[int, Field(gt=0, description="a positive integer")]
NonNegativeInteger = Annotated[int, Field(ge=0, description="a non-negative integer")]
PositiveNumber = Annotated[float, Field(gt=0, allow_inf_nan=False, description="a positive number")]
NonNegativeNumber = Annotated[float, Field(ge=0, allow_inf_nan=False, description="a number >= 0")]
Fraction = Annotated[
    float, Field(ge=0, lt=1, allow_inf_nan=False, description="a number in [0, 1)")
]
Boolean = Annotated[bool, Field(description="true or false")]


class FieldProblem(NamedTuple):
    """The first field a :class:`~pydantic.ValidationError` is about: its dotted ``path``,
    what it must be (``expected``; None when it is missing or unknown) and its ``value``."""

    path: str
    expected: str | None
    value: Any
    unknown: bool = False

    def __str__(self) -> str:
        """``'params.k' must be a positive integer, got 2.5``, ``missing 'params.k'`` or
        ``unknown field 'params.kk'``."""
        if self.expected is None:
            return f"{'unknown field' if self.unknown else 'missing'} '{self.path}'"
        return f"'{self.path}' {self.must_be()}"

    def must_be(self) -> str:
        """``must be a positive integer, got 2.5``."""
        return f"must be {self.expected}, got {_shown(self.value)}"

    def of_option(self) -> str:
        """``expected a positive integer, got 2.5``, for a message that names the option."""
        return f"expected {self.expected}, got {_shown(self.value)}"


def field_problem(
    exc: ValidationError, model: type[BaseModel], data: Any, prefix: str = ""
) -> FieldProblem:
    """The first error of ``exc`` (raised validating ``data`` as ``model``), told at the
    deepest field along its path whose ``description`` says what it must be (else in pydantic's
    words), with that field's value: ``'files' must be a non-empty object of ...``."""
    error = exc.errors(include_url=False)[0]
    loc, described, words = error["loc"], 0, None
    fields: Any = model.model_fields
    for depth, part in enumerate(loc, start=1):
        info = fields.get(part) if isinstance(part, str) else None
        if info is None:
            break
        if info.description:
            described, words = depth, info.description
        nested = [t for t in (info.annotation, *get_args(info.annotation)) if _is_model(t)]
        fields = nested[0].model_fields if nested else {}
    if error["type"] in ("missing", "extra_forbidden"):
        described, words = len(loc), None
    elif words is None:
        described, words = len(loc), error["msg"].removeprefix("Input should be ")
    path = ".".join(str(part) for part in loc[:described])
    value = data
    for part in loc[:described]:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):  # a missing field has no value
            value = None
            break
    return FieldProblem(f"{prefix}{path}", words, value, error["type"] == "extra_forbidden")


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _shown(value: Any) -> str:
    """``value`` as it is written in JSON (``"ten"``, ``2.5``, ``true``), for messages."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


class TrainingRecord(BaseModel):
    """The ``training`` object of ``manifest.json``, checked before it becomes a
    :class:`TrainingInfo` (unknown keys are ignored)."""

    model_config = ConfigDict(strict=True, frozen=True)

    source: str | None = Field(None, description="a string or null")
    sha256: str | None = Field(None, description="a string or null")
    size: NonNegativeInteger = 0
    label_counts: dict[str, NonNegativeInteger] = Field(
        default_factory=dict, description="an object of label counts"
    )
    command: str | None = Field(None, description="a string or null")
    seed: int | None = Field(None, description="an integer or null")
    seconds: NonNegativeNumber | None = Field(None, description="a number >= 0 or null")
    held_out: dict[str, Any] | None = Field(None, description="an object or null")
    sources: list[dict[str, Any]] = Field(default_factory=list, description="a list of objects")


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
    def from_record(cls, record: TrainingRecord) -> TrainingInfo:
        """The :class:`TrainingInfo` of a checked ``training`` record."""
        return cls(**record.model_dump(exclude={"sources"}), sources=tuple(record.sources))


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
