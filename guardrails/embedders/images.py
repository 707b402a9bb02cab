"""Opening images safely: from a path, bytes or a PIL image, EXIF-rotated, as RGB.

Every failure is an :class:`~guardrails.errors.InputError` naming the input, so a bad row in a
dataset or a bad upload is reported as such rather than as a Pillow traceback. Oversized images
are refused before their pixels are decoded (decompression bombs), without touching Pillow's
global ``Image.MAX_IMAGE_PIXELS``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from guardrails.errors import InputError, MissingDependency

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MAX_PIXELS",
    "ImageSource",
    "center_crop_array",
    "describe",
    "image_size",
    "open_image",
    "open_images",
]

MAX_PIXELS = 64_000_000
"""Largest image accepted (width x height): 8K photos pass, bombs do not."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ImageSource = str | Path | bytes | bytearray | memoryview | Any
"""A path, encoded image bytes, or an already opened ``PIL.Image.Image``."""


def _pil() -> Any:
    try:
        from PIL import Image, ImageOps
    except ImportError as exc:
        raise MissingDependency("vision", "reading images", exc) from exc
    return Image, ImageOps


def describe(source: ImageSource) -> str:
    """A short name for ``source`` in error messages."""
    if isinstance(source, str | Path):
        return str(source)
    if isinstance(source, bytes | bytearray | memoryview):
        return f"<{len(source)} bytes>"
    return f"<{type(source).__name__}>"


def image_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` of encoded image bytes, read from the header: no pixel is decoded.

    The file's structure is verified on the way (chunk checksums for PNG), so a truncated or
    corrupt image raises :class:`InputError`. None means the header declares more pixels than
    Pillow agrees to open at all (its own decompression-bomb limit): certainly too large.
    """
    image_module, _ = _pil()
    try:
        with image_module.open(io.BytesIO(bytes(data))) as image:
            size = image.size
            image.verify()
    except image_module.DecompressionBombError:
        return None
    except Exception as exc:  # Pillow's plugins raise many types for corrupt headers
        raise InputError(f"{describe(data)}: not a readable image ({type(exc).__name__})") from exc
    return size


def open_image(source: ImageSource, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode ``source`` into an RGB image with its EXIF orientation applied.

    Transparent images are composited on white, so a transparent background does not turn
    black. Raises :class:`InputError` for a missing file, data that is not an image, a
    truncated image, or one larger than ``max_pixels``.
    """
    image_module, image_ops = _pil()
    name = describe(source)
    if isinstance(source, image_module.Image):
        image = source
    else:
        if isinstance(source, str | Path):
            path = Path(source)
            if not path.is_file():
                raise InputError(f"{name}: no such image file")
            stream: Any = path
        elif isinstance(source, bytes | bytearray | memoryview):
            stream = io.BytesIO(bytes(source))
        else:
            raise InputError(f"{name}: expected an image path, image bytes or a PIL image")
        try:
            image = image_module.open(stream)
        except image_module.DecompressionBombError as exc:
            raise InputError(f"{name}: image too large to decode safely ({exc})") from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise InputError(f"{name}: not a readable image ({exc})") from exc
    width, height = image.size
    if width * height > max_pixels:
        if image is not source:
            image.close()
        raise InputError(
            f"{name}: image of {width}x{height} pixels exceeds the limit of {max_pixels} pixels"
        )
    try:
        image.load()
        image = image_ops.exif_transpose(image) or image
        return _to_rgb(image, image_module)
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"{name}: not a readable image ({exc})") from exc


def open_images(sources: Sequence[ImageSource], *, max_pixels: int = MAX_PIXELS) -> list[Any]:
    """:func:`open_image` over a batch; a single path or bytes object is an error."""
    if isinstance(sources, str | Path | bytes | bytearray | memoryview):
        raise InputError("an image embedder takes a sequence of images, not a single one")
    return [open_image(source, max_pixels=max_pixels) for source in sources]


def _to_rgb(image: Any, image_module: Any) -> Any:
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA") or image.mode.endswith("a"):
        rgba = image.convert("RGBA")
        background = image_module.new("RGBA", rgba.size, (255, 255, 255, 255))
        return image_module.alpha_composite(background, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def center_crop_array(
    image: Any,
    size: int,
    *,
    crop_fraction: float = 0.875,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> np.ndarray:
    """Resize the shorter side to ``size / crop_fraction`` (bicubic), crop the centre
    ``size`` x ``size``, scale to 0..1 and normalise: a ``(3, size, size)`` float32 array."""
    image_module, _ = _pil()
    width, height = image.size
    short = max(size, round(size / crop_fraction))
    scale = short / min(width, height)
    resized = image.resize(
        (max(size, round(width * scale)), max(size, round(height * scale))),
        image_module.Resampling.BICUBIC,
    )
    left = (resized.width - size) // 2
    top = (resized.height - size) // 2
    cropped = resized.crop((left, top, left + size, top + size))
    pixels = np.asarray(cropped, dtype=np.float32) / 255.0
    pixels = (pixels - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))
