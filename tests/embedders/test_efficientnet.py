"""EfficientNet-Lite0 on real cat and dog photos; its weights are converted once to safetensors."""

from __future__ import annotations

import numpy as np
import pytest

from guardrails.embedders import load_embedder
from guardrails.errors import InputError

pytestmark = [pytest.mark.ml, pytest.mark.slow]
Image = pytest.importorskip("PIL.Image")


def test_features_separate_cats_from_dogs(lite0, catsdogs):
    cats = [path for path, label in catsdogs if label == "cat"]
    dogs = [path for path, label in catsdogs if label == "dog"]
    train, test = cats[:6] + dogs[:6], cats[6:10] + dogs[6:10]
    vectors = lite0.embed(train + test)
    assert vectors.shape == (20, 1280) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    centroids = np.stack([vectors[:6].mean(axis=0), vectors[6:12].mean(axis=0)])
    predicted = np.argmax(vectors[12:] @ centroids.T, axis=1)
    assert (predicted == np.array([0] * 4 + [1] * 4)).mean() >= 0.75


def test_weights_are_read_from_the_safetensors_cache(lite0, lite0_cache, monkeypatch):
    import torch

    cached = list((lite0_cache / "efficientnet").glob("*.safetensors"))
    assert len(cached) == 1 and not list(lite0_cache.rglob("*.tmp"))

    def no_pickle(*args, **kwargs):
        raise AssertionError("the cached safetensors file should have been used")

    monkeypatch.setattr(torch, "load", no_pickle)
    monkeypatch.setenv("GUARDRAILS_CACHE_DIR", str(lite0_cache))
    again = load_embedder({"vision": {"backbone": "efficientnet-lite0"}})
    white = Image.new("RGB", (64, 48), (255, 255, 255))
    np.testing.assert_allclose(again.embed([white]), lite0.embed([white]), atol=1e-6)


def test_not_an_image_is_an_input_error(lite0, tmp_path):
    fake = tmp_path / "cat.jpg"
    fake.write_text("meow")
    with pytest.raises(InputError, match=r"cat\.jpg: not a readable image"):
        lite0.embed([fake])
