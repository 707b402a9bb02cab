"""Hostile HTTP bodies against the middleware and the service, one known case at a time: always a
4xx with a JSON reason, never a 500, and the wrapped app never receives what was refused.

In-process (``httpx.ASGITransport``), for what a body can hold: broken JSON, charsets and
multipart, image bombs as a body, a data URL or an upload, a gzip bomb, a lying Content-Length.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import time

import pytest
from hostile_http import (
    BOMB,
    CUT,
    ENGINE,
    GZIP_BOMB,
    JSON,
    LIMIT,
    MULTIPART,
    OVER,
    assert_json_reason,
    client,
    data_url,
    field,
    guarded,
    multipart,
    png,
    service,
    upload,
)

from guardrails.middleware import GuardrailsMiddleware
from guardrails.testing import RecordingApp


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
