"""Load: the documented benchmark (``python -m benchmarks.load_test``), run at CI size.

500 requests over 64 concurrent connections to the service on uvicorn (a child process), with an
ML policy (a KNN classifier step, trained at test time on the fake embedder; the documented full
run uses the real MiniLM): every request answered, no 5xx, no step failure, and the server's
RSS grows by less than 32 MB between the warm-up and the end (about 1 MB is usual: the
embedding cache filling).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_500_requests_at_64_connections(tmp_path):
    out = tmp_path / "load.json"
    command = [sys.executable, "-m", "benchmarks.load_test", "--requests", "500",
               "--concurrency", "64", "--embedder", "fake", "--max-rss-growth-mb", "32",
               "--out", str(out)]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["answered"] == 500 and results["unanswered"] == 0
    assert results["count_5xx"] == 0 and set(results["status_counts"]) == {"200"}
    assert results["step_errors"] == 0
    assert {"allow", "flag", "block"} <= set(results["verdicts"])
    rss = results["server_rss_mb"]
    assert rss["after_warmup"] and rss["after_run"]
    assert results["rss_growth_mb"] < 32
