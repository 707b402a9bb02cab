"""The middleware's own answers: bad input (4xx), blocked content, moderation failures.

Every answer is JSON with an ``error`` code. A block names the steps and labels that decided it
(``step``, ``label``, ``action``, ``score``), never the matched text, which may be a secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from starlette.types import Message, Send

from guardrails.decision import Decision, Verdict

__all__ = ["DECISION_HEADER", "Rejection", "block_payload", "send_json", "with_header"]

DECISION_HEADER = b"x-guardrails-decision"


class Rejection(Exception):
    """Content that cannot be checked as sent: answered with ``status`` and a JSON reason."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail

    def payload(self) -> dict[str, str]:
        return {"error": self.error, "detail": self.detail}


def block_payload(decisions: Iterable[Decision], direction: str) -> dict[str, Any]:
    """``{"error": "content_blocked", "direction": ..., "findings": [{step, label, ...}]}``."""
    findings: dict[tuple[str, str], dict[str, Any]] = {}
    for decision in decisions:
        for f in decision.findings:
            if f.verdict is Verdict.BLOCK and (f.step, f.label) not in findings:
                findings[f.step, f.label] = {
                    "step": f.step,
                    "label": f.label,
                    "action": f.action.value,
                    "score": round(f.score, 4),
                }
    return {"error": "content_blocked", "direction": direction, "findings": list(findings.values())}


def with_header(message: Message, verdict: Verdict) -> Message:
    """An ``http.response.start`` message with the decision header added."""
    headers = list(message.get("headers", ()))
    headers.append(_HEADERS[verdict])
    message = message.copy()  # the app's own message (and headers) stay as they were
    message["headers"] = headers
    return message


_HEADERS = {verdict: (DECISION_HEADER, verdict.value.encode()) for verdict in Verdict}


async def send_json(
    send: Send,
    status: int,
    payload: dict[str, Any],
    verdict: Verdict | None = None,
) -> None:
    """Send a complete JSON response."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if verdict is not None:
        headers.append((DECISION_HEADER, verdict.value.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
