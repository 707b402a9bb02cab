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
from pathlib import Path
from typing import Any

import numpy as np

from guardrails.embedders.base import (
    Embedder,
    EmbedderConfig,
    TextEmbedderConfig,
    embedder_config_from_dict,
)
from guardrails.errors import MissingDependency, ModelLoadError
from guardrails.manifest import FORMAT_VERSION, Manifest, TrainingInfo
from guardrails.manifest_schema import MANIFEST_NAME, manifest_params, parse_manifest

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
    manifest, files = parse_manifest(directory, data)
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
