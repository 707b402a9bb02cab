"""Incremental moderation of streamed text (LLM tokens): text is released only after it
has been checked, and never cut inside a word.

Feed pieces as they arrive; :meth:`StreamChecker.feed` returns the text now safe to send
(redacted where the policy redacts), or raises :class:`StreamBlocked`. Each check covers the
unreleased text plus ``overlap`` characters of released context. The last ``hold`` characters
are checked but held back until the next window has been checked with them, so a phrase or a
secret that straddles a window boundary is never released in part; a redaction span that
reaches the cut moves the cut before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from guardrails.decision import Action, Decision, Direction
from guardrails.engine import Engine, apply_redactions, replacement_for

__all__ = ["StreamBlocked", "StreamChecker"]


class StreamBlocked(Exception):
    """The stream must stop here; ``decision`` says why. Nothing unchecked was released."""

    def __init__(self, decision: Decision) -> None:
        super().__init__("stream blocked")
        self.decision = decision


@dataclass
class StreamChecker:
    engine: Engine
    prompt: str | None = None
    window: int = 256
    overlap: int = 128
    hold: int | None = None  # default: half the window
    direction: Direction = Direction.OUTPUT
    decisions: list[Decision] = field(default_factory=list)
    _pending: str = ""
    _context: str = ""

    async def feed(self, piece: str) -> str:
        """Add streamed text; return what may be released now ("" while holding back)."""
        self._pending += piece
        if len(self._pending) < self.window:
            return ""
        hold = self.window // 2 if self.hold is None else self.hold
        limit = len(self._pending) - hold
        cut = _last_boundary(self._pending, limit)
        if cut == 0 and len(self._pending) >= 4 * self.window:
            cut = limit  # one endless "word" (no whitespace at all): cut it anyway
        return await self._release(cut)

    async def close(self) -> str:
        """End of stream: check and release everything still held back."""
        if not self._pending:
            return ""
        return await self._release(len(self._pending), final=True)

    async def _release(self, cut: int, final: bool = False) -> str:
        if cut <= 0 and not final:
            return ""
        offset = len(self._context)
        checked = self._context + self._pending
        decision = await self.engine.acheck(checked, direction=self.direction, prompt=self.prompt)
        self.decisions.append(decision)
        if decision.blocked:
            raise StreamBlocked(decision)
        spans = [
            ((f.span[0] - offset, f.span[1] - offset), replacement_for(f))
            for f in decision.findings
            if f.action is Action.REDACT and f.span is not None and f.span[1] > offset
        ]
        if not final:  # never release part of a redaction: cut before any span crossing it
            for (start, end), _ in spans:
                if start < cut < end:
                    cut = _last_boundary(self._pending, max(start, 0))
        if cut <= 0:
            return ""
        segment, self._pending = self._pending[:cut], self._pending[cut:]
        inside = [((max(a, 0), min(b, cut)), r) for (a, b), r in spans if a < cut]
        self._context = (self._context + segment)[-self.overlap :] if self.overlap else ""
        return apply_redactions(segment, inside) if inside else segment


def _last_boundary(text: str, limit: int) -> int:
    """Index just after the last whitespace at or before ``limit``: a cut there splits no
    word (0 if there is none)."""
    for i in range(min(limit, len(text)) - 1, -1, -1):
        if text[i].isspace():
            return i + 1
    return 0
