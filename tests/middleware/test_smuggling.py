"""Requests that the middleware and the app behind it could read differently: form charsets,
repeated body headers, a ``root_path`` (a ``Mount``, ``uvicorn --root-path``), trailing slashes.

Each is sent to a real Starlette (or FastAPI) app that records what it read, so a test fails if
content the policy blocks reaches the app, whatever the middleware believed it checked.
"""

from __future__ import annotations

import gzip

import httpx
import pytest
from asgi_apps import AWS_KEY, BANNED, client
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from guardrails import Engine
from guardrails.middleware import GuardrailsMiddleware

LAX = Engine.from_string(
    "version: 1\nname: lax\nsteps:\n  - {id: size, kind: length, max_chars: 100000}\n"
)
METHODS = ["GET", "POST", "PUT"]
B = "XyZ"


class Recorder:
    """A Starlette app that reads each request as an app would (``request.form()`` for forms,
    ``request.json()`` for JSON, else the body) and records the path and what it read."""

    def __init__(self) -> None:
        self.received: list[tuple[str, object]] = []

    async def endpoint(self, request: Request) -> JSONResponse:
        kind = request.headers.get("content-type", "")
        if "form" in kind:
            form = await request.form()
            read: object = [
                (k, v if isinstance(v, str) else v.filename) for k, v in form.multi_items()
            ]
            for _, value in form.multi_items():
                if not isinstance(value, str):
                    read = [*read, (await value.read()).decode("utf-8", "replace")]
        elif "json" in kind:
            read = await request.json()
        else:
            read = (await request.body()).decode("utf-8", "replace")
        self.received.append((request.url.path, read))
        return JSONResponse({"ok": True})

    def app(self, **options) -> Starlette:
        app = Starlette(routes=[Route("/{path:path}", self.endpoint, methods=METHODS)])
        app.add_middleware(GuardrailsMiddleware, **{"policy": BANNED, **options})
        return app

    def leaked(self, text: str = AWS_KEY) -> bool:
        return text in repr(self.received)


def multipart(*parts: bytes, boundary: str = B) -> bytes:
    return b"".join(f"--{boundary}\r\n".encode() + p + b"\r\n" for p in parts) + (
        f"--{boundary}--\r\n".encode()
    )


def part(name: str, content: bytes, *, headers: str = "", filename: str | None = None) -> bytes:
    upload = f'; filename="{filename}"' if filename is not None else ""
    head = f'Content-Disposition: form-data; name="{name}"{upload}\r\n{headers}\r\n'
    return head.encode() + content


def reason(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload.get("detail") or payload.get("findings")  # a reason, or what blocked it
    return payload["error"]


# --- 1. form charsets ------------------------------------------------------------------------

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = f"multipart/form-data; boundary={B}"


@pytest.mark.parametrize("charset", ["utf-16", "utf-16-be", "cp037", "latin-1", "klingon"])
async def test_a_urlencoded_form_labelled_other_than_utf8_is_refused(charset):
    """Starlette reads a urlencoded form as UTF-8 whatever its label: a label the middleware
    honoured let ``q=<secret>`` through as unreadable text."""
    recorder = Recorder()
    body = f"q={AWS_KEY}&z=1&".encode()
    async with client(recorder.app()) as c:
        r = await c.post(
            "/f", content=body, headers={"content-type": f"{URLENCODED}; charset={charset}"}
        )
    assert reason(r, 415) == "unsupported_charset"
    assert recorder.received == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (  # a field's own label: Starlette ignores it
            multipart(
                part("q", AWS_KEY.encode(), headers="Content-Type: text/plain; charset=utf-16\r\n")
            ),
            MULTIPART,
        ),
        (  # a _charset_ field: Starlette ignores it
            multipart(part("_charset_", b"utf-16"), part("q", AWS_KEY.encode())),
            MULTIPART,
        ),
        (  # the form's label: Starlette honours it
            multipart(part("q", AWS_KEY.encode("utf-16-le"))),
            f"{MULTIPART}; charset=utf-16-le",
        ),
        (  # an upload's label: an app may honour it, or not
            multipart(
                part(
                    "doc",
                    AWS_KEY.encode(),
                    headers="Content-Type: text/plain; charset=utf-16\r\n",
                    filename="a.txt",
                )
            ),
            MULTIPART,
        ),
    ],
    ids=["field-label", "_charset_", "form-label", "upload-label"],
)
async def test_a_multipart_form_labelled_other_than_utf8_is_refused(body, content_type):
    recorder = Recorder()
    async with client(recorder.app()) as c:
        r = await c.post("/f", content=body, headers={"content-type": content_type})
    assert reason(r, 415) == "unsupported_charset"
    assert not recorder.leaked()


