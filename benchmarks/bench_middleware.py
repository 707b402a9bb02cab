"""Middleware overhead over uvicorn: a bare Starlette JSON echo app against the same app behind
``GuardrailsMiddleware`` with policies/default.yaml (rules only), then with an ML policy (the
default rules plus a centroid classifier trained here on a few rows of the prompt-injection set).
Run: python -m benchmarks middleware

Each app runs in its own uvicorn process (one worker, h11, 127.0.0.1); this process is the
client: raw HTTP/1.1 over keep-alive connections, cheap enough that the server, not the client,
is the bottleneck on two cores. Two small JSON bodies: a lone user message (about 120 bytes)
and a chat request (about 200 bytes: a system prompt and a user message). Every user message is
different (a benign text of the prompt-injection set plus a tag word), so no cache answers it;
the system prompt is the same in every request, as in a chat app, and after the first request a
rules-only engine answers it from its memo of recent texts. Bare and guarded runs alternate
(ABBA) for several rounds; the table has medians, and each ratio is the median of each round's
ratio to the bare run beside it, so drift in the machine's load cancels. Besides requests per
second at a fixed concurrency, it reports the server's CPU time per request (from /proc: the
steadier figure on a shared machine) and the latency one request at a time, where the added
microseconds are the middleware's own cost rather than queueing.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import print_table, save
from benchmarks.middleware_client import SHAPES, _body, _compare, _summary

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "jsonl" / "prompt_injection_train.jsonl"
_POLICY_ENV = "GUARDRAILS_BENCH_POLICY"


# -- the server side: run by uvicorn in its own process -------------------------------------


def echo_app() -> Any:
    """The bare app: a Starlette JSON echo on ``POST /chat``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def chat(request: Request) -> JSONResponse:
        return JSONResponse(await request.json())

    return Starlette(routes=[Route("/chat", chat, methods=["POST"])])


def server_app() -> Any:
    """The benchmarked app (``uvicorn --factory``): the echo, guarded when the environment
    names a policy."""
    app = echo_app()
    policy = os.environ.get(_POLICY_ENV)
    if policy:
        from guardrails import GuardrailsMiddleware

        app.add_middleware(GuardrailsMiddleware, policy=policy)
    return app


class Server:
    """One uvicorn process serving :func:`server_app` on a free port of 127.0.0.1."""

    def __init__(self, policy: Path | None) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.update(HF_HUB_OFFLINE="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
        env.pop(_POLICY_ENV, None)
        if policy is not None:
            env[_POLICY_ENV] = str(policy)
        command = [
            sys.executable, "-m", "uvicorn", "benchmarks.bench_middleware:server_app",
            "--factory", "--host", "127.0.0.1", "--port", str(self.port),
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env)

    def post(self, body: bytes, timeout: float = 60.0) -> tuple[int, str | None]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("POST", "/chat", body, {"content-type": "application/json"})
            response = conn.getresponse()
            response.read()
            return response.status, response.getheader("x-guardrails-decision")
        finally:
            conn.close()

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}")
            try:
                self.post(_body("hello"), timeout=timeout)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- the ML policy ------------------------------------------------------------------------------


def _ml_policy(tmp: Path, rows: int) -> Path:
    """policies/default.yaml plus a classifier step over a centroid model trained here."""
    import yaml

    from guardrails.training.dataset import load_dataset
    from guardrails.training.trainers import train

    dataset = load_dataset(DATA).sample_per_class(rows, seed=0)
    classifier = train(dataset, family="centroid", progress=False)
    classifier.save(tmp / "injection-centroid")
    policy = yaml.safe_load((ROOT / "policies" / "default.yaml").read_text())
    policy.pop("tests", None)
    policy["name"] = "default-plus-ml"
    # 16 requests at once on two shared cores (beside the client) can queue for the model
    # longer than the default 1 s budget; a timed-out step would fail closed and block
    policy["defaults"]["timeout_ms"] = 5000
    policy["steps"].append(
        {
            "id": "injection",
            "kind": "classifier",
            "model": str(tmp / "injection-centroid"),
            "ignore": ["benign"],
            "action": "flag",  # never blocks: every request reaches the app, as in the others
            "thresholds": {"injection": {"flag": 0.5}},
        }
    )
    path = tmp / "ml.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    return path


def _benign_texts() -> list[str]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    return [r["text"] for r in rows if r["label"] == "benign" and len(r["text"]) < 150][:200]


