"""Hostile HTTP against the middleware and the service: always a 4xx with a JSON reason, never a
500, and the wrapped app never receives what was refused.

In-process (``httpx.ASGITransport``) for what a body can hold; a real uvicorn on 127.0.0.1 with
raw sockets for what only a connection can do (a body that trickles, stops or lies).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import gzip
import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardrails import Engine
from guardrails.asgi import body as body_module
from guardrails.middleware import GuardrailsMiddleware
from guardrails.server import create_app
from guardrails.testing import RecordingApp

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
LIMIT = 256 * 1024  # room for 100,000 levels of nesting
ENGINE = Engine.from_string(
    "version: 1\nname: fuzz\nsteps:\n"
    "  - {id: secrets, kind: secrets}\n"
    "  - {id: banned, kind: keywords, words: [zyzzyva]}\n"
    "  - {id: pii, kind: pii, action: redact, entities: [email]}\n"
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def png(width: int, height: int, *, cut: int = 0) -> bytes:
    """A PNG whose header declares ``width`` x ``height``; its data is a few hundred bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * (1 + 3 * min(width, 64)) * min(height, 4))
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
    data += chunk(b"IEND", b"")
    return data[: len(data) - cut]


BOMB = png(100_000, 100_000)  # 10 gigapixels: Pillow's own limit refuses to open it
OVER = png(9_000, 9_000)  # 81 megapixels: under Pillow's limit, over guardrails' 64M
CUT = png(1, 1, cut=20)  # valid magic and header, truncated data
GZIP_BOMB = gzip.compress(b"0" * (16 << 20))  # 16 MB of zeros in ~16 kB


