"""Image embeddings from DINOv2 (``transformers.Dinov2Model``): CLS token, optionally with
the mean patch token, L2-normalised.

Images are preprocessed by the model's own image processor when its directory (or hub repo)
has a ``preprocessor_config.json`` and no ``image_size`` is asked for; otherwise by a resize,
centre crop and ImageNet normalisation in numpy (torchvision is not needed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from guardrails.embedders import limit_torch_threads
from guardrails.embedders.base import Modality, VisionEmbedderConfig
from guardrails.embedders.images import IMAGENET_MEAN, IMAGENET_STD, center_crop_array, open_images
from guardrails.errors import MissingDependency, ModelLoadError

__all__ = ["DEFAULT_DINOV2_MODEL", "DinoV2Embedder"]

DEFAULT_DINOV2_MODEL = "facebook/dinov2-small"
"""384-d; ``facebook/dinov2-base`` (768-d) and ``facebook/dinov2-large`` (1024-d) also work."""

_UNUSED_AT_INFERENCE = ("embeddings.mask_token",)

Preprocess = Callable[[list[Any]], Any]


class DinoV2Embedder:
    """DINOv2 image embeddings; immutable after load and safe to share between threads."""

    modality = Modality.IMAGE

    def __init__(self, model: Any, config: VisionEmbedderConfig, preprocess: Preprocess) -> None:
        import torch

        self._torch = torch
        self.config = config
        self.model = model
        self._preprocess = preprocess
        width = int(model.config.hidden_size)
        self.dimension = 2 * width if config.pooling == "cls+mean" else width

    @classmethod
    def from_config(cls, config: VisionEmbedderConfig) -> DinoV2Embedder:
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise MissingDependency("ml", "DINOv2 image embeddings", exc) from exc
        limit_torch_threads(torch)
        source = config.model or DEFAULT_DINOV2_MODEL
        try:
            model_config = transformers.AutoConfig.from_pretrained(source, revision=config.revision)
        except Exception as exc:
            raise ModelLoadError(
                f"cannot load DINOv2 model {source!r}: {type(exc).__name__}: {exc}"
            ) from exc
        if model_config.model_type != "dinov2":
            raise ModelLoadError(
                f"{source!r} is a {model_config.model_type!r} model, not 'dinov2': "
                "use backbone 'dinov2' only with DINOv2 checkpoints"
            )
        try:
            model, info = transformers.Dinov2Model.from_pretrained(
                source, revision=config.revision, dtype=torch.float32, output_loading_info=True
            )
        except Exception as exc:
            raise ModelLoadError(
                f"cannot load DINOv2 model {source!r}: {type(exc).__name__}: {exc}"
            ) from exc
        missing = sorted(set(info["missing_keys"]) - set(_UNUSED_AT_INFERENCE))
        if missing:
            raise ModelLoadError(
                f"DINOv2 checkpoint {source!r} lacks {len(missing)} weights "
                f"(e.g. {', '.join(missing[:3])}): it would run with random weights"
            )
        model.eval()
        return cls(model, config, _preprocessor(source, config, model.config, transformers))

    def embed(self, inputs: Sequence[Any]) -> np.ndarray:
        """One unit vector per image (path, bytes or PIL image)."""
        torch = self._torch
        out = np.zeros((len(inputs), self.dimension), dtype=np.float32)
        size = self.config.batch_size
        for start in range(0, len(inputs), size):
            images = open_images(inputs[start : start + size])
            pixels = self._preprocess(images)
            with torch.inference_mode():
                hidden = self.model(pixel_values=pixels).last_hidden_state.float()
                out[start : start + len(images)] = self._pool(hidden).numpy()
        return out

    def embed_windows(self, inputs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """An image is one window: the same vectors as :meth:`embed`, owner ``0..n-1``."""
        return self.embed(inputs), np.arange(len(inputs), dtype=np.int64)

    def _pool(self, hidden: Any) -> Any:
        normalize = self._torch.nn.functional.normalize
        cls_token = normalize(hidden[:, 0], dim=1)
        if self.config.pooling == "cls":
            return cls_token
        # Each half normalised first so that neither dominates the cosine; the concatenation
        # of two unit vectors has norm sqrt(2).
        patches = normalize(hidden[:, 1:].mean(dim=1), dim=1)
        return self._torch.cat([cls_token, patches], dim=1) / math.sqrt(2.0)

    def __repr__(self) -> str:
        return (
            f"DinoV2Embedder(model={self.config.model or DEFAULT_DINOV2_MODEL!r}, "
            f"pooling={self.config.pooling!r}, dimension={self.dimension})"
        )


def _preprocessor(
    source: str, config: VisionEmbedderConfig, model_config: Any, transformers: Any
) -> Preprocess:
    import torch

    processor = None
    if _has_file(source, "preprocessor_config.json", config.revision):
        try:
            processor = transformers.AutoImageProcessor.from_pretrained(
                source, revision=config.revision, backend="pil"
            )
        except Exception as exc:
            raise ModelLoadError(
                f"cannot load the image processor of {source!r}: {type(exc).__name__}: {exc}"
            ) from exc
    if processor is not None and config.image_size is None:

        def run_processor(images: list[Any]) -> Any:
            return processor(images=images, return_tensors="pt")["pixel_values"].float()

        return run_processor

    patch = int(model_config.patch_size)
    size = config.image_size or min(224, int(model_config.image_size))
    size = max(patch, round(size / patch) * patch)
    mean = getattr(processor, "image_mean", None) or IMAGENET_MEAN
    std = getattr(processor, "image_std", None) or IMAGENET_STD

    def run_numpy(images: list[Any]) -> Any:
        arrays = [center_crop_array(image, size, mean=mean, std=std) for image in images]
        return torch.from_numpy(np.stack(arrays))

    return run_numpy


def _has_file(source: str, filename: str, revision: str | None) -> bool:
    from transformers.utils import cached_file

    try:
        found = cached_file(
            source,
            filename,
            revision=revision,
            _raise_exceptions_for_missing_entries=False,
            _raise_exceptions_for_connection_errors=False,
        )
    except OSError:
        return False
    return found is not None
