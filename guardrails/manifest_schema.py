"""What a ``manifest.json`` must hold, checked by pydantic when a classifier loads: each field's
type and range (strict: no ``"384"`` for 384), file names inside the directory, distinct
labels; and each family's ``params`` (:func:`manifest_params`). A problem is a ModelLoadError
naming the file and the field."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from guardrails.embedders.base import embedder_config_from_dict
from guardrails.errors import ModelLoadError
from guardrails.manifest import (
    FORMAT_VERSION,
    Boolean,
    Manifest,
    NonNegativeInteger,
    NonNegativeNumber,
    PositiveInteger,
    TrainingInfo,
    TrainingRecord,
    field_problem,
)

__all__ = ["MANIFEST_NAME", "format_version", "manifest_params", "parse_manifest"]

MANIFEST_NAME = "manifest.json"


def _inside(name: str) -> str:
    """A relative path inside the directory (no ``..``, not absolute, not the manifest)."""
    path = PurePosixPath(name)
    if (
        not name
        or path.is_absolute()
        or ".." in path.parts
        or "\\" in name
        or name == MANIFEST_NAME
    ):
        raise ValueError("not a file inside the directory")
    return name


_VERSION = TypeAdapter(PositiveInteger, config=ConfigDict(strict=True))


def format_version(data: dict[str, Any]) -> int | None:
    """``data``'s ``format_version`` if it is a positive integer."""
    try:
        return _VERSION.validate_python(data.get("format_version"))
    except ValidationError:
        return None


class _FileRecord(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)

    bytes: NonNegativeInteger
    sha256: str


class _Document(BaseModel):
    """What ``manifest.json`` must hold besides ``format_version`` (checked first, so that a
    newer format is told as such); unknown keys are ignored, ``params`` are checked by each
    family's ``load``."""

    model_config = ConfigDict(strict=True, frozen=True)

    family: str = Field(min_length=1, description="a family name")
    labels: list[str] = Field(min_length=1, description="a non-empty list of distinct strings")
    multi_label: Boolean
    embedder: dict[str, Any] = Field(description="an embedder config object")
    dimension: PositiveInteger
    params: dict[str, Any] = Field(default_factory=dict, description="an object")
    files: dict[Annotated[str, AfterValidator(_inside)], _FileRecord] = Field(
        min_length=1,
        description="a non-empty object of file name (inside the directory) -> {bytes, sha256}",
    )
    training: TrainingRecord | None = None
    metrics: dict[str, Any] | None = Field(None, description="an object")
    thresholds: dict[str, dict[str, NonNegativeNumber]] | None = Field(
        None, description="an object of label -> {level: number}"
    )

    @field_validator("labels")
    @classmethod
    def _distinct(cls, labels: list[str]) -> list[str]:
        if len(set(labels)) != len(labels):
            raise ValueError("labels must be distinct")
        return labels


def parse_manifest(directory: Path, data: Any) -> tuple[Manifest, dict[str, _FileRecord]]:
    """The Manifest of ``data``; a ModelLoadError naming ``manifest.json`` and the first field
    that is missing or of the wrong type or range."""
    where = directory / MANIFEST_NAME
    if not isinstance(data, dict):
        raise ModelLoadError(f"{where}: expected a JSON object")
    version = format_version(data)
    if version is None:
        raise ModelLoadError(f"{where}: no positive integer 'format_version'")
    if version > FORMAT_VERSION:
        raise ModelLoadError(
            f"{directory}: made by a newer guardrails (format {version} > {FORMAT_VERSION}); "
            "upgrade guardrails to load it"
        )
    try:
        document = _Document.model_validate(data)
    except ValidationError as exc:
        raise ModelLoadError(f"{where}: {field_problem(exc, _Document, data)}") from None
    try:
        embedder_config_from_dict(document.embedder)
    except ValueError as exc:
        raise ModelLoadError(f"{where}: {_one_line(exc)}") from exc
    manifest = Manifest(
        family=document.family,
        labels=tuple(document.labels),
        multi_label=document.multi_label,
        embedder=document.embedder,
        dimension=document.dimension,
        params=document.params,
        files=tuple(document.files),
        training=TrainingInfo.from_record(document.training or TrainingRecord()),
        metrics=document.metrics or {},
        thresholds=document.thresholds,
        format_version=version,
    )
    return manifest, document.files


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


Params = TypeVar("Params", bound=BaseModel)


def manifest_params(directory: str | Path, manifest: Manifest, model: type[Params]) -> Params:
    """``manifest.params`` checked by a family's ``model``, for its ``load``; a ModelLoadError
    naming ``manifest.json`` and ``params.<name>`` when a field is missing or is not what the
    model says."""
    try:
        return model.model_validate(dict(manifest.params))
    except ValidationError as exc:
        problem = field_problem(exc, model, manifest.params, prefix="params.")
        raise ModelLoadError(f"{Path(directory) / MANIFEST_NAME}: {problem}") from None
