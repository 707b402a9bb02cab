"""The request side, in-process through httpx.ASGITransport: verdicts, redaction, bad input."""

from __future__ import annotations

import base64
import json

import pytest
from asgi_apps import AWS_KEY, BANNED, client, make_app, png_bytes

from guardrails.middleware import GuardrailsMiddleware

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello there"}]}


def chat(text: str) -> dict:
    return {
        "model": "m",
        "messages": [{"role": "system", "content": "be nice"}, {"role": "user", "content": text}],
    }


async def test_allowed_request_reaches_the_app_unchanged():
    async with client(make_app()) as c:
        r = await c.post("/echo", json=CHAT)
    assert r.status_code == 200
    assert r.headers["x-guardrails-decision"] == "allow"
    assert r.json()["body"] == CHAT
    assert r.json()["locations"] == ["messages[0].content"]


async def test_aws_key_is_blocked_without_echoing_it():
    async with client(make_app()) as c:
        r = await c.post("/echo", json=chat(f"my key is {AWS_KEY}, why?"))
    assert r.status_code == 400
    assert r.headers["x-guardrails-decision"] == "block"
    body = r.json()
    assert body["error"] == "content_blocked"
    assert body["findings"] == [
        {"step": "secrets", "label": "aws_access_key", "action": "block", "score": 1.0}
    ]
    assert AWS_KEY not in r.text and "AKIA" not in r.text


async def test_block_status_is_configurable():
    async with client(make_app(block_status=422)) as c:
        r = await c.post("/echo", json={"prompt": f"key {AWS_KEY}"})
    assert r.status_code == 422


async def test_flag_passes_with_header_and_state():
    policy = BANNED.__class__.from_string(
        "version: 1\nname: f\nsteps:\n  - {id: rude, kind: keywords, words: [darn], action: flag}\n"
    )
    async with client(make_app(policy=policy)) as c:
        r = await c.post("/echo", json={"prompt": "darn it"})
    assert r.status_code == 200
    assert r.headers["x-guardrails-decision"] == "flag"
    assert r.json()["verdict"] == "flag"  # request.state.guardrails, seen by the endpoint
    assert r.json()["body"] == {"prompt": "darn it"}


async def test_redacted_json_reaches_the_app_with_a_fixed_length():
    async with client(make_app()) as c:
        r = await c.post("/echo", json=chat("mail me at jane.doe@example.com please"))
    assert r.status_code == 200
    assert r.headers["x-guardrails-decision"] == "flag"
    got = r.json()
    assert got["body"]["messages"][1]["content"] == "mail me at [EMAIL] please"
    assert got["body"]["messages"][0]["content"] == "be nice"
    assert int(got["length"]) == len(json.dumps(got["body"], separators=(",", ":")))
    assert "jane.doe" not in r.text


