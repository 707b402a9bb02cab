"""Hostile HTTP for the ``test_http_fuzz_*`` modules: the policy under attack, the bodies that
attack it, and the two apps they are sent to (the middleware over a RecordingApp, and the
service), reached in-process through ``httpx.ASGITransport``.

What every one of those modules holds the middleware and the service to: always a 4xx with a
JSON reason, never a 500, and the wrapped app never receives what was refused.
"""

from __future__ import annotations

import base64
import gzip
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from guardrails import Engine
from guardrails.middleware import GuardrailsMiddleware
from guardrails.server import create_app
from guardrails.testing import RecordingApp

LIMIT = 256 * 1024  # room for 100,000 levels of nesting
ENGINE = Engine.from_string(
    "version: 1\nname: fuzz\nsteps:\n"
    "  - {id: secrets, kind: secrets}\n"
    "  - {id: banned, kind: keywords, words: [zyzzyva]}\n"
    "  - {id: pii, kind: pii, action: redact, entities: [email]}\n"
)


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
