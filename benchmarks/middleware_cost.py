"""Where the middleware's microseconds go: the apps of the middleware benchmark called in-process
(no server, no sockets), one request at a time, so that what is left is the middleware's own
CPU cost. Run: python -m benchmarks.middleware_cost

Five apps, on the same chat requests as ``python -m benchmarks middleware``:

- the bare Starlette JSON echo;
- behind the least a body-checking middleware must do: read the body and replay it to the app;
- the same, also parsing the JSON (orjson) and taking out ``messages[*].content``;
- behind ``GuardrailsMiddleware`` with policies/default.yaml, but an engine that answers every
  text at once with a stored allow: the middleware's plumbing without its checks;
- behind ``GuardrailsMiddleware`` with policies/default.yaml: the real thing.

The apps take turns (forward, then backward) for several rounds; the table has each app's median
microseconds a request, and its median difference to the bare app in the same round. The notes
relate it to the server benchmark's saved figures: at 90% of the bare app's throughput, the
middleware may add a ninth of the bare app's server CPU time a request.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson

from benchmarks.bench_middleware import ROOT, _benign_texts, echo_app
from benchmarks.common import RESULTS, print_table, save
from benchmarks.middleware_client import SHAPES, _body, _unique_body

POLICY = ROOT / "policies" / "default.yaml"
SECRET = _body("deploy with AKIAIOSFODNN7EXAMPLE please", "user")

App = Callable[..., Any]


class _ReadReplay:
    """The floor of any middleware that checks a body: read it whole, hand it to the app.
    With ``parse``, it also parses the JSON and takes out each message's content."""

    def __init__(self, app: App, parse: bool = False) -> None:
        self.app, self.parse = app, parse

    async def __call__(self, scope: dict[str, Any], receive: App, send: App) -> None:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if self.parse:
            _ = [m["content"] for m in orjson.loads(body)["messages"]]
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _instant_engine() -> Any:
    """policies/default.yaml compiled as usual, but answering every text at once with the
    decision of a clean one (a subclass: the middleware calls it as it calls any engine)."""
    from guardrails import Engine

    answer = Engine.from_path(POLICY).check("What is the capital of France?")

    class Instant(Engine):
        async def acheck(self, content: str | bytes, **_: Any) -> Any:
            return answer

    return Instant.from_path(POLICY)


def apps() -> dict[str, App]:
    from guardrails import GuardrailsMiddleware

    guarded, instant = echo_app(), echo_app()
    guarded.add_middleware(GuardrailsMiddleware, policy=str(POLICY))
    instant.add_middleware(GuardrailsMiddleware, policy=_instant_engine())
    read, parse = echo_app(), echo_app()
    read.add_middleware(_ReadReplay)
    parse.add_middleware(_ReadReplay, parse=True)
    return {
        "bare Starlette echo": echo_app(),
        "read + replay the body": read,
        "read + parse JSON + take the messages + replay": parse,
        "GuardrailsMiddleware, checks answered instantly": instant,
        "GuardrailsMiddleware, policies/default.yaml": guarded,
    }


def _scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/chat",
        "raw_path": b"/chat",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }


async def _call(app: App, body: bytes) -> int:
    """One request through ``app``; its status."""
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(body), receive, send)
    return status


async def _per_request(app: App, bodies: list[bytes]) -> float:
    """Microseconds a request, sequentially."""
    started = time.perf_counter()
    for body in bodies:
        await _call(app, body)
    return (time.perf_counter() - started) / len(bodies) * 1e6


async def _sanity(named: dict[str, App]) -> None:
    """The real middleware refuses a secret; the instant one passes it (its checks are off)."""
    for name, app in named.items():
        status = await _call(app, SECRET)
        expected = 400 if name.endswith("default.yaml") else 200
        if status != expected:
            raise RuntimeError(f"{name}: a request holding a secret got {status}")


async def _measure(rounds: int, count: int, warm: int) -> dict[str, Any]:
    named = apps()
    await _sanity(named)
    texts = _benign_texts()
    results: dict[str, Any] = {}
    for shape in SHAPES:
        runs: dict[str, list[float]] = {name: [] for name in named}
        start = 1_000_000  # past the numbers the sanity and warm-up bodies use
        warmup = [_unique_body(texts, i, shape) for i in range(warm)]
        for app in named.values():
            await _per_request(app, warmup)
        for r in range(rounds):
            bodies = [_unique_body(texts, start + r * count + i, shape) for i in range(count)]
            order = list(named) if r % 2 == 0 else list(reversed(named))
            for name in order:
                runs[name].append(await _per_request(named[name], bodies))
        bare = runs[next(iter(named))]
        results[shape] = {
            name: {
                "us": statistics.median(times),
                "added_us": statistics.median(t - b for t, b in zip(times, bare, strict=True)),
                "rounds": [round(t, 2) for t in times],
            }
            for name, times in runs.items()
        }
    return results


def _server_budget() -> str | None:
    """The server benchmark's saved figures, as the budget they imply."""
    path = RESULTS / "middleware.json"
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    loaded = saved["results"]["rules"]["loaded"]
    bare, guarded = loaded["bare/chat"]["server_cpu_us"], loaded["rules/chat"]["server_cpu_us"]
    return (
        f"Over uvicorn (benchmarks/results/middleware.json, {saved['machine']['date']}, system + "
        f"user): the bare app costs the server {bare:.0f} µs of CPU a request and the guarded "
        f"one {guarded - bare:.0f} µs more. Keeping 90% of the bare throughput allows "
        f"{bare / 9:.0f} µs more."
    )


def run(quick: bool = False) -> dict[str, Any]:
    rounds, count, warm = (2, 200, 50) if quick else (6, 3000, 300)
    results = asyncio.run(_measure(rounds, count, warm))
    rows = []
    for name in results[SHAPES[0]]:
        cells = [name]
        for shape in SHAPES:
            entry = results[shape][name]
            cells += [f"{entry['us']:.1f}", f"{entry['added_us']:+.1f}"]
        rows.append(cells)
    table = print_table(
        "Middleware cost in-process (no server; one request at a time; µs a request)",
        ["app", "user message µs", "added", "system + user µs", "added"],
        rows,
    )
    notes = [f"Medians of {rounds} rounds of {count} requests, the apps in turn."]
    budget = _server_budget()
    if budget is not None:
        notes.append(budget)
    table += "\n" + "\n".join(notes) + "\n"
    print("\n".join(notes))
    if not quick:
        save("middleware_cost", {"results": results, "table": table})
    return {"table": table, "results": results}


if __name__ == "__main__":
    run()
