"""Reading a request body once, under a size limit, and replaying it to the app.

The limit is enforced before buffering: a ``Content-Length`` over it is refused without reading
a byte, and a chunked body is counted while it arrives and refused as soon as it passes the
limit. After the replayed body, the app's ``receive`` reaches the server again (for
``http.disconnect``), unless the response was cut: then it reports a disconnect, which stops a
Starlette ``StreamingResponse`` from producing more.
"""

from __future__ import annotations

import asyncio

from starlette.types import Message, Receive

from guardrails.asgi.replies import Rejection

__all__ = ["ClientGone", "Replay", "read_body"]

_DISCONNECT: Message = {"type": "http.disconnect"}


class ClientGone(Exception):
    """The client disconnected before its body was complete: nothing to answer."""


async def read_body(receive: Receive, content_length: str | None, limit: int) -> bytes:
    """The whole request body, or a 413 :class:`Rejection` before buffering past ``limit``."""
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise Rejection(
                400, "invalid_content_length", "Content-Length is not a number"
            ) from None
        if declared > limit:
            raise Rejection(
                413, "body_too_large", f"body of {declared} bytes exceeds the {limit}-byte limit"
            )
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
