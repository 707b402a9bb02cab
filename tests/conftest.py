"""Shared fixtures. Nothing here downloads anything: the hub is off for every test."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from guardrails.testing import BENIGN_EXAMPLES, INJECTION_EXAMPLES

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the public data sets are expected at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def make_engine(tmp_path: Path):
    """Build an Engine from YAML steps written inline (dedented)."""
    from guardrails import Engine

    def build(yaml_text: str) -> Engine:
        path = tmp_path / "policy.yaml"
        path.write_text(textwrap.dedent(yaml_text), encoding="utf-8")
        return Engine.from_path(path)

    return build


INJECTION = list(INJECTION_EXAMPLES[:6])
BENIGN = list(BENIGN_EXAMPLES[:6])


@pytest.fixture
def fake():
    """The model-free embedder shipped for tests (guardrails.testing)."""
    from guardrails.testing import FakeEmbedder

    return FakeEmbedder()


@pytest.fixture
def injection_rows() -> list[tuple[str, str]]:
    """A tiny labelled prompt-injection set: (text, label)."""
    return [(t, "injection") for t in INJECTION] + [(t, "benign") for t in BENIGN]


@pytest.fixture
def knn_dir(tmp_path: Path, fake) -> Path:
    from guardrails.training import train
    from guardrails.training.dataset import dataset_from_rows

    rows = [{"text": t, "label": "injection"} for t in INJECTION]
    rows += [{"text": t, "label": "benign"} for t in BENIGN]
    classifier = train(dataset_from_rows(rows), family="knn", embedder=fake)
    return classifier.save(tmp_path / "injection-knn")


@pytest.fixture
def ml_engine(tmp_path: Path, fake):
    """Build an Engine from inline YAML next to the test's models, with the fake embedder."""
    from guardrails import Engine

    def build(yaml_text: str, **options) -> Engine:
        path = tmp_path / "policy.yaml"
        path.write_text(textwrap.dedent(yaml_text))
        return Engine.from_path(path, embedders=[fake], **options)

    return build


@pytest.fixture
def fake_embedders(monkeypatch):
    """Resolve ``fake:`` model names (``{"text": {"model": "fake:ngrams-256"}}``) to a
    FakeEmbedder wherever an embedder is built; any other name loads as usual."""
    from guardrails.embedders import base as embedders
    from guardrails.testing import FakeEmbedder

    real = embedders.load_embedder

    def load(config=None):
        parsed = config if not isinstance(config, dict | str | None) else None
        parsed = parsed or embedders.embedder_config_from_dict(config)
        if str(getattr(parsed, "model", "")).startswith("fake:"):
            return FakeEmbedder()
        return real(config)

    monkeypatch.setattr("guardrails.classifiers.load_embedder", load)
    monkeypatch.setattr("guardrails.training.trainers.load_embedder", load)
    monkeypatch.setattr("guardrails.layers.base.load_embedder", load)
