"""Where guardrails keeps derived files (converted weights, background embeddings)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_dir"]

CACHE_ENV = "GUARDRAILS_CACHE_DIR"


def cache_dir() -> Path:
    """``$GUARDRAILS_CACHE_DIR``, else ``~/.cache/guardrails``."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "guardrails"
