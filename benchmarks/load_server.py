"""The server side of the load test: the service it loads, in a child process of its own.

:func:`prepare` trains the KNN prompt-injection classifier and writes the policy; :func:`_start`
runs ``python -m benchmarks.load_test --serve`` (that is, :func:`serve`: ``create_app`` on
uvicorn, on 127.0.0.1) and waits for ``/healthz``. The server also answers :data:`TRIM_ROUTE`,
which calls glibc's ``malloc_trim(0)`` so that its live memory can be told from freed heap kept
for reuse, and :func:`rss_mb` reads its resident set from /proc.
"""

from __future__ import annotations

import ctypes
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from guardrails.testing import BENIGN_EXAMPLES as BENIGN
from guardrails.testing import INJECTION_EXAMPLES as INJECTION

ROOT = Path(__file__).resolve().parents[1]
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
