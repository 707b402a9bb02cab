"""The same behaviour over a real uvicorn on 127.0.0.1 (the ``live_server`` fixture)."""

from __future__ import annotations

import httpx
from asgi_apps import AWS_KEY, png_bytes, sse_text


async def test_verdicts_over_http(live_server):
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as c:
        allowed = await c.post("/echo", json={"prompt": "hello"})
        blocked = await c.post(
            "/echo", json={"messages": [{"role": "user", "content": f"key {AWS_KEY}"}]}
        )
        redacted = await c.post("/echo", json={"prompt": "mail a.b@example.com"})
        word = await c.post("/echo", json={"prompt": "the launch codes"})
    assert allowed.status_code == 200 and allowed.headers["x-guardrails-decision"] == "allow"
    assert blocked.status_code == 400 and blocked.json()["findings"][0]["step"] == "secrets"
    assert AWS_KEY not in blocked.text
    assert redacted.json()["body"] == {"prompt": "mail [EMAIL]"}
    assert redacted.headers["x-guardrails-decision"] == "flag"
    assert word.status_code == 400


async def test_bad_input_over_http(live_server):
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as c:
        malformed = await c.post(
            "/echo", content=b'{"prompt": ', headers={"content-type": "application/json"}
        )
        utf8 = await c.post("/echo", content=b"\xc3\x28", headers={"content-type": "text/plain"})
        oversized = await c.post(
            "/echo", content=b"x" * 20_000, headers={"content-type": "text/plain"}
        )
        upload = await c.post("/form", files={"f": ("a.png", b"GIF? no", "image/png")})
        image = await c.post("/form", files={"f": ("a.png", png_bytes(), "image/png")})
    assert (malformed.status_code, malformed.json()["error"]) == (400, "malformed_json")
    assert (utf8.status_code, utf8.json()["error"]) == (400, "invalid_encoding")
    assert (oversized.status_code, oversized.json()["error"]) == (413, "body_too_large")
    assert upload.status_code == 415
    assert image.status_code == 200


async def test_oversized_chunked_upload_over_http(live_server):
    async def chunks():
        for _ in range(100):
            yield b"y" * 1000

    async with httpx.AsyncClient(base_url=live_server, timeout=10) as c:
        r = await c.post("/echo", content=chunks(), headers={"content-type": "text/plain"})
    assert r.status_code == 413


async def test_stream_is_cut_over_http(live_server):
    async with (
        httpx.AsyncClient(base_url=live_server, timeout=10) as c,
        c.stream("GET", "/word") as r,
    ):
        events = [line async for line in r.aiter_lines()]
    body = "\n".join(events)
    assert r.status_code == 200
    assert "event: guardrails" in body and '"content_blocked"' in body
    assert "zyz" not in body and "rest" not in sse_text(body)
    assert sse_text(body).startswith("The quick brown fox")


async def test_clean_stream_over_http(live_server):
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as c:
        r = await c.get("/clean")
    assert sse_text(r.text).endswith("the end")
    assert r.text.endswith("data: [DONE]\n\n")
