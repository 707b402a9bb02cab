"""The middleware's options, resolved once into an immutable value shared by every request."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from guardrails.asgi.extract import Extractor
from guardrails.decision import Decision

__all__ = ["DecisionHook", "Settings"]

logger = logging.getLogger("guardrails.middleware")

DecisionHook = Callable[[Decision, str], None]
"""Called with every decision and the request path (for audit logs and metrics)."""


@dataclass(frozen=True, slots=True)
class Settings:
    extractor: Extractor
    response_extractor: Extractor
    max_body_size: int
    block_status: int
    check_responses: bool
    max_response_size: int
    stream_window: int
    stream_overlap: int
    enforce: bool
    on_decision: DecisionHook | None

    def report(self, decisions: Iterable[Decision], path: str) -> None:
        """Give each decision to ``on_decision``; a failing hook is logged, not raised."""
        if self.on_decision is None:
            return
        for decision in decisions:
            try:
                self.on_decision(decision, path)
            except Exception as exc:
                logger.error("on_decision hook failed: %s", type(exc).__name__)
