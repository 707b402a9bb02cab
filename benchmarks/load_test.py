"""Load test of the moderation service with an ML policy, over real HTTP on 127.0.0.1.

    python -m benchmarks.load_test --requests 5000 --concurrency 64

Trains a small KNN prompt-injection classifier (the real MiniLM embedder by default; ``--embedder
fake`` uses guardrails.testing.FakeEmbedder, for CI), writes a policy of a secrets rule, an
e-mail redaction and that classifier, starts ``create_app`` on uvicorn in a child process and
sends ``--requests`` POST /v1/moderate (varied texts: benign, injection-like, with an AWS key,
with an e-mail) over ``--concurrency`` connections, after a warm-up at the same concurrency.

It reports the answers by status, verdicts, step failures, latency percentiles, throughput and
the server process's RSS (at start, after warm-up, after the run, its peak, and samples during
the run), prints a table, writes JSON (default benchmarks/results/load.json) and exits 1 unless:
every request was answered, none with a 5xx, no step failed, and the server's live memory grew
by less than ``--max-rss-growth-mb`` from the warm-up to the end.

Live memory: glibc keeps freed heap (torch's activations of varying shapes) instead of giving
it back, so raw RSS creeps up for thousands of requests without any leak (``malloc_trim(0)``
returns all of it). The server therefore gets a benchmark-only route that calls
``malloc_trim(0)`` before each of the two measurements; both raw and trimmed figures are kept.
The ML step's time budget is raised to 30 s: this measures capacity, not the budget.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS, machine, print_table
from benchmarks.load_client import _trim, fire
from benchmarks.load_server import _start, prepare, rss_mb, serve
from guardrails.testing import BENIGN_EXAMPLES as BENIGN
from guardrails.testing import INJECTION_EXAMPLES as INJECTION

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


def texts(count: int, seed: int = 0) -> list[str]:
    """``count`` request texts, nearly all distinct (so the embedding cache does not answer)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.70:
            text = f"{rng.choice(BENIGN)}, question {i}"
        elif roll < 0.85:
            text = f"{rng.choice(INJECTION)} (attempt {i})"
        elif roll < 0.95:
            text = f"deploy with key {AWS_KEY} for job {i}"
        else:
            text = f"please write to user{i}@example.com about order {i}"
        out.append(text)
    return out


def run(
    requests: int = 5000,
    concurrency: int = 64,
    *,
    embedder: str = "minilm",
    warmup: int | None = None,
    max_rss_growth_mb: float = 32.0,
    out: Path | None = RESULTS / "load.json",
) -> dict[str, Any]:
    """The whole load test (see the module docstring); returns the results, ``ok`` among them."""
    warmup = min(500, max(concurrency, requests // 10)) if warmup is None else warmup
    with tempfile.TemporaryDirectory() as tmp:
        policy = prepare(Path(tmp), embedder)
        process, base = _start(policy, embedder)
        try:
            start = rss_mb(process.pid)
            asyncio.run(fire(base, texts(warmup, seed=1), concurrency))
            trimmed = asyncio.run(_trim(base))
            before = rss_mb(process.pid)
            result = asyncio.run(fire(base, texts(requests), concurrency, process.pid))
            after = rss_mb(process.pid)
            asyncio.run(_trim(base))
            live = rss_mb(process.pid)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
    growth = (
        round(live["rss"] - before["rss"], 1)
        if live["rss"] is not None and before["rss"] is not None
        else None
    )
    ok = (
        result["unanswered"] == 0
        and result["answered"] == requests
        and result["count_5xx"] == 0
        and result["step_errors"] == 0
        and (growth is None or growth < max_rss_growth_mb)
    )
    results = {
        "machine": machine(),
        "requests": requests,
        "concurrency": concurrency,
        "warmup_requests": warmup,
        "embedder": embedder,
        "family": "knn",
        "endpoint": "POST /v1/moderate",
        **result,
        "server_rss_mb": {
            "at_start": _round(start["rss"]),
            "after_warmup": _round(before["rss"]),
            "after_run": _round(after["rss"]),
            "after_run_trimmed": _round(live["rss"]),
            "peak": _round(after["peak"]),
        },
        "malloc_trim": trimmed,
        "rss_growth_mb": growth,
        "rss_growth_untrimmed_mb": _round(
            None if after["rss"] is None or before["rss"] is None else after["rss"] - before["rss"]
        ),
        "max_rss_growth_mb": max_rss_growth_mb,
        "ok": ok,
    }
    _print(results)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {out}")
    return results


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _print(r: dict[str, Any]) -> None:
    rss = r["server_rss_mb"]
    rows = [
        ["requests / concurrency", f"{r['requests']} / {r['concurrency']}"],
        ["embedder", r["embedder"]],
        ["duration", f"{r['duration_s']} s ({r['throughput_rps']} req/s)"],
        ["answered / unanswered", f"{r['answered']} / {r['unanswered']}"],
        ["statuses", json.dumps(r["status_counts"])],
        ["5xx", r["count_5xx"]],
        ["verdicts", json.dumps(r["verdicts"])],
        ["step failures", r["step_errors"]],
        ["latency ms", json.dumps(r["latency_ms"])],
        [
            "server RSS MB",
            f"{rss['after_warmup']} after warm-up -> {rss['after_run_trimmed']} after the run "
            f"(growth {r['rss_growth_mb']}; untrimmed {rss['after_run']}, peak {rss['peak']})",
        ],
        ["result", "OK" if r["ok"] else "FAIL"],
    ]
    print_table("Load test: POST /v1/moderate through uvicorn", ["", "value"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load_test", description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--embedder", default="minilm", help="minilm (default), a model, or fake")
    parser.add_argument("--warmup", type=int, default=None, help="default: requests/10, <= 500")
    parser.add_argument("--max-rss-growth-mb", type=float, default=32.0)
    parser.add_argument("--out", type=Path, default=RESULTS / "load.json")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.serve is not None:
        serve(args.serve, args.port, args.embedder)
        return 0
    results = run(
        args.requests,
        args.concurrency,
        embedder=args.embedder,
        warmup=args.warmup,
        max_rss_growth_mb=args.max_rss_growth_mb,
        out=args.out,
    )
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