def data_url(image: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(image).decode()


def multipart(*parts: bytes, boundary: bytes = b"XyZ", close: bool = True) -> bytes:
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return body + (b"--" + boundary + b"--\r\n" if close else b"")


def field(name: str, value: bytes) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value


def upload(name: str, data: bytes, content_type: str = "image/png") -> bytes:
    disposition = f'Content-Disposition: form-data; name="{name}"; filename="x.png"\r\n'
    return (disposition + f"Content-Type: {content_type}\r\n\r\n").encode() + data


MULTIPART = "multipart/form-data; boundary=XyZ"
JSON = "application/json"


def guarded(**options) -> tuple[RecordingApp, GuardrailsMiddleware]:
    recorder = RecordingApp()
    options.setdefault("max_body_size", LIMIT)
    return recorder, GuardrailsMiddleware(recorder, policy=ENGINE, **options)


def service(**options):
    options.setdefault("max_body", LIMIT)
    return create_app(ENGINE, metrics=False, **options)


@contextmanager
def client(app) -> Iterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    yield httpx.AsyncClient(transport=transport, base_url="http://test")


def assert_json_reason(response: httpx.Response, status: int | None = None) -> dict:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    payload = response.json()
    assert isinstance(payload["error"], str) and payload["error"]
    return payload


async def chunked(data: bytes, size: int = 4096):
    for i in range(0, len(data), size):
        yield data[i : i + size]


# (id, content type, body, extra headers, status, error) for the middleware
MIDDLEWARE_CASES = [
    ("json-cut", JSON, b'{"prompt": ', {}, 400, "malformed_json"),
    ("json-trailing", JSON, b'{"prompt": "x"} }', {}, 400, "malformed_json"),
    ("json-single-quotes", JSON, b"{'prompt': 'x'}", {}, 400, "malformed_json"),
    ("json-nul", JSON, b"\x00\x01\x02", {}, 400, "malformed_json"),
    ("json-100k-arrays", JSON, b"[" * 100_000, {}, 400, "malformed_json"),
    ("json-100k-nested", JSON, b'{"prompt":' + b"[" * 100_000 + b"]" * 100_000 + b"}", {}, 400, "malformed_json"),
    ("json-100k-objects", JSON, b'{"prompt":' + b'{"a":' * 40_000 + b"1" + b"}" * 40_001, {}, 400, "malformed_json"),
    ("json-5000-digits", JSON, b'{"prompt": 1' + b"0" * 5000 + b"}", {}, 400, "malformed_json"),
    ("json-invalid-utf8", JSON, b'{"prompt": "\xff\xfe"}', {}, 400, "invalid_encoding"),
    ("json-utf16", "application/json; charset=utf-16", '{"prompt": "x"}'.encode("utf-16"), {}, 415, "unsupported_charset"),
    ("text-invalid-utf8", "text/plain", b"caf\xc3\x28", {}, 400, "invalid_encoding"),
    ("text-unknown-charset", "text/plain; charset=klingon", b"hi", {}, 415, "unsupported_charset"),
    ("text-bytes-codec", "text/plain; charset=base64", b"aGk=", {}, 415, "unsupported_charset"),
    ("form-invalid-utf8", "application/x-www-form-urlencoded", b"q=%FF%FE", {}, 400, "invalid_encoding"),
    ("octet-stream", "application/octet-stream", b"\x00" * 10, {}, 415, "unsupported_media_type"),
    ("no-content-type", None, b"hello", {}, 415, "unsupported_media_type"),
    ("xml", "application/xml", b"<a>zyzzyva</a>", {}, 415, "unsupported_media_type"),
    ("image-type-not-image", "image/png", b"GIF? no, text", {}, 415, "not_an_image"),
    ("multipart-no-boundary", "multipart/form-data", multipart(field("q", b"hi")), {}, 400, "malformed_multipart"),
    ("multipart-truncated", MULTIPART, multipart(field("q", b"zyzzyva"), close=False), {}, 400, "malformed_multipart"),
    ("multipart-cut-mid-part", MULTIPART, multipart(field("q", b"hello"))[:-20], {}, 400, "malformed_multipart"),
    ("multipart-no-disposition", MULTIPART, multipart(b"X-Nothing: 1\r\n\r\nzyzzyva"), {}, 400, "malformed_multipart"),
    ("multipart-invalid-utf8", MULTIPART, multipart(field("q", b"\xff\xfe")), {}, 400, "invalid_encoding"),
    ("multipart-1001-parts", MULTIPART, multipart(*[field("q", b"a")] * 1001), {}, 413, "too_many_parts"),
    ("multipart-upload-not-image", MULTIPART, multipart(upload("f", b"MZ\x90\x00")), {}, 415, "not_an_image"),
    ("multipart-oversized", MULTIPART, multipart(field("q", b"a" * LIMIT)), {}, 413, "body_too_large"),
    ("oversized-text", "text/plain", b"a" * (LIMIT + 1), {}, 413, "body_too_large"),
    ("bomb-png-body", "image/png", BOMB, {}, 413, "image_too_large"),
    ("81mpx-png-body", "image/png", OVER, {}, 413, "image_too_large"),
    ("truncated-png-body", "image/png", CUT, {}, 400, "invalid_image"),
    ("bomb-png-data-url", JSON, json.dumps({"prompt": data_url(BOMB)}).encode(), {}, 413, "image_too_large"),
    ("truncated-png-data-url", JSON, json.dumps({"prompt": data_url(CUT)}).encode(), {}, 400, "invalid_image"),
    ("gzip-bomb-json", JSON, GZIP_BOMB, {"content-encoding": "gzip"}, 415, "unsupported_content_encoding"),
    ("content-length-negative", JSON, b'{"prompt": "hi"}', {"content-length": "-1"}, 400, "invalid_content_length"),
    ("content-length-text", JSON, b'{"prompt": "hi"}', {"content-length": "ten"}, 400, "invalid_content_length"),
    ("content-length-underscore", JSON, b'{"prompt": "hi"}', {"content-length": "1_6"}, 400, "invalid_content_length"),
    ("content-length-short", JSON, b'{"prompt": "hi"}', {"content-length": "4"}, 400, "content_length_mismatch"),
    ("content-length-long", JSON, b'{"prompt": "hi"}', {"content-length": "400"}, 400, "content_length_mismatch"),
    ("content-length-huge", JSON, b'{"prompt": "hi"}', {"content-length": "9" * 30}, 413, "body_too_large"),
]  # fmt: skip


@pytest.mark.parametrize(
    "content_type, body, headers, status, error",
    [case[1:] for case in MIDDLEWARE_CASES],
    ids=[case[0] for case in MIDDLEWARE_CASES],
)
async def test_middleware_refuses_with_a_json_reason(content_type, body, headers, status, error):
    recorder, app = guarded()
    headers = dict(headers)
    if content_type is not None:
        headers["content-type"] = content_type
    with client(app) as c:
        response = await c.post("/chat", content=body, headers=headers)
    assert assert_json_reason(response, status)["error"] == error
    assert recorder.bodies == []


async def test_middleware_refuses_an_oversized_chunked_body_before_buffering_it():
    recorder, app = guarded()
    with client(app) as c:
        response = await c.post(
            "/chat", content=chunked(b"a" * (4 * LIMIT)), headers={"content-type": "text/plain"}
        )
    assert assert_json_reason(response, 413)["error"] == "body_too_large"
    assert recorder.bodies == []


async def test_the_same_requests_made_valid_reach_the_app():
    """The control: what the cases above break is accepted when whole."""
    recorder, app = guarded()
    ok = [
        (JSON, b'{"prompt": "hello"}'),
        ("text/plain", "café".encode()),
        ("image/png", png(1, 1)),
        (JSON, json.dumps({"prompt": data_url(png(8, 8))}).encode()),
        (MULTIPART, multipart(field("q", b"hello"), upload("f", png(2, 2)))),
        ("application/x-www-form-urlencoded", b"q=hello"),
    ]
    with client(app) as c:
        for content_type, body in ok:
            response = await c.post("/chat", content=body, headers={"content-type": content_type})
            assert response.status_code == 200, (content_type, response.text)
        no_length = await c.post(  # chunked: no Content-Length at all
            "/chat", content=chunked(b'{"prompt": "hi"}', 3), headers={"content-type": JSON}
        )
        assert no_length.status_code == 200
    assert recorder.bodies == [body for _, body in ok] + [b'{"prompt": "hi"}']


async def test_middleware_refuses_a_bomb_uploaded_as_a_file():
    recorder, app = guarded()
    with client(app) as c:
        response = await c.post(
            "/chat", content=multipart(upload("f", BOMB)), headers={"content-type": MULTIPART}
        )
    assert assert_json_reason(response, 413)["error"] == "image_too_large"
    assert recorder.bodies == []


class Gunzipping(RecordingApp):
    """An app that honours ``Content-Encoding: gzip`` (as FastAPI's GzipRequest recipe does)."""

    async def __call__(self, scope, receive, send) -> None:
        await super().__call__(scope, receive, send)
        if self.requests and dict(scope["headers"]).get(b"content-encoding") == b"gzip":
            last = self.requests[-1]
            self.requests[-1] = dataclasses.replace(last, body=gzip.decompress(last.body))


@pytest.mark.parametrize(
    "content_type, plain",
    [
        ("text/plain; charset=latin-1", b"the word is zyzzyva"),
        ("application/x-www-form-urlencoded; charset=latin-1", b"q=the+word+is+zyzzyva"),
    ],
)
async def test_middleware_never_passes_compressed_content_unchecked(content_type, plain):
    recorder = Gunzipping()
    app = GuardrailsMiddleware(recorder, policy=ENGINE, max_body_size=LIMIT)
    headers = {"content-type": content_type, "content-encoding": "gzip"}
    with client(app) as c:
        response = await c.post("/chat", content=gzip.compress(plain), headers=headers)
    assert response.status_code in (400, 413, 415)
    assert not any(b"zyzzyva" in body for body in recorder.bodies)


def test_the_image_decoder_refuses_bombs_without_decoding_them():
    from guardrails.embedders.images import image_size, open_image
    from guardrails.errors import InputError

    assert image_size(png(3, 2)) == (3, 2)
    assert image_size(BOMB) is None and image_size(OVER) == (9_000, 9_000)
    with pytest.raises(InputError):
        image_size(CUT)
    started = time.perf_counter()
    for data in (BOMB, OVER):
        with pytest.raises(InputError, match=r"too large|exceeds the limit"):
            open_image(data)
    assert time.perf_counter() - started < 2.0  # refused from the header, not decoded


# (id, content type, body, extra headers, status, error) for /v1/moderate
SERVICE_CASES = [
    ("json-cut", JSON, b'{"input": ', {}, 400, "invalid_json"),
    ("json-100k-arrays", JSON, b"[" * 100_000, {}, 400, "invalid_json"),
    ("json-100k-nested-input", JSON, b'{"input":' + b"[" * 100_000 + b"]" * 100_000 + b"}", {}, 400, "invalid_json"),
    ("json-5000-digits", JSON, b'{"input": 1' + b"0" * 5000 + b"}", {}, 400, "invalid_json"),
    ("json-invalid-utf8", JSON, b'{"input": "\xff\xfe"}', {}, 400, "invalid_json"),
    ("json-not-object", JSON, b"[1, 2]", {}, 400, "invalid_request"),
    ("input-number", JSON, b'{"input": 5}', {}, 400, "invalid_request"),
    ("input-true", JSON, b'{"input": true}', {}, 400, "invalid_request"),
    ("input-nan", JSON, b'{"input": NaN}', {}, 400, "invalid_request"),
    ("images-number", JSON, b'{"input": "x", "images": 5}', {}, 400, "invalid_request"),
    ("images-string", JSON, b'{"input": "x", "images": "abc"}', {}, 400, "invalid_request"),
    ("text-part-not-string", JSON, b'{"input": [{"type": "text", "text": {"a": 1}}]}', {}, 400, "invalid_request"),
    ("prompt-not-string", JSON, b'{"input": "x", "prompt": 5}', {}, 400, "invalid_request"),
    ("text-plain", "text/plain", b"hello", {}, 415, "unsupported_media_type"),
    ("octet-stream", "application/octet-stream", b"\x00", {}, 415, "unsupported_media_type"),
    ("gzip-bomb", JSON, GZIP_BOMB, {"content-encoding": "gzip"}, 415, "unsupported_content_encoding"),
    ("gzip-small", JSON, gzip.compress(b'{"input": "hi"}'), {"content-encoding": "gzip"}, 415, "unsupported_content_encoding"),
    ("multipart-truncated", MULTIPART, multipart(field("input", b"hi"), close=False), {}, 400, "invalid_multipart"),
    ("multipart-cut-mid-part", MULTIPART, multipart(field("input", b"hello"))[:-20], {}, 400, "invalid_multipart"),
    ("multipart-no-boundary", "multipart/form-data", multipart(field("input", b"hi")), {}, 400, "invalid_multipart"),
    ("multipart-oversized", MULTIPART, multipart(field("input", b"a" * LIMIT)), {}, 413, "too_large"),
    ("oversized", JSON, b'{"input": "' + b"a" * LIMIT + b'"}', {}, 413, "too_large"),
    ("content-length-negative", JSON, b'{"input": "hi"}', {"content-length": "-1"}, 400, "invalid_content_length"),
    ("content-length-text", JSON, b'{"input": "hi"}', {"content-length": "ten"}, 400, "invalid_content_length"),
    ("content-length-short", JSON, b'{"input": "hi"}', {"content-length": "3"}, 400, "content_length_mismatch"),
    ("content-length-long", JSON, b'{"input": "hi"}', {"content-length": "300"}, 400, "content_length_mismatch"),
    ("content-length-huge", JSON, b'{"input": "hi"}', {"content-length": "9" * 30}, 413, "too_large"),
]  # fmt: skip


@pytest.mark.parametrize(
    "content_type, body, headers, status, error",
    [case[1:] for case in SERVICE_CASES],
    ids=[case[0] for case in SERVICE_CASES],
)
async def test_service_refuses_with_a_json_reason(content_type, body, headers, status, error):
    headers = {"content-type": content_type, **headers}
    with client(service()) as c:
        for route in ("/v1/moderate", "/v1/classify"):
            response = await c.post(route, content=body, headers=headers)
            if route == "/v1/classify" and response.status_code == 404:
                continue  # the body was read and valid, the model is unknown: also a JSON 4xx
            assert assert_json_reason(response, status)["error"] == error


async def test_service_answers_bad_images_per_item_without_decoding_them():
    images = [data_url(BOMB), base64.b64encode(OVER).decode(), data_url(CUT), data_url(png(2, 2))]
    with client(service()) as c:
        response = await c.post("/v1/moderate", json={"input": "hi", "images": images})
        files = [("f", ("a.png", BOMB, "image/png")), ("g", ("b.txt", b"hello", "text/plain"))]
        uploads = await c.post("/v1/moderate", data={"input": "x"}, files=files)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["ok", "error", "error", "error", "ok"]
    assert "pixel limit" in results[1]["error"] and "pixel limit" in results[2]["error"]
    assert "not a readable image" in results[3]["error"]
    assert [r["status"] for r in uploads.json()["results"]] == ["ok", "error", "ok"]


# -- property-based: any JSON, any bytes --------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["input", "text", "image_url", "data:image/png;base64,AAAA", data_url(BOMB)]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["input", "images", "type", "text", "image_url", "url", "prompt",
                             "direction", "format", "model", "top_k", "messages", "content"])
            | st.text(max_size=6),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)  # fmt: skip
