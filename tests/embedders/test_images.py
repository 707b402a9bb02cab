"""Opening images: paths, bytes, EXIF rotation, RGB, and clear errors for everything else."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest

from guardrails.embedders.images import center_crop_array, open_image, open_images
from guardrails.errors import InputError

Image = pytest.importorskip("PIL.Image")


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels but holds no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


def _jpeg_bytes(size=(40, 20), color=(200, 30, 30), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG", **save)
    return buffer.getvalue()


def test_opens_paths_bytes_and_pil_images_as_rgb(tmp_path):
    path = tmp_path / "red.jpg"
    path.write_bytes(_jpeg_bytes())
    gray = Image.new("L", (8, 8), 128)
    images = open_images([path, str(path), path.read_bytes(), gray])
    assert [image.mode for image in images] == ["RGB"] * 4
    assert images[0].size == (40, 20) and images[3].size == (8, 8)


def test_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    image = open_image(_jpeg_bytes(size=(40, 20), exif=exif.tobytes()))
    assert image.size == (20, 40)


def test_transparency_becomes_white():
    transparent = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert open_image(transparent).getpixel((0, 0)) == (255, 255, 255)


def test_a_file_that_is_not_an_image_names_the_path(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image at all")
    with pytest.raises(InputError, match=r"notes\.txt: not a readable image"):
        open_image(notes)
    with pytest.raises(InputError, match="bytes>: not a readable image"):
        open_image(b"GIF89a but not really")


def test_missing_and_truncated_files_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no such image file"):
        open_image(tmp_path / "gone.png")
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256, 3), np.uint8))
    buffer = io.BytesIO()
    noisy.save(buffer, format="JPEG")
    data = buffer.getvalue()
    with pytest.raises(InputError, match="not a readable image"):
        open_image(data[: len(data) // 2])


def test_decompression_bombs_are_refused_before_decoding():
    with pytest.raises(InputError, match="too large to decode safely"):
        open_image(_png_claiming(20_000, 20_000))  # beyond Pillow's own hard limit
    with pytest.raises(InputError, match="exceeds the limit"):
        open_image(_png_claiming(9_000, 9_000))  # under Pillow's limit, over ours
    with pytest.raises(InputError, match="exceeds the limit of 100 pixels"):
        open_image(Image.new("RGB", (20, 20)), max_pixels=100)


def test_a_single_source_is_not_a_batch(tmp_path):
    with pytest.raises(InputError, match="sequence of images"):
        open_images(str(tmp_path / "x.png"))


def test_center_crop_array_shape_and_normalisation():
    white = Image.new("RGB", (300, 120), (255, 255, 255))
    array = center_crop_array(white, 64, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    assert array.shape == (3, 64, 64) and array.dtype == np.float32
    np.testing.assert_allclose(array, 1.0, atol=1e-6)