async def test_raw_non_ascii_in_a_urlencoded_form_is_refused():
    """Starlette reads a raw byte past ASCII as Latin-1: ``ązyzzyva`` sent raw in UTF-8 reaches
    the app as ``Ä\\x85zyzzyva``, where the banned word stands alone."""
    recorder = Recorder()
    async with client(recorder.app()) as c:
        raw = await c.post(
            "/f", content="q=ązyzzyva".encode(), headers={"content-type": URLENCODED}
        )
        encoded = await c.post("/f", data={"q": "ą and ü"})
    assert reason(raw, 400) == "invalid_encoding"
    assert encoded.status_code == 200
    assert recorder.received == [("/f", [("q", "ą and ü")])]


async def test_utf8_forms_are_still_read_checked_and_redacted():
    recorder = Recorder()
    email_form = {"q": "mail me at a.b@example.com", "n": "ü"}
    async with client(recorder.app()) as c:
        labelled = await c.post(
            "/f",
            content=f"q={AWS_KEY}".encode(),
            headers={"content-type": f"{URLENCODED}; charset=UTF-8"},
        )
        redacted = await c.post("/f", data=email_form)
        upload = await c.post(
            "/f",
            data={"_charset_": "UTF-8", "n": "ü"},
            files={"doc": ("a.txt", f"key {AWS_KEY}".encode(), "text/plain; charset=utf-8")},
        )
        clean = await c.post(
            "/f", data={"_charset_": "utf-8"}, files={"doc": ("a.txt", b"hi", "text/plain")}
        )
    assert reason(labelled, 400) == "content_blocked"
    assert reason(upload, 400) == "content_blocked"
    assert redacted.status_code == 200 and clean.status_code == 200
    assert recorder.received == [
        ("/f", [("q", "mail me at [EMAIL]"), ("n", "ü")]),
        ("/f", [("_charset_", "utf-8"), ("doc", "a.txt"), "hi"]),
    ]


# --- 2. repeated Content-Type / Content-Length / Content-Encoding ----------------------------


async def test_a_second_content_type_is_refused_starlette_reads_the_first():
    recorder = Recorder()
    headers = [("content-type", "application/json"), ("content-type", "text/plain; charset=utf-16")]
    async with client(recorder.app()) as c:
        r = await c.post("/j", content=f'{{"prompt":"{AWS_KEY}"}} '.encode(), headers=headers)
    assert reason(r, 400) == "duplicate_header"
    assert "Content-Type" in r.json()["detail"]
    assert recorder.received == []


class Chat(BaseModel):
    prompt: str


