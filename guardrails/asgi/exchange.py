"""One HTTP exchange through the middleware: the per-request responder.

Reads and checks the request body, answers a block or bad input itself, otherwise calls the
app with the (possibly redacted) body replayed, the decision in ``scope["state"]`` and a
``send`` that adds ``X-Guardrails-Decision`` (and checks the response, when asked to).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from guardrails.asgi.body import ClientGone, Replay, read_body
from guardrails.asgi.extract import check_items
from guardrails.asgi.replies import Rejection, block_payload, send_json, with_header
from guardrails.asgi.response import ResponseGuard
from guardrails.asgi.settings import Settings
from guardrails.decision import Decision, Direction, Finding, Verdict, slot_setters
from guardrails.engine import Engine
from guardrails.errors import InputError

__all__ = ["Exchange", "RequestModeration"]

logger = logging.getLogger("guardrails.middleware")


@dataclass(frozen=True, slots=True)
class RequestModeration:
    """What the middleware decided about a request: ``request.state.guardrails``.

    ``decisions[i]`` is about the content found at ``locations[i]`` (``messages[0].content``,
    ``form field 'q'``, ``body``...). ``redacted`` says the app received redacted content.
    Like the decisions, it never holds the content itself.
    """

    verdict: Verdict
    decisions: tuple[Decision, ...] = ()
    locations: tuple[str, ...] = ()
    redacted: bool = False

    @classmethod
    def _trusted(
        cls,
        verdict: Verdict,
        decisions: tuple[Decision, ...],
        locations: tuple[str, ...],
        redacted: bool,
    ) -> RequestModeration:
        """Straight into the slots: one per request, on the middleware's hot path."""
        moderation = _new(cls)
        _SET_VERDICT(moderation, verdict)
        _SET_DECISIONS(moderation, decisions)
        _SET_LOCATIONS(moderation, locations)
        _SET_REDACTED(moderation, redacted)
        return moderation

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for d in self.decisions for f in d.findings)

    def to_dict(self) -> dict[str, Any]:
        """Safe to log or return: locations and decisions, never the content."""
        return {
            "verdict": self.verdict.value,
            "redacted": self.redacted,
            "items": [
                {"location": where, **d.to_dict()}
                for where, d in zip(self.locations, self.decisions, strict=True)
            ],
        }


_new = object.__new__
_SET_VERDICT, _SET_DECISIONS, _SET_LOCATIONS, _SET_REDACTED = slot_setters(
    RequestModeration, "verdict", "decisions", "locations", "redacted"
)


class _WithHeader:
    """``send`` adding the decision header to the response start."""

    __slots__ = ("_send", "_verdict")

    def __init__(self, send: Send, verdict: Verdict) -> None:
        self._send, self._verdict = send, verdict

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            message = with_header(message, self._verdict)
        await self._send(message)


class Exchange:
    """Per request; never shared."""

    __slots__ = ("app", "engine", "receive", "scope", "send", "settings")

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        app: ASGIApp,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        self.settings, self.engine, self.app = settings, engine, app
        self.scope, self.receive, self.send = scope, receive, send

    async def run(self) -> None:
        s, scope = self.settings, self.scope
        length = kind = coding = repeated = None
        for key, value in scope["headers"]:
            if key == b"content-length":
                if length is not None:
                    repeated = key
                length = value.decode("latin-1")
            elif key == b"content-type":
                if kind is not None:
                    repeated = key
                kind = value.decode("latin-1")
            elif key == b"content-encoding":
                if coding is not None:
                    repeated = key
                coding = value.strip().lower()
        try:
            if repeated is not None:
                # Apps disagree on which copy counts (Starlette reads the first): the body
                # would be checked as one thing and read as another.
                detail = f"more than one {repeated.decode().title()} header"
                raise Rejection(400, "duplicate_header", detail)
            if coding is not None and coding not in (b"identity", b""):
                # Compressed bytes cannot be checked as they stand, and an app that inflates
                # them would get content nobody checked; inflating here invites bombs.
                raise Rejection(
                    415, "unsupported_content_encoding", "send the body uncompressed (identity)"
                )
            body = await read_body(self.receive, length, s.max_body_size)
            parsed = s.extractor.parse(body, kind)
            decisions = await check_items(self.engine, parsed.items, Direction.INPUT, None)
        except ClientGone:
            return
        except Rejection as exc:
            logger.info("guardrails refused %s %s: %s", scope["method"], scope["path"], exc.error)
            await send_json(self.send, exc.status, exc.payload())
            return
        except InputError as exc:  # image bytes the engine could not decode
            await send_json(self.send, 400, {"error": "invalid_image", "detail": str(exc)})
            return
        except Exception as exc:  # fail closed: the engine already applied per-step on_error
            logger.error("request check failed (%s): failing closed", type(exc).__name__)
            detail = "the request could not be checked"
            await send_json(self.send, 503, {"error": "moderation_unavailable", "detail": detail})
            return
        verdict = Verdict.ALLOW
        redacted: dict[int, str] = {}  # item index -> its redacted text
        for i, decision in enumerate(decisions):
            if decision.verdict is not verdict and decision.verdict.rank > verdict.rank:
                verdict = decision.verdict
            if decision.redacted_text is not None and isinstance(parsed.items[i].content, str):
                redacted[i] = decision.redacted_text
        s.report(decisions, scope["path"])
        if verdict is Verdict.BLOCK:
            reasons = sorted({f"{f.step}:{f.label}" for d in decisions for f in d.reasons})
            logger.info("guardrails blocked %s %s: %s", scope["method"], scope["path"], reasons)
            if s.enforce:
                payload = block_payload(decisions, "input")
                await send_json(self.send, s.block_status, payload, Verdict.BLOCK)
                return
        state = scope.setdefault("state", {})
        redacting = bool(redacted) and s.enforce
        if redacting:
            body = parsed.rewrite(redacted)
            scope = {**scope, "headers": _with_length(scope["headers"], len(body))}
        locations = tuple([item.where for item in parsed.items])
        state["guardrails"] = RequestModeration._trusted(
            verdict, tuple(decisions), locations, redacting
        )
        if not s.check_responses:
            await self.app(scope, Replay(self.receive, body), _WithHeader(self.send, verdict))
            return
        extensions = scope.get("extensions") or {}
        if "http.response.pathsend" in extensions or "http.response.zerocopysend" in extensions:
            # a file sent by path would bypass the check: make the app send its bytes
            kept = {k: v for k, v in extensions.items() if not k.startswith("http.response.")}
            scope = {**scope, "extensions": kept}
        texts = [item.content for item in parsed.items if isinstance(item.content, str)]
        cut = asyncio.Event()
        guard = ResponseGuard(
            self.send,
            s,
            self.engine,
            prompt="\n".join(texts) or None,
            verdict=verdict,
            path=scope["path"],
            head=scope["method"] == "HEAD",
            cut=cut,
        )
        try:
            await self.app(scope, Replay(self.receive, body, cut), guard)
        except Exception:
            if not cut.is_set():
                raise
            # the app failed to write after its response was cut (e.g. ClientDisconnect)


def _with_length(headers: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in headers if k not in (b"content-length", b"transfer-encoding")]
    return [*kept, (b"content-length", str(length).encode())]