service_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"input": json_values}, optional={"images": json_values,
                          "prompt": json_values, "direction": json_values}),
)  # fmt: skip


def run(coro):
    return asyncio.run(coro)


@FUZZ
@given(service_bodies)
def test_any_json_gets_an_answer_never_a_500(document):
    app = service()

    async def go():
        with client(app) as c:
            raw = json.dumps(document).encode()
            for route in ("/v1/moderate", "/v1/classify"):
                response = await c.post(route, content=raw, headers={"content-type": JSON})
                assert response.status_code < 500, response.text[:300]
                payload = response.json()
                if response.status_code >= 400:
                    assert isinstance(payload["error"], str)
                elif route == "/v1/moderate":
                    assert payload["verdict"] in ("allow", "flag", "block")

    run(go())


def _place(secret: str):
    """Documents that hold ``secret`` where the middleware's default paths look for content."""
    text = st.text(max_size=10).map(lambda t: f"{t} {secret} {t}")
    part = text.map(lambda t: {"type": "text", "text": t})
    content = st.one_of(text, st.lists(part, min_size=1, max_size=3), part)
    message = content.map(lambda c: {"role": "user", "content": c})
    return st.one_of(
        st.fixed_dictionaries({"prompt": text}),
        st.fixed_dictionaries({"input": st.one_of(text, st.lists(text, min_size=1, max_size=3))}),
        st.fixed_dictionaries({"messages": st.lists(message, min_size=1, max_size=3)}),
    )