async def test_fastapi_never_sees_a_body_sent_with_two_content_types():
    received = []
    app = FastAPI()

    @app.post("/chat")
    async def chat(body: Chat) -> dict[str, bool]:
        received.append(body.prompt)
        return {"ok": True}

    app.add_middleware(GuardrailsMiddleware, policy=BANNED)
    headers = [("content-type", "application/json"), ("content-type", "text/plain; charset=utf-16")]
    async with client(app) as c:
        r = await c.post("/chat", content=f'{{"prompt":"{AWS_KEY}"}} '.encode(), headers=headers)
        ok = await c.post("/chat", json={"prompt": "hello"})
    assert reason(r, 400) == "duplicate_header"
    assert ok.status_code == 200 and received == ["hello"]


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ([("content-type", "application/json"), ("content-length", "15"), ("content-length", "15")],
         b'{"prompt":"hi"}'),
        ([("content-type", "text/plain"), ("content-encoding", "gzip"), ("content-encoding", "identity")],
         gzip.compress(f"key {AWS_KEY}".encode())),
        ([("content-type", "text/plain"), ("content-encoding", "identity"), ("content-encoding", "identity")],
         b"hello"),
    ],
    ids=["content-length", "content-encoding", "same-value-twice"],
)  # fmt: skip
async def test_a_repeated_body_header_is_refused(headers, body):
    recorder = Recorder()
    async with client(recorder.app()) as c:
        r = await c.post("/x", content=body, headers=headers)
    assert reason(r, 400) == "duplicate_header"
    assert recorder.received == []


# --- 3. root_path: a Mount, uvicorn --root-path ----------------------------------------------


async def test_include_exclude_and_route_policies_match_paths_inside_a_mount():
    recorders = [Recorder(), Recorder(), Recorder()]
    included = recorders[0].app(include=["/chat"])
    excluded = recorders[1].app(exclude=["/public"])
    routed = recorders[2].app(route_policies={"/free": LAX})
    app = Starlette(routes=[Mount("/v1", included), Mount("/v2", excluded), Mount("/v3", routed)])
    secret = {"prompt": AWS_KEY}
    async with client(app) as c:
        assert reason(await c.post("/v1/chat", json=secret), 400) == "content_blocked"
        assert (await c.post("/v1/other", json=secret)).status_code == 200  # not included
        assert (await c.post("/v2/public/x", json=secret)).status_code == 200  # excluded
        assert reason(await c.post("/v2/chat", json=secret), 400) == "content_blocked"
        assert (await c.post("/v3/free", json=secret)).status_code == 200  # the lax policy
        assert reason(await c.post("/v3/paid", json=secret), 400) == "content_blocked"
    assert [path for r in recorders for path, _ in r.received] == [
        "/v1/other", "/v2/public/x", "/v3/free"
    ]  # fmt: skip


async def test_paths_are_matched_without_the_servers_root_path():
    """``uvicorn --root-path /api``: the scope's path starts with ``/api``, routes do not."""
    recorder = Recorder()
    app = recorder.app(include=["/chat"], exclude=["/chat/public"])
    transport = httpx.ASGITransport(app=app, root_path="/api")
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        blocked = await c.post("/api/chat", json={"prompt": AWS_KEY})
        public = await c.post("/api/chat/public", json={"prompt": "hi"})
        other = await c.post("/api/other", json={"prompt": AWS_KEY})
        lookalike = await c.post("/apichat", json={"prompt": AWS_KEY})  # not under /api
    assert reason(blocked, 400) == "content_blocked"
    assert public.status_code == other.status_code == lookalike.status_code == 200
    assert [path for path, _ in recorder.received] == ["/api/chat/public", "/api/other", "/apichat"]


# --- 4. trailing slashes ---------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["/api/*/chat", "/api/v?/chat", "/api/*/chat/", "/api/v1/chat"])
async def test_globs_and_prefixes_treat_one_trailing_slash_alike(pattern):
    recorder = Recorder()
    async with client(recorder.app(include=[pattern])) as c:
        for path in ("/api/v1/chat", "/api/v1/chat/"):
            assert reason(await c.post(path, json={"prompt": AWS_KEY}), 400) == "content_blocked"
        assert (await c.post("/api/v1/chatty", json={"prompt": AWS_KEY})).status_code == 200
    assert recorder.received == [("/api/v1/chatty", {"prompt": AWS_KEY})]
