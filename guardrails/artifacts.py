"""Saved classifiers: a directory of ``manifest.json`` plus safetensors (and hnswlib's index).

Layout of a saved classifier (``format_version`` 1)::

    my-model/
      manifest.json          what the directory holds; written last, so its presence means done
      *.safetensors          every array (centroids, vectors, head weights, encoder body)
      index.bin              knn only: hnswlib's own index file

``manifest.json`` holds a :class:`~guardrails.manifest.Manifest` (what it records is described in
:mod:`guardrails.manifest`) plus every other file's size and sha256. No pickle anywhere.

A family's ``save`` writes inside ``with saving(directory) as staging:`` (a fresh directory
beside the target that replaces it whole when the block ends, so a failed save leaves the old
classifier as it was and no stale file of another family remains), calling :func:`save_arrays`
for each array file and :func:`write_manifest` last. Saving replaces only an empty directory or
a saved classifier (:func:`check_save_target`). Its ``load`` calls :func:`read_manifest`
(which checks format, fields, family, files and, when given, the embedder), checks its own
params with :func:`manifest_params` (a pydantic model per family), then :func:`load_arrays`.
Users call :func:`guardrails.classifiers.load_classifier`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, TypeVar

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from guardrails.embedders.base import (
    Embedder,
    EmbedderConfig,
    TextEmbedderConfig,
    embedder_config_from_dict,
)
from guardrails.errors import MissingDependency, ModelLoadError
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

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "Manifest",
    "TrainingInfo",
    "check_embedder",
    "describe_embedder",
    "load_arrays",
    "manifest_params",
    "read_manifest",
    "save_arrays",
    "update_manifest",
    "write_manifest",
]

MANIFEST_NAME = "manifest.json"


def describe_embedder(config: EmbedderConfig | Mapping[str, Any] | None) -> str:
    """A short name for messages: ``text:minilm``, ``vision:dinov2(facebook/dinov2-small)``."""
    if config is not None and not isinstance(config, EmbedderConfig):
        config = embedder_config_from_dict(dict(config))
    if config is None:
        config = TextEmbedderConfig()
    if isinstance(config, TextEmbedderConfig):
        name = f"text:{config.model}"
    else:
        name = f"vision:{config.backbone}" + (f"({config.model})" if config.model else "")
        if config.pooling != "cls":
            name += f"[{config.pooling}]"
    return name + (f"@{config.revision}" if config.revision else "")


def _identity(config: EmbedderConfig) -> dict[str, Any]:
    """The fields that change the vectors (batch size, long-text handling do not)."""
    ignored = {"batch_size", "long_text", "stride", "max_length"}
    return {"kind": type(config).__name__} | config.model_dump(exclude=ignored)


def check_embedder(
    manifest: Manifest, embedder: Embedder | EmbedderConfig | Mapping[str, Any], where: Path
) -> None:
    """Raise ModelLoadError unless ``embedder`` produces the vectors the classifier knows."""
    wanted = embedder.config if isinstance(embedder, Embedder) else embedder
    if not isinstance(wanted, EmbedderConfig):
        wanted = embedder_config_from_dict(dict(wanted))
    trained = manifest.embedder_config
    if _identity(trained) != _identity(wanted):
        raise ModelLoadError(
            f"{where}: trained with {describe_embedder(trained)}, not {describe_embedder(wanted)}"
        )
    dimension = getattr(embedder, "dimension", None)
    if isinstance(embedder, Embedder) and dimension != manifest.dimension:
        raise ModelLoadError(
            f"{where}: the classifier expects {manifest.dimension}-d vectors, "
            f"the embedder gives {dimension}-d"
        )


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_manifest(directory: str | Path, manifest: Manifest) -> Path:
    """Write ``manifest.json`` (atomically, after every file in ``manifest.files``)."""
    directory = Path(directory)
    files = {}
    for name in manifest.files:
        path = directory / name
        if not path.is_file():
            raise ModelLoadError(f"{directory}: cannot record '{name}': it was not written")
        files[name] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    data = manifest.to_dict() | {"files": files}
    target = directory / MANIFEST_NAME
    _atomic_write(target, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())
    return target


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


def _format_version(data: dict[str, Any]) -> int | None:
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


def _parse(directory: Path, data: Any) -> tuple[Manifest, dict[str, _FileRecord]]:
    """The Manifest of ``data``; a ModelLoadError naming ``manifest.json`` and the first field
    that is missing or of the wrong type or range."""
    where = directory / MANIFEST_NAME
    if not isinstance(data, dict):
        raise ModelLoadError(f"{where}: expected a JSON object")
    version = _format_version(data)
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


def read_manifest(
    directory: str | Path,
    *,
    family: str | None = None,
    embedder: Embedder | EmbedderConfig | Mapping[str, Any] | None = None,
) -> Manifest:
    """Read and check a saved classifier's manifest.

    Raises ModelLoadError naming the directory or file when: there is no manifest, it is not
    valid JSON, its format is newer than this guardrails, a field is missing or of the wrong
    type (named: ``'dimension' must be a positive integer``), it holds another ``family``, a
    listed file is missing, truncated or altered, or ``embedder`` differs from the one it was
    trained with. A family's own ``params`` are checked by its ``load``
    (:func:`manifest_params`).
    """
    directory = Path(directory)
    where = directory / MANIFEST_NAME
    if not directory.is_dir():
        if directory.exists():
            raise ModelLoadError(
                f"{directory}: not a directory (a saved classifier is a directory holding "
                f"{MANIFEST_NAME})"
            )
        raise ModelLoadError(f"{directory}: no such classifier directory")
    try:
        data = json.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"{directory}: not a saved classifier (no {MANIFEST_NAME})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{where}: unreadable or corrupt ({exc})") from exc
    manifest, files = _parse(directory, data)
    if family is not None and manifest.family != family:
        raise ModelLoadError(f"{directory}: holds a '{manifest.family}' classifier, not '{family}'")
    for name, record in files.items():
        path = directory / name
        if not path.is_file():
            raise ModelLoadError(f"{path}: missing (listed in {MANIFEST_NAME})")
        if path.stat().st_size != record.bytes or _sha256(path) != record.sha256:
            raise ModelLoadError(f"{path}: truncated or corrupt (size or sha256 differs)")
    if embedder is not None:
        check_embedder(manifest, embedder, directory)
    return manifest


def update_manifest(
    directory: str | Path,
    *,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    metrics: Mapping[str, Any] | None = None,
) -> Manifest:
    """Set calibrated ``thresholds`` and/or merge ``metrics`` into a saved classifier."""
    manifest = read_manifest(directory)
    changes: dict[str, Any] = {}
    if thresholds is not None:
        changes["thresholds"] = dict(thresholds)
    if metrics is not None:
        changes["metrics"] = dict(manifest.metrics) | dict(metrics)
    updated = replace(manifest, **changes)
    write_manifest(directory, updated)
    return updated


def save_arrays(
    path: str | Path, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None
) -> Path:
    """Write named numpy arrays to one safetensors file (atomically)."""
    try:
        from safetensors.numpy import save
    except ImportError as exc:
        raise MissingDependency("ml", "saving a classifier", exc) from exc
    path = Path(path)
    contiguous = {name: np.ascontiguousarray(array) for name, array in arrays.items()}
    _atomic_write(path, save(contiguous, metadata=dict(metadata) if metadata else None))
    return path


def load_arrays(path: str | Path, names: Iterable[str] = ()) -> dict[str, np.ndarray]:
    """Read a safetensors file; ModelLoadError naming the file if it is absent, corrupt or
    lacks one of ``names``."""
    try:
        from safetensors.numpy import load
    except ImportError as exc:
        raise MissingDependency("ml", "loading a classifier", exc) from exc
    path = Path(path)
    try:
        arrays = load(path.read_bytes())
    except FileNotFoundError:
        raise ModelLoadError(f"{path}: missing") from None
    except Exception as exc:  # safetensors raises its own error type for every corruption
        raise ModelLoadError(f"{path}: truncated or corrupt ({exc})") from exc
    absent = [name for name in names if name not in arrays]
    if absent:
        raise ModelLoadError(f"{path}: lacks the array(s) {', '.join(absent)}")
    return arrays