@pytest.mark.parametrize(
    "raw, kept",
    [
        # past 64 bits: a float to the fast parser, written back as sent
        ('{"id": 123456789012345678901234567890, "prompt": "mail a.b@example.com now"}',
         '"id":123456789012345678901234567890'),
        # NaN and a lone surrogate: refused by the fast parser, valid for Python's json
        ('{"temperature": NaN, "prompt": "mail a.b@example.com \\ud800 now"}',
         '"temperature":NaN'),
    ],
)  # fmt: skip
async def test_redaction_writes_back_what_was_sent(raw, kept):
    async with client(make_app()) as c:
        r = await c.post("/raw", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 200
    sent = r.json()["body"]
    assert kept in sent
    assert "[EMAIL]" in sent and "a.b@example.com" not in sent


async def test_content_parts_text_and_data_url_image():
    image = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    parts = [
        {"type": "text", "text": "what is in a.b@example.com's picture?"},
        {"type": "image_url", "image_url": {"url": image}},
    ]
    async with client(make_app()) as c:
        r = await c.post("/echo", json={"messages": [{"role": "user", "content": parts}]})
    assert r.status_code == 200
    got = r.json()
    assert got["locations"] == [
        "messages[0].content[0].text",
        "messages[0].content[1].image_url.url",
    ]
    assert got["body"]["messages"][0]["content"][0]["text"] == "what is in [EMAIL]'s picture?"
    assert got["body"]["messages"][0]["content"][1]["image_url"]["url"] == image


async def test_data_url_that_is_not_an_image_is_refused():
    fake = "data:image/png;base64," + base64.b64encode(b"MZ\x90\x00 not a png").decode()
    part = {"type": "image_url", "image_url": {"url": fake}}
    async with client(make_app()) as c:
        r = await c.post("/echo", json={"messages": [{"role": "user", "content": [part]}]})
        bad = await c.post("/echo", json={"prompt": "data:image/png;base64,@@@"})
    assert r.status_code == 415 and r.json()["error"] == "not_an_image"
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_data_url"


async def test_odd_json_shapes_are_checked_not_crashed_on():
    odd = {"input": [{"type": ["x"], "note": AWS_KEY}, {"type": "audio", "data": "ok"}, 7, None]}
    async with client(make_app()) as c:
        blocked = await c.post("/echo", json=odd)  # unknown shapes: every string is checked
        fine = await c.post(
            "/echo", json={"messages": [{"type": {"a": 1}}, [["deep"]]], "input": 3}
        )
    assert blocked.status_code == 400
    assert fine.status_code == 200


async def test_text_that_merely_starts_with_data_is_text():
    async with client(make_app()) as c:
        r = await c.post("/echo", json={"prompt": "data: 1, 2, 3 - what is the mean?"})
    assert r.status_code == 200


async def test_custom_json_paths_and_nested_keys():
    async with client(make_app(json_paths=["payload.items[*].note"])) as c:
        ok = await c.post("/echo", json={"prompt": AWS_KEY})  # not a configured path
        r = await c.post("/echo", json={"payload": {"items": [{"note": "x"}, {"note": AWS_KEY}]}})
    assert ok.status_code == 200
    assert r.status_code == 400


async def test_urlencoded_form_is_checked_and_redacted():
    async with client(make_app()) as c:
        r = await c.post("/echo", data={"name": "Jane", "msg": "reach me: j@example.com"})
        blocked = await c.post("/echo", data={"msg": f"key={AWS_KEY}"})
    assert r.status_code == 200
    assert r.json()["body"] == "name=Jane&msg=reach+me%3A+%5BEMAIL%5D"
    assert blocked.status_code == 400


async def test_multipart_text_fields_and_image_upload():
    files = {"photo": ("cat.png", png_bytes(), "image/png")}
    async with client(make_app()) as c:
        r = await c.post("/form", data={"caption": "from a@example.com"}, files=files)
        blocked = await c.post("/form", data={"caption": AWS_KEY}, files=files)
    assert r.status_code == 200
    assert r.json() == {"caption": "from [EMAIL]", "photo": "cat.png"}
    assert blocked.status_code == 400


async def test_non_image_upload_is_refused():
    files = {"photo": ("cat.png", b"#!/bin/sh\nrm -rf /\n", "image/png")}
    async with client(make_app()) as c:
        r = await c.post("/form", files=files)
    assert r.status_code == 415
    assert r.json()["error"] == "not_an_image"


async def test_text_file_upload_is_checked_as_text():
    files = {"doc": ("notes.txt", f"creds {AWS_KEY}".encode(), "text/plain")}
    async with client(make_app()) as c:
        r = await c.post("/form", files=files)
    assert r.status_code == 400


async def test_truncated_multipart_is_a_400():
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="caption"\r\n\r\nhello\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="photo"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n"
    )
    async with client(make_app()) as c:
        r = await c.post(
            "/form", content=body, headers={"content-type": "multipart/form-data; boundary=XyZ"}
        )
        missing = await c.post(
            "/form", content=b"x", headers={"content-type": "multipart/form-data"}
        )
    assert r.status_code == 400 and r.json()["error"] == "malformed_multipart"
    assert missing.status_code == 400


