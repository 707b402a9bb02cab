"""examples/starlette_app.py, driven through httpx in-process."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from guardrails.testing import asgi_client

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "starlette_app.py"
# a complete 1x1 PNG: uploads that claim to be images are checked from their header
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc```\x00\x00\x00\x04\x00\x01\xf6\x178U\x00\x00\x00\x00"
    b"IEND\xaeB`\x82"
)


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("starlette_app_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # FastAPI resolves the annotations through sys.modules
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


async def test_starlette_example(example):
    app = example.create_app()
    async with asgi_client(app) as c:
        ok = await c.post("/comments", json={"text": "nice post, write me at jane@example.com"})
        form = await c.post("/comments", data={"text": "first!"})
        blocked = await c.post("/comments", data={"text": "my key is AKIAIOSFODNN7EXAMPLE"})
        listed = await c.get("/comments")
        avatar = await c.post("/avatar", files={"image": ("me.png", PNG, "image/png")})
        not_image = await c.post("/avatar", files={"image": ("me.png", b"<svg/>", "image/png")})
        health = await c.get("/health")
    assert ok.status_code == 201
    assert ok.json()["text"] == "nice post, write me at [EMAIL]"
    assert ok.json()["moderation"] == "flag"
    assert form.status_code == 201 and form.headers["x-guardrails-decision"] == "allow"
    assert blocked.status_code == 400 and blocked.json()["findings"][0]["step"] == "secrets"
    assert listed.json() == {"comments": ["nice post, write me at [EMAIL]", "first!"]}
    assert avatar.json() == {"filename": "me.png", "bytes": len(PNG)}
    assert not_image.status_code == 415
    assert health.json() == {"ok": True} and "x-guardrails-decision" not in health.headers
