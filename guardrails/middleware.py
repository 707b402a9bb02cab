"""``GuardrailsMiddleware``: a pure ASGI middleware that moderates requests and responses.

    app.add_middleware(GuardrailsMiddleware, policy="policies/default.yaml")

For each HTTP request it handles, it reads the body once (refusing one over ``max_body_size``
with 413 before buffering it), finds the content (JSON paths, form fields, multipart text and
image uploads, data URLs, text bodies), checks every item concurrently and acts on the most
severe verdict: **block** answers ``block_status`` with the steps and labels (never the matched
text); **flag** lets the request through with ``X-Guardrails-Decision: flag`` and the decisions
in ``request.state.guardrails``; **redact** hands the app the body with each redacted string in
place. Input it cannot read as the app will (malformed JSON, a charset the app may read
otherwise, truncated multipart, an upload that is not an image, a second Content-Type, -Length
or -Encoding header) gets a 4xx JSON reason and never reaches the app. With
``check_responses``, JSON and text answers are checked too, streams (SSE, chunked text) over a
sliding window that is cut with a final error event on a block. Websocket and lifespan scopes
pass through untouched.

The middleware keeps no per-request state: each request gets its own
:class:`~guardrails.asgi.exchange.Exchange`. ``policy`` may be a path, an
:class:`~guardrails.Engine` or a :class:`~guardrails.reload.LiveEngine`; the current engine is
read per request. A path is hot-reloaded: the policy file and the files it names are looked at
at most once a second, on a request, and an edit loads in a background thread while the old
policy answers; an edit that does not load is logged and the old policy stays in force. (For
another interval, or none, pass ``LiveEngine(path, reload_interval=...)``.)
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from fnmatch import translate
from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from guardrails.asgi.exchange import Exchange, RequestModeration
from guardrails.asgi.extract import Extractor
from guardrails.asgi.jsonpath import compile_path
from guardrails.asgi.settings import DecisionHook, Settings
from guardrails.engine import Engine
from guardrails.reload import LiveEngine

__all__ = ["DEFAULT_JSON_PATHS", "GuardrailsMiddleware", "RequestModeration"]

DEFAULT_JSON_PATHS = ("messages[*].content", "prompt", "input")

PolicySource = str | os.PathLike[str] | Engine | LiveEngine


class _HasEngine(Protocol):
    @property
    def engine(self) -> Engine: ...


class _Fixed:
    __slots__ = ("engine",)

    def __init__(self, engine: Engine) -> None:
        self.engine = engine


def _source(policy: PolicySource | _HasEngine) -> _HasEngine:
    if isinstance(policy, Engine):
        return _Fixed(policy)
    if isinstance(policy, str | os.PathLike):
        return LiveEngine(policy)
    return policy  # a LiveEngine, or anything with an ``engine`` property


def _matcher(pattern: str) -> Callable[[str], bool]:
    """A glob (``/api/*/chat``) or a path prefix that matches whole segments (``/api``). Both
    match a path with one trailing slash (``/api/v1/chat/``) as they match it without."""
    if any(c in pattern for c in "*?["):
        glob = re.compile(translate(pattern.rstrip("/"))).match
        return lambda path: bool(glob(path) or (path[-1:] == "/" and glob(path[:-1])))
    prefix = pattern.rstrip("/")
    return lambda path: not prefix or path == prefix or path.startswith(prefix + "/")


def _route_path(path: str, root_path: str) -> str:
    """The path Starlette routes on (``starlette._utils.get_route_path``): ``path`` less the
    ``root_path`` it starts with, which a ``Mount`` or ``uvicorn --root-path`` sets."""
    if not path.startswith(root_path):
        return path
    if len(path) == len(root_path):
        return ""
    return path[len(root_path) :] if path[len(root_path)] == "/" else path


class GuardrailsMiddleware:
    """Moderates the HTTP traffic of an ASGI app with a guardrails policy (see module doc).

    Options:
        policy: the policy for every route (a path, an ``Engine`` or a ``LiveEngine``).
        json_paths: where the content is in JSON bodies (``messages[*].content``, ``**``...).
        form_fields: the form fields checked (urlencoded and multipart); None: all of them.
            File uploads are always checked (images as images, text files as text).
        include / exclude: path prefixes or globs handled / left alone (exclude wins). Paths
            are the app's own route paths: under a ``Mount("/v1", ...)`` or ``--root-path
            /v1``, ``/chat`` matches a request for ``/v1/chat``.
        methods: the HTTP methods handled; None: all.
        route_policies: path prefix or glob -> policy, the most specific (longest) first.
        max_body_size: bytes of request body accepted; more is refused with 413.
        block_status: the status of a blocked request or response.
        passthrough_types: media types let through unchecked (otherwise 415).
        check_responses: check JSON and text responses and streams (direction output).
        response_json_paths: what is checked in JSON responses (default: every string).
        max_response_size: bytes of a non-streamed response buffered to check (more: 502).
        stream_window / stream_overlap: characters per streamed check / of context and hold.
        shadow: decide, log, report and set headers, but block and redact nothing.
        on_decision: called with each Decision and the request path (audit, metrics).
    """

    def __init__(
        self,
        app: ASGIApp,
        policy: PolicySource,
        *,
        json_paths: Sequence[str] = DEFAULT_JSON_PATHS,
        form_fields: Collection[str] | None = None,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
        methods: Collection[str] | None = None,
        route_policies: Mapping[str, PolicySource] | None = None,
        max_body_size: int = 1024 * 1024,
        block_status: int = 400,
        passthrough_types: Collection[str] = (),
        check_responses: bool = False,
        response_json_paths: Sequence[str] = ("**",),
        max_response_size: int = 8 * 1024 * 1024,
        stream_window: int = 128,
        stream_overlap: int = 64,
        shadow: bool = False,
        on_decision: DecisionHook | None = None,
    ) -> None:
        if stream_window < 1 or stream_overlap < 0 or max_body_size < 0:
            raise ValueError("stream_window must be >= 1, stream_overlap and max_body_size >= 0")
        self.app = app
        self._default = _source(policy)
        routes = sorted((route_policies or {}).items(), key=lambda kv: len(kv[0]), reverse=True)
        self._routes = [(_matcher(p), _source(source)) for p, source in routes]
        self._include = [_matcher(p) for p in include] if include is not None else None
        self._exclude = [_matcher(p) for p in exclude]
        self._methods = frozenset(m.upper() for m in methods) if methods is not None else None
        self._everything = (
            not (self._routes or self._exclude) and methods is None and (include is None)
        )  # every request gets the default policy: nothing to match per request
        self._settings = Settings(
            extractor=Extractor(
                [compile_path(p) for p in json_paths],
                form_fields=form_fields,
                passthrough_types=passthrough_types,
            ),
            response_extractor=Extractor([compile_path(p) for p in response_json_paths]),
            max_body_size=max_body_size,
            block_status=block_status,
            check_responses=check_responses,
            max_response_size=max_response_size,
            stream_window=stream_window,
            stream_overlap=stream_overlap,
            enforce=not shadow,
            on_decision=on_decision,
        )

    def _source_for(self, scope: Scope) -> _HasEngine | None:
        """The policy source for this request, or None to leave it alone. Paths are matched
        as the app's routes are: without the ``root_path`` (the app's mount point)."""
        path: str = scope["path"]
        root_path = scope.get("root_path")
        if root_path:
            path = _route_path(path, root_path)
        if self._methods is not None and scope["method"] not in self._methods:
            return None
        if self._include is not None and not any(match(path) for match in self._include):
            return None
        if any(match(path) for match in self._exclude):
            return None
        for match, source in self._routes:
            if match(path):
                return source
        return self._default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        source = self._default if self._everything else self._source_for(scope)
        if source is None:
            await self.app(scope, receive, send)
            return
        exchange = Exchange(self._settings, source.engine, self.app, scope, receive, send)
        await exchange.run()