async def test_text_plain_body_is_checked_and_redacted():
    async with client(make_app()) as c:
        r = await c.post(
            "/echo", content="ping me at x@example.com", headers={"content-type": "text/plain"}
        )
        blocked = await c.post("/echo", content=AWS_KEY, headers={"content-type": "text/plain"})
    assert r.json()["body"] == "ping me at [EMAIL]"
    assert blocked.status_code == 400


@pytest.mark.parametrize(
    ("content", "content_type", "status", "error"),
    [
        (b'{"messages": [', "application/json", 400, "malformed_json"),
        (b'{"prompt": "caf\xe9"}', "application/json", 400, "invalid_encoding"),
        (b'{"prompt": "hi"}', "application/json; charset=utf-16", 415, "unsupported_charset"),
        (b"hi", "text/plain; charset=klingon", 415, "unsupported_charset"),
        (b"hi", "text/plain; charset=base64", 415, "unsupported_charset"),
        (b"\xff\xfe", "text/plain; charset=utf-8", 400, "invalid_encoding"),
        (b"a=%ff", "application/x-www-form-urlencoded", 400, "invalid_encoding"),
        (b"\x00\x01", "application/octet-stream", 415, "unsupported_media_type"),
        (b"\x00\x01", None, 415, "unsupported_media_type"),
        (b"[" * 100_000, "application/json", 400, "malformed_json"),
    ],
)
async def test_bad_input_gets_a_4xx_json_reason(content, content_type, status, error):
    headers = {"content-type": content_type} if content_type else {}
    async with client(make_app(max_body_size=200_000)) as c:
        r = await c.post("/echo", content=content, headers=headers)
    assert r.status_code == status
    assert r.json()["error"] == error
    assert r.json()["detail"]


async def test_deeply_nested_content_is_a_400_not_a_500():
    nested = '{"prompt": ' + "[" * 5000 + '"x"' + "]" * 5000 + "}"
    async with client(make_app()) as c:
        r = await c.post("/echo", content=nested, headers={"content-type": "application/json"})
    assert r.status_code == 400


async def test_passthrough_types_are_let_through():
    async with client(make_app(passthrough_types=["application/octet-stream"])) as c:
        r = await c.post(
            "/echo", content=b"\x00\x01", headers={"content-type": "application/octet-stream"}
        )
    assert r.status_code == 200


async def test_oversized_content_length_is_refused_before_reading():
    received = []
    app = GuardrailsMiddleware(lambda *a: None, policy=BANNED, max_body_size=100)

    async def receive():
        received.append(1)
        return {"type": "http.request", "body": b"x" * 50, "more_body": True}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-length", b"1000")],
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 413 and received == []
    assert json.loads(sent[1]["body"])["error"] == "body_too_large"


async def test_oversized_chunked_body_is_refused_as_soon_as_it_passes_the_limit():
    received = []
    app = GuardrailsMiddleware(lambda *a: None, policy=BANNED, max_body_size=100)

    async def receive():
        received.append(1)
        return {"type": "http.request", "body": b"x" * 40, "more_body": len(received) < 100}

    sent = []

    async def send(message):
        sent.append(message)

    await app({"type": "http", "method": "POST", "path": "/", "headers": []}, receive, send)
    assert sent[0]["status"] == 413
    assert len(received) == 3  # 120 bytes > 100: stopped, 97 chunks never read


async def test_oversized_over_httpx():
    async with client(make_app(max_body_size=1000)) as c:
        r = await c.post("/echo", content=b"a" * 5000, headers={"content-type": "text/plain"})
    assert r.status_code == 413
    assert r.json()["error"] == "body_too_large"