def _sanity(servers: dict[str, Server]) -> None:
    """The guarded servers really check: a secret is refused, a question passes with a header."""
    secret = _body("deploy with AKIAIOSFODNN7EXAMPLE please", "user")
    for name, server in servers.items():
        bare = name == "bare"
        status, header = server.post(secret)
        if status != (200 if bare else 400):
            raise RuntimeError(f"{name}: a request holding a secret got {status}")
        status, header = server.post(_body("What is the capital of France?"))
        if status != 200 or (header is None) != bare:
            raise RuntimeError(f"{name}: a plain question got {status}, header {header}")


def _phase(
    policies: dict[str, Path | None],
    texts: list[str],
    shapes: tuple[str, ...],
    *,
    rounds: int,
    count: int,
    single: int,
    concurrency: int,
) -> dict[str, Any]:
    """Start the servers, check they work, and compare them loaded, then one request at a time."""
    servers = {name: Server(policy) for name, policy in policies.items()}
    try:
        for server in servers.values():
            server.wait_ready()
        _sanity(servers)
        loaded = _compare(
            servers, texts, shapes, rounds=rounds, count=count, concurrency=concurrency
        )
        alone = _compare(servers, texts, shapes, rounds=rounds, count=single, concurrency=1)
    finally:
        for server in servers.values():
            server.close()
    return {"loaded": _summary(loaded), "single": _summary(alone)}


def _row(label: str, body: str, phase: dict[str, Any], key: str) -> list[str]:
    loaded, single = phase["loaded"][key], phase["single"][key]
    bare = phase["single"]["bare/" + key.split("/")[1]]
    added = [1000 * (single[q] - bare[q]) for q in ("p50_ms", "p99_ms")]
    return [
        label,
        body,
        f"{loaded['rps']:,.0f}",
        f"{loaded['rps_ratio']:.2f}",
        f"{loaded['p50_ms']:.1f} / {loaded['p99_ms']:.1f}",
        f"{loaded['server_cpu_us']:.0f} ({loaded['cpu_ratio']:.2f})",
        f"{single['p50_ms']:.2f} / {single['p99_ms']:.2f}",
        "" if key.startswith("bare/") else f"{added[0]:+.0f} / {added[1]:+.0f}",
    ]


def run(quick: bool = False) -> dict[str, Any]:
    concurrency = 16
    rounds, count, single = (2, 400, 100) if quick else (4, 1000, 300)
    ml_rounds, ml_count, ml_single = (1, 60, 20) if quick else (2, 200, 40)
    texts = _benign_texts()
    load = os.getloadavg()
    results: dict[str, Any] = {"concurrency": concurrency}
    with tempfile.TemporaryDirectory() as tmp:
        results["rules"] = _phase(
            {"bare": None, "rules": ROOT / "policies" / "default.yaml"},
            texts,
            SHAPES,
            rounds=rounds,
            count=count,
            single=single,
            concurrency=concurrency,
        )
        results["ml"] = _phase(
            {"bare": None, "ml": _ml_policy(Path(tmp), 40)},
            texts,
            ("chat",),
            rounds=ml_rounds,
            count=ml_count,
            single=ml_single,
            concurrency=concurrency,
        )
    results["loadavg_before"] = [round(x, 2) for x in load]
    results["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    rules, ml = results["rules"], results["ml"]
    user, chat = "user message", "system + user"
    rows = [
        _row("bare Starlette", user, rules, "bare/user"),
        _row("rules only (policies/default.yaml)", user, rules, "rules/user"),
        _row("bare Starlette", chat, rules, "bare/chat"),
        _row("rules only (policies/default.yaml)", chat, rules, "rules/chat"),
        _row("bare Starlette (ML run)", chat, ml, "bare/chat"),
        _row("default + centroid classifier (MiniLM)", chat, ml, "ml/chat"),
    ]
    table = print_table(
        f"Middleware overhead over uvicorn (1 worker, h11, 127.0.0.1; small chat JSON; "
        f"{concurrency} keep-alive connections, then 1)",
        ["app", "body", "req/s", "vs bare", "p50 / p99 ms", "server CPU µs/req (vs bare)",
         "1 conn p50 / p99 ms", "1 conn added µs p50 / p99"],
        rows,
    )  # fmt: skip
    table += (
        f"\nMedians of {rounds} (rules) and {ml_rounds} (ML) interleaved rounds of {count} "
        f"(ML: {ml_count}) requests; load average {results['loadavg_before'][0]} before, "
        f"{results['loadavg_after'][0]} after.\n"
    )
    print(table.splitlines()[-1])
    save("middleware", {"results": results, "table": table})
    return {"table": table, "results": results}


if __name__ == "__main__":
    run()
