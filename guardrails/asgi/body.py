"""Reading a request body once, under a size and a time limit, and replaying it to the app.

The size limit is enforced before buffering: a ``Content-Length`` over it is refused without
reading a byte, and a chunked body is counted while it arrives and refused as soon as it passes
the limit. A ``Content-Length`` that is not a non-negative integer, or that the body does not
match, is a 400. The whole body must arrive within :data:`BODY_TIMEOUT` seconds: a client that
trickles bytes, or declares more than it sends and waits, gets a 408 instead of holding the
request open (uvicorn itself has no such limit). After the replayed body, the app's ``receive``
reaches the server again (for ``http.disconnect``), unless the response was cut: then it
reports a disconnect, which stops a Starlette ``StreamingResponse`` from producing more.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from starlette.types import Message, Receive

from guardrails.asgi.replies import Rejection

__all__ = ["BODY_TIMEOUT", "ClientGone", "Replay", "read_body"]

BODY_TIMEOUT = 60.0
"""Seconds a whole request body may take to arrive (read when a body is read, so a test or an
app may change it); like Node's ``requestTimeout``, it bounds slow-body (slowloris) clients."""

_DISCONNECT: Message = {"type": "http.disconnect"}


class ClientGone(Exception):
    """The client disconnected before its body was complete: nothing to answer."""


async def read_body(
    receive: Receive, content_length: str | None, limit: int, *, timeout: float | None = None
) -> bytes:
    """The whole request body, or a :class:`Rejection`: 413 before buffering past ``limit``,
    408 if it takes over ``timeout`` seconds (default :data:`BODY_TIMEOUT`), 400 for a bad or
    lying ``Content-Length``."""
    declared = None
    if content_length is not None:
        if not (content_length.isascii() and content_length.isdigit()):
            raise Rejection(
                400, "invalid_content_length", "Content-Length is not a non-negative integer"
            )
        declared = int(content_length)
        if declared > limit:
            raise Rejection(
                413, "body_too_large", f"body of {declared} bytes exceeds the {limit}-byte limit"
            )
    seconds = BODY_TIMEOUT if timeout is None else timeout
    task = asyncio.current_task()
    if task is None:  # not in a task (no ASGI server calls an app so): nothing to cancel
        body = await _receive_all(receive, limit)
    else:
        deadlines = _deadlines(task.get_loop())
        deadlines.watch(task, seconds)
        cancelling = task.cancelling()
        try:
            body = await _receive_all(receive, limit)
        except asyncio.CancelledError:
            # ours if the read was past its deadline and nobody else cancelled the task too
            if not deadlines.expired(task) or task.uncancel() > cancelling:
                raise
            raise Rejection(
                408, "body_timeout", f"the request body did not arrive within {seconds:g} s"
            ) from None
        finally:
            deadlines.forget(task)
    if declared is not None and len(body) != declared:
        raise Rejection(
            400,
            "content_length_mismatch",
            f"Content-Length says {declared} bytes, the body has {len(body)}",
        )
    return body


async def _receive_all(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise Rejection(413, "body_too_large", f"body exceeds the {limit}-byte limit")
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class _Deadlines:
    """The body reads of one event loop that have a deadline, checked every :data:`_TICK` s.

    A timer per request (``asyncio.timeout``) would cost about as much as the rest of the
    middleware; a dict entry per request costs nothing, and one check a tick is shared by all.
    A read past its deadline is cancelled, and :func:`read_body` turns that into a 408.
    """

    __slots__ = ("__weakref__", "_cancelled", "_handle", "_reads")

    def __init__(self) -> None:
        self._reads: dict[asyncio.Task[Any], float] = {}
        self._cancelled: set[asyncio.Task[Any]] = set()
        self._handle: asyncio.TimerHandle | None = None

    def watch(self, task: asyncio.Task[Any], seconds: float) -> None:
        loop = task.get_loop()
        self._reads[task] = loop.time() + seconds
        if self._handle is None:
            self._handle = loop.call_later(min(_TICK, seconds), self._check, loop)

    def forget(self, task: asyncio.Task[Any]) -> None:
        self._reads.pop(task, None)
        self._cancelled.discard(task)

    def expired(self, task: asyncio.Task[Any]) -> bool:
        return task in self._cancelled

    def _check(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for task, deadline in list(self._reads.items()):
            if deadline <= now:
                del self._reads[task]
                self._cancelled.add(task)
                task.cancel()
        self._handle = loop.call_later(_TICK, self._check, loop) if self._reads else None


_TICK = 0.1  # a 408 comes at most this long after its deadline
_LOOPS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Deadlines] = (
    weakref.WeakKeyDictionary()
)


_last: tuple[weakref.ref[asyncio.AbstractEventLoop], _Deadlines] | None = None
"""The loop of the last read and its deadlines: a server runs one loop (per thread), and a
weak-keyed lookup costs more than the rest of the bookkeeping together."""


def _deadlines(loop: asyncio.AbstractEventLoop) -> _Deadlines:
    global _last
    last = _last
    if last is not None and last[0]() is loop:
        return last[1]
    deadlines = _LOOPS.get(loop)
    if deadlines is None:
        deadlines = _LOOPS[loop] = _Deadlines()
    _last = (weakref.ref(loop), deadlines)
    return deadlines


class Replay:
    """The app's ``receive``: the checked body once, then the server's own messages."""

    __slots__ = ("_body", "_cut", "_receive")

    def __init__(self, receive: Receive, body: bytes, cut: asyncio.Event | None = None) -> None:
        self._receive = receive
        self._body: bytes | None = body
        self._cut = cut

    async def __call__(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        if self._cut is None:
            return await self._receive()
        if self._cut.is_set():
            return _DISCONNECT
        server = asyncio.ensure_future(self._receive())
        cut = asyncio.ensure_future(self._cut.wait())
        try:
            await asyncio.wait((server, cut), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (server, cut):
                if not task.done():
                    task.cancel()
        return server.result() if server.done() and not server.cancelled() else _DISCONNECT
