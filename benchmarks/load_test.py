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
import ctypes
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS, machine, print_table
from guardrails.testing import BENIGN_EXAMPLES as BENIGN
from guardrails.testing import INJECTION_EXAMPLES as INJECTION

ROOT = Path(__file__).resolve().parents[1]
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
POLICY = """\
version: 1
name: load
defaults: {on_error: fail_closed, timeout_ms: 30000}
steps:
  - {id: secrets, kind: secrets}
  - {id: pii, kind: pii, entities: [email], action: redact}
  - id: injection
    kind: classifier
    model: model
    ignore: [benign]
    max_batch_size: 64
    thresholds:
      injection: {flag: 0.5, block: 0.8}
"""


def _embedder(name: str) -> Any:
    if name == "fake":
        from guardrails.testing import FakeEmbedder

        return FakeEmbedder()
    from guardrails.embedders import TextEmbedderConfig, load_embedder

    return load_embedder(TextEmbedderConfig(model=name))


def prepare(directory: Path, embedder: str) -> Path:
    """Train and save the classifier, write the policy; return the policy's path."""
    from guardrails.training import train
    from guardrails.training.dataset import dataset_from_rows

    rows = [{"text": t, "label": "injection"} for t in INJECTION]
    rows += [{"text": t, "label": "benign"} for t in BENIGN]
    classifier = train(dataset_from_rows(rows), family="knn", embedder=_embedder(embedder))
    classifier.save(directory / "model")
    policy = directory / "policy.yaml"
    policy.write_text(POLICY)
    return policy


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


def rss_mb(pid: int) -> dict[str, float | None]:
    """The process's resident set now and at its peak (VmHWM), in MB (Linux /proc)."""
    values: dict[str, float | None] = {"rss": None, "peak": None}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values["rss" if key == "VmRSS" else "peak"] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return values


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TRIM_ROUTE = "/_benchmark/malloc_trim"


def _malloc_trim() -> bool:
    """Give freed heap back to the OS (glibc); False where there is no such call."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # 1 if it released memory, 0 if none was free
    except (OSError, AttributeError):
        return False
    return True


def serve(policy: Path, port: int, embedder: str) -> None:
    """The child process: the service on uvicorn, on 127.0.0.1, plus :data:`TRIM_ROUTE`."""
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from guardrails import Engine
    from guardrails.server import create_app

    async def trim(request: Request) -> JSONResponse:
        return JSONResponse({"trimmed": _malloc_trim()})

    extra = [_embedder(embedder)] if embedder == "fake" else []
    engine = Engine.from_path(policy, embedders=extra)
    app = create_app(engine)
    app.add_route(TRIM_ROUTE, trim, methods=["POST"])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")


async def _trim(base: str) -> bool:
    host, port = base.removeprefix("http://").rsplit(":", 1)
    connection = _Connection(host, int(port))
    try:
        status, data = await connection.post(TRIM_ROUTE, b"")
    finally:
        connection.close()
    return status == 200 and json.loads(data)["trimmed"]


def _start(policy: Path, embedder: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    command = [sys.executable, "-m", "benchmarks.load_test", "--serve", str(policy),
               "--port", str(port), "--embedder", embedder]  # fmt: skip
    log = policy.parent / "server.log"
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not answer /healthz within 300 s")


class _Connection:
    """A minimal HTTP/1.1 keep-alive client for this benchmark. httpx's pool is the bottleneck
    at 64 connections (about 40 requests/s on two cores, against 500+ for the same server with
    this), so the load would measure the client."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        fields = dict(line.partition(":")[::2] for line in head[1:] if line)
        fields = {name.lower(): value.strip() for name, value in fields.items()}
        data = await reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            self.close()
        return int(head[0].split()[1]), data

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def fire(
    base: str, bodies: list[str], concurrency: int, pid: int | None = None
) -> dict[str, Any]:
    """Send every text once over ``concurrency`` connections; count what comes back, and
    sample process ``pid``'s RSS every second while it runs."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    statuses: Counter[int] = Counter()
    verdicts: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    step_errors = 0
    latencies: list[float] = []
    work = iter(bodies)

    async def worker() -> None:
        nonlocal step_errors
        connection = _Connection(host, int(port))
        for text in work:  # one shared iterator: each text is sent once
            started = time.perf_counter()
            try:
                async with asyncio.timeout(120):
                    status, data = await connection.post(
                        "/v1/moderate", json.dumps({"input": text}).encode()
                    )
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                failures[type(exc).__name__] += 1
                connection.close()  # a new connection for the next request
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] += 1
            if status == 200:
                (result,) = json.loads(data)["results"]
                verdicts[result["verdict"]] += 1
                step_errors += sum(f["label"] == "error" for f in result["findings"])
        connection.close()

    samples: list[tuple[int, float]] = []  # (requests answered, RSS MB)

    async def sample() -> None:
        while pid is not None:
            rss = rss_mb(pid)["rss"]
            if rss is not None:
                samples.append((len(latencies), round(rss, 1)))
            await asyncio.sleep(1.0)

    started = time.perf_counter()
    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    sampler.cancel()
    duration = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)

    return {
        "duration_s": round(duration, 2),
        "throughput_rps": round(len(latencies) / duration, 1),
        "answered": len(latencies),
        "unanswered": sum(failures.values()),
        "transport_errors": dict(failures),
        "status_counts": {str(k): v for k, v in sorted(statuses.items())},
        "count_5xx": sum(v for k, v in statuses.items() if k >= 500),
        "verdicts": dict(verdicts),
        "step_errors": step_errors,
        "latency_ms": (
            {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "max": pct(1.0)}
            if latencies
            else {}
        ),
        "rss_samples": samples[:: max(1, len(samples) // 20)],
    }


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
