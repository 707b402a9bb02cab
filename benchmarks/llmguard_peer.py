"""The LLM Guard side of the rule benchmark: its own virtual environment, and a worker there.

LLM Guard's pins clash with ours, so :func:`peer_python` makes a venv for it on first use and
:func:`_run_peer` runs ``python -m benchmarks.bench_peers_rules --peer-worker`` with that venv's
python: :func:`_peer_worker` times each case's scanner on the same texts as ours, through the same
helper (:func:`benchmarks.common.per_call`). :data:`_PEER_PROCESS` is the rules-only LLM Guard
process whose import time and peak RSS are measured against ours.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import per_call

ROOT = Path(__file__).resolve().parents[1]
LLM_GUARD = "llm-guard==0.3.16"
CACHE = Path(os.environ.get("GUARDRAILS_BENCH_CACHE", Path.home() / ".cache" / "guardrails-bench"))
VENV = CACHE / "llmguard-venv"


def peer_python() -> tuple[Path | None, str]:
    """The LLM Guard venv's python, installing it on first use; else None and why not."""
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if python.exists() and marker.exists() and marker.read_text() == LLM_GUARD:
        return python, ""
    print(f"installing {LLM_GUARD} into {VENV} (first run only)...", flush=True)
    torch = os.environ.get("TORCH", "torch==2.13.0")  # the CPU wheel, as in the Makefile
    steps = [
        [sys.executable, "-m", "venv", str(VENV)],
        [str(python), "-m", "pip", "install", "-q", torch],
        [str(python), "-m", "pip", "install", "-q", LLM_GUARD],
    ]
    for command in steps:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return None, f"`{' '.join(command[-2:])}` failed: {done.stderr.strip()[-300:]}"
    marker.write_text(LLM_GUARD)
    return python, ""


def _peer_scanner(kind: str, args: dict[str, Any]) -> Any:
    if kind == "presidio":
        from presidio_analyzer import predefined_recognizers

        recognizers = [getattr(predefined_recognizers, name)() for name in args["recognizers"]]

        def scan(text: str) -> tuple[str, bool, float]:
            found = [
                hit for r in recognizers for hit in r.analyze(text, r.supported_entities, None)
            ]
            return text, not found, 1.0 if found else -1.0

        return scan
    from llm_guard import input_scanners

    return getattr(input_scanners, kind)(**args).scan


def _peer_worker(job: dict[str, Any]) -> dict[str, Any]:
    import logging
    from importlib.metadata import version

    from llm_guard.util import configure_logger

    configure_logger(log_level="ERROR")
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)  # no network: bundled list
    out: dict[str, Any] = {"version": version("llm-guard"), "cases": {}}
    for case in job["cases"]:
        scan = _peer_scanner(*case["peer"])
        result: dict[str, Any] = {}
        for size, text in case["texts"].items():
            result[f"{size}_us"] = per_call(lambda s=scan, t=text: s(t), min_calls=1) * 1e6
            result[f"{size}_found"] = not scan(text)[1]
        out["cases"][case["key"]] = result
    return out


_PEER_PROCESS = """
import time
t = time.perf_counter()
from llm_guard.input_scanners import BanSubstrings, Regex, Secrets
t1 = time.perf_counter()
from llm_guard.util import configure_logger
configure_logger(log_level="ERROR")
scanners = [BanSubstrings(substrings=WORDS, match_type="word"), Secrets(), Regex(patterns=REGEXES)]
from presidio_analyzer import predefined_recognizers
recognizers = [getattr(predefined_recognizers, name)() for name in RECOGNIZERS]
for s in scanners:
    s.scan("warm up a@b.co 4111 1111 1111 1111 " + WORDS[0])
for r in recognizers:
    r.analyze("warm up a@b.co 4111 1111 1111 1111", r.supported_entities, None)
print(t1 - t, PEAK_RSS_KB)
"""


def _run_peer(python: Path, job: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [str(python), "-m", "benchmarks.bench_peers_rules", "--peer-worker"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"LLM Guard worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
