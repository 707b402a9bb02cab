"""``guardrails serve`` for real: uvicorn on 127.0.0.1, hot reload by file change and SIGHUP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

POLICY = "version: 1\nname: v{n}\nsteps:\n  - {{id: words, kind: keywords, words: [{word}]}}\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.fixture
def server(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(n=1, word="apple"))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "guardrails", "serve", "--policy", str(policy), "--port", str(port),
         "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{base}/healthz", timeout=1).status_code == 200)
        yield proc, base, policy
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def verdict(base: str, text: str) -> str:
    return httpx.post(f"{base}/v1/moderate", json={"input": text}, timeout=5).json()["verdict"]


def generation(base: str) -> int:
    return httpx.get(f"{base}/healthz", timeout=1).json()["generation"]


def test_serve_moderates_and_reloads_on_edit_and_sighup(server):
    proc, base, policy = server
    assert verdict(base, "an apple") == "block"
    assert verdict(base, "a pear") == "allow"

    tmp = policy.with_suffix(".tmp")
    tmp.write_text(POLICY.format(n=2, word="pear"))
    os.replace(tmp, policy)  # an edit on disk takes effect without restart
    wait_for(lambda: generation(base) == 1)
    assert verdict(base, "a pear") == "block"

    policy.write_text(
        "version: 1\nname: broken\nsteps:\n  - {id: p, kind: pii, entities: [emial]}\n"
    )
    wait_for(lambda: httpx.get(f"{base}/healthz", timeout=1).json()["last_reload_error"])
    assert verdict(base, "a pear") == "block"  # the broken edit kept the old policy

    policy.write_text(POLICY.format(n=3, word="plum"))
    proc.send_signal(signal.SIGHUP)
    wait_for(lambda: httpx.get(f"{base}/healthz", timeout=1).json()["policy"] == "v3")
    assert verdict(base, "a plum") == "block"
