"""The response side: the app's ``send``, checking JSON and text before they leave.

Like starlette's ``GZipMiddleware``, ``http.response.start`` is held back until the body has
been seen, so the status and headers can still change. A JSON or text body with a length is
buffered whole (up to a limit), checked as ``output`` with the request's prompt, then sent,
replaced by the block answer, or rewritten with its redactions. ``text/event-stream`` and text
without a length (LLM streaming) go through a :class:`UnitWindow`: released only once checked,
and cut with a final ``event: guardrails`` error event when a window is blocked.

A compressed body cannot be checked: put compression outside this middleware (a compressed JSON
or text response is answered with 502, failing closed). Other types (images, files) pass.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import Message, Send

from guardrails.asgi.extract import check_items
from guardrails.asgi.media import is_json_type, parse_content_type
from guardrails.asgi.parsed_bodies import Body, TextBody
from guardrails.asgi.replies import Rejection, block_payload, send_json, with_header
from guardrails.asgi.settings import Settings
from guardrails.asgi.sse import SseSplitter, error_event, sse_unit
from guardrails.asgi.streaming import StreamCut, Unit, UnitWindow
from guardrails.decision import Decision, Direction, Verdict
from guardrails.engine import Engine

__all__ = ["ResponseGuard"]

logger = logging.getLogger("guardrails.middleware")
_STREAM_TYPES = frozenset({"application/x-ndjson", "application/jsonl"})


class ResponseGuard:
    """Per request: wraps ``send``. ``cut`` is set once the response was replaced or cut."""

    def __init__(
        self,
        send: Send,
        settings: Settings,
        engine: Engine,
        *,
        prompt: str | None,
        verdict: Verdict,
        path: str,
        head: bool,
        cut: asyncio.Event,
    ) -> None:
        self._send, self._settings, self._engine = send, settings, engine
        self._prompt, self._path, self._head, self.cut = prompt, path, head, cut
        self.verdict = verdict
        self._mode = ""  # pass | buffer | sse | text | done
        self._start: Message = {}
        self._content_type: str | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        self._window: UnitWindow | None = None
        self._seen = 0  # window decisions already reported
        self._splitter: SseSplitter | None = None
        self._decoder: codecs.IncrementalDecoder | None = None
        self._charset = "utf-8"

    async def __call__(self, message: Message) -> None:
        kind, mode = message["type"], self._mode
        if kind == "http.response.start":
            await self._begin(message)
        elif mode == "pass" or kind != "http.response.body":
            if mode != "done":
                await self._send(message)
        elif mode == "buffer":
            await self._buffer(message.get("body", b""), message.get("more_body", False))
        elif mode in ("sse", "text"):
            await self._stream(message.get("body", b""), message.get("more_body", False))
        else:  # "done": the response was replaced or cut; what the app still sends is dropped
            await asyncio.sleep(0)  # a checkpoint, so the disconnect it was told of can stop it

    async def _begin(self, message: Message) -> None:
        length = encoding = None
        for key, value in message.get("headers", ()):
            if key == b"content-type":
                self._content_type = value.decode("latin-1")
            elif key == b"content-length":
                length = value
            elif key == b"content-encoding":
                encoding = value.decode("latin-1").strip().lower()
        mime, params = parse_content_type(self._content_type)
        status = message["status"]
        checkable = is_json_type(mime) or mime.startswith("text/") or mime in _STREAM_TYPES
        if self._head or status < 200 or status in (204, 304) or not checkable:
            self._mode = "pass"
            await self._send(with_header(message, self.verdict))
            return
        self._start, self._charset = message, params.get("charset") or "utf-8"
        if encoding not in (None, "", "identity"):
            self._mode = "pass"
            if self._settings.enforce:
                detail = "compressed responses cannot be checked: compress outside guardrails"
                await self._fail(502, "response_not_checkable", detail)
            else:
                await self._send(with_header(message, self.verdict))
            return
        if mime == "text/event-stream":
            self._mode, self._splitter = "sse", SseSplitter()
        elif is_json_type(mime) or length is not None:
            self._mode = "buffer"
        else:
            self._mode = "text"
            try:
                self._decoder = codecs.getincrementaldecoder(self._charset)("replace")
            except LookupError:
                self._charset = "utf-8"
                self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        if self._mode != "buffer":
            s = self._settings
            self._window = UnitWindow(
                self._check, window=s.stream_window, overlap=s.stream_overlap, enforce=s.enforce
            )

    async def _check(self, text: str) -> Decision:
        return await self._engine.acheck(text, direction=Direction.OUTPUT, prompt=self._prompt)

    async def _buffer(self, body: bytes, more: bool) -> None:
        self._size += len(body)
        self._chunks.append(body)
        if self._size > self._settings.max_response_size:
            if self._settings.enforce:
                await self._fail(502, "response_too_large", "the response is too large to check")
                return
            self._mode = "pass"
            await self._send(with_header(self._start, self.verdict))
            await self._send(
                {"type": "http.response.body", "body": b"".join(self._chunks), "more_body": more}
            )
            return
        if more:
            return
        data = b"".join(self._chunks)
        self._chunks = []
        try:
            parsed = self._parse(data)
            decisions = await check_items(
                self._engine, parsed.items, Direction.OUTPUT, self._prompt
            )
        except Exception as exc:  # fail closed: the engine already applied per-step on_error
            logger.error("response check failed (%s): failing closed", type(exc).__name__)
            await self._fail(503, "moderation_unavailable", "the response could not be checked")
            return
        self._report(decisions)
        if self.verdict is Verdict.BLOCK and self._settings.enforce:
            logger.info("guardrails blocked a response to %s", self._path)
            self._mode = "done"
            self.cut.set()
            payload = block_payload(decisions, "output")
            await send_json(self._send, self._settings.block_status, payload, Verdict.BLOCK)
            return
        redacted = {i: d.redacted_text for i, d in enumerate(decisions) if d.redacted_text}
        start = self._start
        if redacted and self._settings.enforce:
            data = parsed.rewrite(redacted)
            start = {**start, "headers": list(start.get("headers", []))}
            MutableHeaders(raw=start["headers"])["content-length"] = str(len(data))
        self._mode = "pass"
        await self._send(with_header(start, self.verdict))
        await self._send({"type": "http.response.body", "body": data})

    def _parse(self, data: bytes) -> Body:
        try:
            return self._settings.response_extractor.parse(data, self._content_type)
        except Rejection:  # not what its type says: check it as text rather than not at all
            return TextBody(data, self._charset, strict=False)

    async def _stream(self, body: bytes, more: bool) -> None:
        assert self._window is not None
        if self._splitter is not None:
            units = [sse_unit(event) for event in self._splitter.feed(body)]
            if not more and (rest := self._splitter.flush()):
                units.append(sse_unit(rest))
        else:
            assert self._decoder is not None
            text = self._decoder.decode(body, final=not more)
            units = [_text_unit(text, self._charset)] if text else []
        out: list[bytes] = []
        try:
            for unit in units:
                out += await self._window.feed(unit)
            if not more:
                out += await self._window.close()
        except StreamCut as cut:
            self._report_window()
            await self._cut(block_payload([cut.decision], "output"))
            return
        except Exception as exc:
            logger.error("stream check failed (%s): failing closed", type(exc).__name__)
            await self._cut({"error": "moderation_unavailable", "direction": "output"}, 503)
            return
        self._report_window()
        if out or not more:
            await self._start_stream()
            await self._send(
                {"type": "http.response.body", "body": b"".join(out), "more_body": more}
            )
        if not more:
            self._mode = "pass"

    async def _start_stream(self) -> None:
        if self._start:
            start, self._start = self._start, {}
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            await self._send(with_header({**start, "headers": headers}, self.verdict))

    async def _cut(self, payload: dict[str, object], status: int | None = None) -> None:
        logger.info("guardrails cut a streamed response to %s", self._path)
        sse, self._mode = self._mode == "sse", "done"
        self.cut.set()
        if self._start:  # nothing was released yet: answer as a non-streamed block
            verdict = Verdict.BLOCK if status is None else None
            await send_json(self._send, status or self._settings.block_status, payload, verdict)
            return
        tail = error_event(payload) if sse else b""
        await self._send({"type": "http.response.body", "body": tail, "more_body": False})

    async def _fail(self, status: int, error: str, detail: str) -> None:
        self._mode = "done"
        self.cut.set()
        await send_json(self._send, status, {"error": error, "detail": detail})

    def _report_window(self) -> None:
        assert self._window is not None
        self._report(self._window.decisions[self._seen :])
        self._seen = len(self._window.decisions)

    def _report(self, decisions: Sequence[Decision]) -> None:
        for decision in decisions:
            if decision.verdict > self.verdict:
                self.verdict = decision.verdict
        self._settings.report(decisions, self._path)


def _text_unit(text: str, charset: str) -> Unit:
    def rebuild(texts: list[str]) -> bytes:
        return "".join(texts).encode(charset, "replace")

    return Unit(text.encode(charset, "replace"), (text,), rebuild)
