"""Shared fixtures. Nothing here downloads anything: the hub is off for every test."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

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
