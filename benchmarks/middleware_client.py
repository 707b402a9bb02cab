"""The client side of the middleware benchmark: this process, loading the servers over raw HTTP.

Requests are built ahead of the clock as raw HTTP/1.1 bytes (:func:`_requests`) and sent over
keep-alive connections by asyncio streams (:func:`_drive`), cheap enough that the server, not the
client, is the bottleneck on two cores. :func:`_compare` runs bare and guarded servers in ABBA
order for several rounds, and :func:`_summary` turns the rounds into medians and ratios to the
bare run beside each.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.bench_middleware import Server

SYSTEM = "You are a helpful assistant. Answer briefly."

SHAPES = ("user", "chat")  # a lone user message; a system prompt and a user message


def _body(text: str, shape: str = "chat") -> bytes:
    messages = [{"role": "user", "content": text}]
    if shape == "chat":
        messages.insert(0, {"role": "system", "content": SYSTEM})
    return json.dumps({"model": "m", "messages": messages}).encode()


def _tag(number: int) -> str:
    """A word that makes a text unique without digits (which would change the PII work)."""
    letters = []
    while True:
        number, digit = divmod(number, 26)
        letters.append("abcdefghijklmnopqrstuvwxyz"[digit])
        if not number:
            return "".join(letters)


def _unique_body(texts: list[str], number: int, shape: str) -> bytes:
    """Request ``number``'s JSON body: the texts in turn, each made unique by a tag word."""
    return _body(f"{texts[number % len(texts)].rstrip('.?! ')[:120]}, ref {_tag(number)}?", shape)


def _requests(texts: list[str], count: int, start: int, shape: str) -> list[bytes]:
    """``count`` distinct requests (raw HTTP/1.1), from :func:`_unique_body`."""
    out = []
    for i in range(start, start + count):
        body = _unique_body(texts, i, shape)
        head = "POST /chat HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
        out.append(f"{head}content-length: {len(body)}\r\n\r\n".encode() + body)
    return out


async def _drive(port: int, requests: list[bytes], concurrency: int) -> tuple[float, list[float]]:
    """Send every request over ``concurrency`` keep-alive connections; (seconds, latencies)."""
    connections = [
        await asyncio.open_connection("127.0.0.1", port) for _ in range(concurrency)
    ]  # opened before the clock starts
    pending = iter(requests)
    latencies: list[float] = []
    clock = time.perf_counter

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for request in pending:  # shared: each connection takes the next request
            sent = clock()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0]
            answer = await reader.readexactly(int(length))
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"unexpected answer: {head[:12]!r} {answer[:300]!r}")
            latencies.append(clock() - sent)

    started = clock()
    await asyncio.gather(*(worker(r, w) for r, w in connections))
    elapsed = clock() - started
    for _, writer in connections:
        writer.close()
    return elapsed, latencies


def _measure(server: Server, requests: list[bytes], concurrency: int) -> dict[str, float]:
    cpu = server.cpu_seconds()
    elapsed, latencies = asyncio.run(_drive(server.port, requests, concurrency))
    cpu = server.cpu_seconds() - cpu
    latencies.sort()
    return {
        "rps": len(requests) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "server_cpu_us": 1e6 * cpu / len(requests),
    }


Runs = dict[tuple[str, str], list[dict[str, float]]]


def _compare(
    servers: dict[str, Server],
    texts: list[str],
    shapes: tuple[str, ...],
    *,
    rounds: int,
    count: int,
    concurrency: int,
) -> Runs:
    """For ``rounds`` rounds, each body shape to each server (in ABBA order: the drift of the
    machine's load cancels), ``count`` requests each time."""
    runs: Runs = {(name, shape): [] for shape in shapes for name in servers}
    names = list(servers)
    number = 0
    for server in servers.values():  # warm up: imports, caches, the first batches
        for shape in shapes:
            _measure(server, _requests(texts, max(count // 4, 50), 10**6, shape), concurrency)
    for round_ in range(rounds):
        for shape in shapes:
            for name in names if round_ % 2 == 0 else names[::-1]:
                requests = _requests(texts, count, number, shape)
                number += count
                runs[name, shape].append(_measure(servers[name], requests, concurrency))
                time.sleep(0.1)
    return runs


def _summary(runs: Runs) -> dict[str, dict[str, float]]:
    """Medians per server and shape; ``rps_ratio`` is the median of each round's ratio to the
    bare server's run beside it."""
    out = {}
    for (name, shape), samples in runs.items():
        row = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
        peers = runs["bare", shape]
        row["rps_ratio"] = statistics.median(
            s["rps"] / b["rps"] for s, b in zip(samples, peers, strict=True)
        )
        row["cpu_ratio"] = statistics.median(
            s["server_cpu_us"] / b["server_cpu_us"] for s, b in zip(samples, peers, strict=True)
        )
        out[f"{name}/{shape}"] = row
    return out
