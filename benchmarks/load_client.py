"""The client side of the load test: a minimal keep-alive HTTP/1.1 client and the load it sends.

:func:`fire` sends every text once to ``POST /v1/moderate`` over ``concurrency`` connections,
counts statuses, verdicts, step failures and transport errors, and samples the server's RSS
while it runs; :func:`_trim` asks the server to give freed heap back before a memory reading.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

from benchmarks.load_server import TRIM_ROUTE, rss_mb


async def _trim(base: str) -> bool:
    host, port = base.removeprefix("http://").rsplit(":", 1)
    connection = _Connection(host, int(port))
    try:
        status, data = await connection.post(TRIM_ROUTE, b"")
    finally:
        connection.close()
    return status == 200 and json.loads(data)["trimmed"]


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
