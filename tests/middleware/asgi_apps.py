"""Apps, policies and helpers shared by the middleware tests (imported as ``asgi_apps``)."""

from __future__ import annotations

import json
import socket
import struct
import zlib
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

from guardrails import Engine
from guardrails.testing import asgi_client as client  # noqa: F401  (the tests' client)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "policies" / "default.yaml"
CHAT = ROOT / "policies" / "chat.yaml"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"

DEFAULT_ENGINE = Engine.from_path(DEFAULT)  # loaded once: each app reuses it
BANNED = Engine.from_string(
    "version: 1\nname: banned\nsteps:\n"
    "  - {id: pii, kind: pii, action: redact, entities: [email]}\n"
    "  - {id: secrets, kind: secrets}\n"
    "  - {id: banned, kind: keywords, words: [zyzzyva, launch codes]}\n"
)


def png_bytes() -> bytes:
    """A valid 1x1 PNG, built without Pillow."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


async def echo(request: Request) -> JSONResponse:
    """What the app received: its body (parsed as JSON when it is), and the decision."""
    raw = await request.body()
    moderation = getattr(request.state, "guardrails", None)
    try:
        body = json.loads(raw)
    except ValueError:
        body = raw.decode("utf-8", "replace")
    return JSONResponse(
        {
            "body": body,
            "length": request.headers.get("content-length"),
            "verdict": moderation.verdict.value if moderation else None,
            "locations": list(moderation.locations) if moderation else None,
        }
    )


async def raw_echo(request: Request) -> JSONResponse:
    """The body the app received, as text."""
    return JSONResponse({"body": (await request.body()).decode("utf-8", "surrogatepass")})


async def form_echo(request: Request) -> JSONResponse:
    form = await request.form()
    return JSONResponse({k: v if isinstance(v, str) else v.filename for k, v in form.items()})


def token_stream(text: str, *, sse: bool = True, size: int = 3, preface: bool = True):
    """An endpoint streaming ``text`` in ``size``-character tokens (OpenAI-style SSE chunks)."""

    async def endpoint(request: Request) -> StreamingResponse:
        async def tokens():
            if sse and preface:
                yield 'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n'
            for i in range(0, len(text), size):
                piece = text[i : i + size]
                if sse:
                    chunk = {"id": "c1", "choices": [{"index": 0, "delta": {"content": piece}}]}
                    yield f"data: {json.dumps(chunk)}\n\n"
                else:
                    yield piece
            if sse:
                yield "data: [DONE]\n\n"

        media = "text/event-stream" if sse else "text/plain"
        return StreamingResponse(tokens(), media_type=media)

    return endpoint


def sse_text(body: str) -> str:
    """The text a client would show from an OpenAI-style SSE body."""
    out = []
    for line in body.splitlines():
        if line.startswith("data: {") and '"choices"' in line:
            for choice in json.loads(line[6:])["choices"]:
                out.append(choice.get("delta", {}).get("content") or "")
    return "".join(out)


def make_app(**options) -> Starlette:
    from guardrails.middleware import GuardrailsMiddleware

    story = "The quick brown fox jumps over the lazy dog. " * 6
    routes = [
        Route("/echo", echo, methods=["POST", "PUT", "GET"]),
        Route("/skip/echo", echo, methods=["POST"]),
        Route("/chat/echo", echo, methods=["POST"]),
        Route("/form", form_echo, methods=["POST"]),
        Route("/raw", raw_echo, methods=["POST"]),
        Route("/answer", lambda r: PlainTextResponse("write to a.b@example.com"), methods=["GET"]),
        Route("/leak", token_stream(f"{story}here is the key {AWS_KEY} and more after it")),
        Route("/word", token_stream(f"{story}the secret word is zyzzyva then the rest")),
        Route("/clean", token_stream(story + "the end")),
    ]
    app = Starlette(routes=routes)
    options.setdefault("policy", DEFAULT_ENGINE)
    app.add_middleware(GuardrailsMiddleware, **options)
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
