"""Hostile HTTP over a real connection: a uvicorn on 127.0.0.1 and raw sockets, for what only a
connection can do (a body that trickles, stops or lies), against the middleware and the
service. Always a 4xx (a 408 for a body that does not arrive), never a 500, and the wrapped app
never receives what was refused.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from hostile_http import JSON, MULTIPART, field, guarded, multipart, service

from guardrails.asgi import body as body_module


@contextmanager
def uvicorn_server(app) -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def live():
    """Two servers on 127.0.0.1: the middleware over a RecordingApp, and the service."""
    recorder, app = guarded()
    with uvicorn_server(app) as guarded_port, uvicorn_server(service(body_timeout=0.5)) as port:
        yield {"recorder": recorder, "/chat": guarded_port, "/v1/moderate": port}


@pytest.fixture
def short_body_timeout(monkeypatch):
    monkeypatch.setattr(body_module, "BODY_TIMEOUT", 0.5)  # the middleware reads it per request


def exchange(port: int, head: bytes, pieces=(), *, pause: float = 0.0, shut: bool = False):
    """Send ``head`` then each piece ``pause`` seconds apart (optionally closing our side), and
    return (seconds until the answer, status or None, headers, body) once the server answers or
    closes the connection."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        sock.settimeout(pause or 10)
        received = b""
        for piece in pieces:
            if pause:
                try:
                    received += sock.recv(65536)  # an answer may come before we finish
                    if received:
                        break
                except TimeoutError:
                    pass
            try:
                sock.sendall(piece)
            except OSError:
                break
        if shut:
            sock.shutdown(socket.SHUT_WR)
        sock.settimeout(10)
        while not _complete(received):
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            received += chunk
    elapsed = time.monotonic() - started
    if not received:
        return elapsed, None, {}, b""
    head_bytes, _, body = received.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return elapsed, int(lines[0].split()[1]), headers, body


def _complete(received: bytes) -> bool:
    head_end = received.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    head = received[:head_end].lower()
    marker = b"content-length: "
    if marker not in head:
        return False
    length = int(head.split(marker, 1)[1].split(b"\r\n", 1)[0])
    return len(received) - head_end - 4 >= length


def request_head(path: str, content_type: str, extra: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n{extra}\r\n"
    ).encode()


ROUTES = ["/chat", "/v1/moderate"]


@pytest.mark.parametrize("route", ROUTES)
def test_a_body_that_stops_arriving_gets_a_408(live, short_body_timeout, route):
    head = request_head(route, JSON, "Content-Length: 1000\r\n")
    elapsed, status, headers, body = exchange(live[route], head, [b'{"prompt": "zyzzyva'])
    assert status == 408 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == "body_timeout"
    assert elapsed < 5
    assert live["recorder"].bodies == []


@pytest.mark.parametrize("route", ROUTES)
def test_a_trickling_body_gets_a_408(live, short_body_timeout, route):
    head = request_head(route, JSON, "Transfer-Encoding: chunked\r\n")
    trickle = [b"1\r\nz\r\n"] * 40  # one byte every 0.1 s: 4 s if nobody stops it
    elapsed, status, _, body = exchange(live[route], head, trickle, pause=0.1)
    assert status == 408 and json.loads(body)["error"] == "body_timeout"
    assert elapsed < 3
    assert live["recorder"].bodies == []


@pytest.mark.parametrize("route", ROUTES)
def test_a_client_that_leaves_mid_body_costs_nothing(live, caplog, route):
    head = request_head(route, JSON, "Content-Length: 1000\r\n")
    _, status, _, _ = exchange(live[route], head, [b'{"prompt": "zyz'], shut=True)
    assert status is None or 400 <= status < 500
    assert live["recorder"].bodies == []
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    after = httpx.post(f"http://127.0.0.1:{live[route]}{route}", json={"input": "hi"}, timeout=5)
    assert after.status_code == 200  # the server is fine
    live["recorder"].requests.clear()


@pytest.mark.parametrize("route", ROUTES)
def test_truncated_multipart_over_http(live, route):
    body = multipart(field("input", b"zyzzyva"), field("input", b"more"))[:-30]
    head = request_head(route, MULTIPART, f"Content-Length: {len(body)}\r\n")
    _, status, _, answer = exchange(live[route], head + body)
    assert status == 400 and json.loads(answer)["error"] in (
        "malformed_multipart",
        "invalid_multipart",
    )
    assert live["recorder"].bodies == []


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("length", ["-1", "abc", "1, 2"])
def test_an_invalid_content_length_never_reaches_the_app(live, route, length):
    """uvicorn (h11) refuses these itself, with a plain-text 400, before any app runs."""
    head = request_head(route, JSON, f"Content-Length: {length}\r\n")
    _, status, _, _ = exchange(live[route], head + b'{"prompt": "hi"}')
    assert status == 400
    assert live["recorder"].bodies == []


@pytest.mark.parametrize("route", ROUTES)
def test_a_content_length_shorter_than_the_body_is_a_4xx(live, route):
    head = request_head(route, JSON, "Content-Length: 12\r\n")
    _, status, _, answer = exchange(live[route], head + b'{"input": "zyzzyva"}')
    assert status == 400 and json.loads(answer)["error"] in ("malformed_json", "invalid_json")
    assert live["recorder"].bodies == []