@FUZZ
@given(_place(AWS_KEY), st.dictionaries(st.sampled_from(["model", "n", "stream", "user"]),
                                        json_scalars, max_size=3))  # fmt: skip
def test_the_app_never_receives_a_blocked_secret(document, extra):
    recorder, app = guarded()

    async def go():
        with client(app) as c:
            return await c.post("/chat", json={**extra, **document})

    response = run(go())
    assert assert_json_reason(response, 400)["error"] == "content_blocked"
    assert AWS_KEY not in response.text
    assert recorder.bodies == []


content_types = st.sampled_from(
    [JSON, "application/json; charset=latin-1", "text/plain", "text/plain; charset=utf-16",
     "application/x-www-form-urlencoded", MULTIPART, "multipart/form-data; boundary=",
     "image/png", "image/gif", "application/octet-stream", "", "*/*", "text/html; charset=\"",
     "application/vnd.api+json"]
)  # fmt: skip
prefixes = st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"--XyZ\r\n", b'{"prompt": ', b"GIF89a"])


@FUZZ
@given(content_types, prefixes, st.binary(max_size=300))
def test_any_bytes_of_any_type_get_an_answer_never_a_500(content_type, prefix, data):
    recorder, app = guarded()
    body = prefix + data

    async def go():
        with client(app) as c:
            guarded_answer = await c.post(
                "/chat", content=body, headers={"content-type": content_type}
            )
        with client(service()) as c:
            service_answer = await c.post("/v1/moderate", content=body,
                                          headers={"content-type": content_type})  # fmt: skip
        return guarded_answer, service_answer

    guarded_answer, service_answer = run(go())
    for response in (guarded_answer, service_answer):
        assert response.status_code < 500, response.text[:300]
        if response.status_code >= 400:
            assert_json_reason(response)
    if guarded_answer.status_code == 200:
        assert recorder.bodies == [body]
    else:
        assert recorder.bodies == []


# -- a real uvicorn: bodies that trickle, stop, or lie -------------------------------------------


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
