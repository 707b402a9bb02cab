"""Checking a streamed response (LLM tokens) before any of it is released.

A stream is a sequence of :class:`Unit` s: an SSE event or a chunk of text, each carrying the
text pieces it contributes. :class:`UnitWindow` holds units back until their text is checked.
A check runs when ``window`` new characters have arrived and covers, up to the last whitespace
(a word is never split between checks): ``overlap`` characters of already released context, the
checked-but-held text, and the new text. Units are released whole, in order, only once they
end at least ``overlap`` characters before the checked frontier, so a phrase or a secret that
straddles two checks is caught by the second before any of it leaves; a redaction that reaches
across the release point moves the point before it. At most about ``window + overlap``
characters (plus the word being written) are held back.

Unlike :class:`guardrails.streaming.StreamChecker`, which releases text, this releases the
app's own units (events keep their ids and fields; an event with no text, such as ``[DONE]``,
keeps its place) and rewrites a unit only when a redaction touches it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import accumulate

from guardrails.decision import Action, Decision, Finding, Verdict
from guardrails.engine import replacement_for

__all__ = ["StreamCut", "Unit", "UnitWindow", "split_redactions"]

Redaction = tuple[tuple[int, int], str]


@dataclass(frozen=True, slots=True)
class Unit:
    """What the app sent, the text pieces in it, and how to rebuild it with other texts."""

    raw: bytes
    texts: tuple[str, ...] = ()
    rebuild: Callable[[list[str]], bytes] | None = None

    @property
    def text(self) -> str:
        return "".join(self.texts)


class StreamCut(Exception):
    """A window was blocked: the stream ends here. ``decision`` says why."""

    def __init__(self, decision: Decision) -> None:
        super().__init__("stream blocked")
        self.decision = decision


class UnitWindow:
    """Per response: feed units as the app sends them, send what is returned."""

    def __init__(
        self,
        check: Callable[[str], Awaitable[Decision]],
        *,
        window: int = 128,
        overlap: int = 64,
        enforce: bool = True,
    ) -> None:
        self._check = check
        self.window, self.overlap, self.enforce = window, overlap, enforce
        self.decisions: list[Decision] = []
        self._held: list[Unit] = []
        self._fresh = 0  # characters received since the last check
        self._context = ""  # tail of the released text, for detection only

    async def feed(self, unit: Unit) -> list[bytes]:
        if not self._held and not unit.texts:  # no text, none before it: a keep-alive, a role
            return [unit.raw]
        self._held.append(unit)
        self._fresh += len(unit.text)
        if self._fresh < self.window:
            return []
        return await self._run(final=False)

    async def close(self) -> list[bytes]:
        """End of stream: check what is left and release it all."""
        return await self._run(final=True) if self._held else []

    async def _run(self, final: bool) -> list[bytes]:
        text = "".join(unit.text for unit in self._held)
        end = len(text) if final else last_boundary(text)
        if end <= len(text) - self._fresh:  # no word has ended in the new text yet
            if not final and self._fresh < 4 * self.window:
                return []
            end = len(text)  # one endless "word": check it anyway, memory stays bounded
        offset = len(self._context)
        decision = await self._check(self._context + text[:end])
        self.decisions.append(decision)
        self._fresh = len(text) - end
        spans = self._judge(decision, offset)
        ends = list(accumulate(len(unit.text) for unit in self._held))
        cut = len(text) if final else end - self.overlap
        while True:  # never release the first part of a redaction: move the cut before it
            count = bisect_right(ends, cut)
            released = ends[count - 1] if count else 0
            crossing = [max(a, 0) for (a, b), _ in spans if max(a, 0) < released < b]
            if not crossing:
                break
            cut = min(crossing)  # < released <= cut: the cut only moves back, and stops at 0
        if not count:
            return []
        units, self._held = self._held[:count], self._held[count:]
        seen = self._context + text[:released]
        # the released tail, for detection only; cut at a word start so no half word is seen
        cut_at = max(len(seen) - self.overlap, 0)
        self._context = _word_start(seen[cut_at:]) if cut_at else seen
        inside = [((max(a, 0), b), r) for (a, b), r in spans if a < released]
        return _emit(units, inside) if inside else [unit.raw for unit in units]

    def _judge(self, decision: Decision, offset: int) -> list[Redaction]:
        """Raise on a block found in new text; return the redactions in held-text positions.
        Findings wholly inside the released context were judged by an earlier check."""

        def fresh(f: Finding) -> bool:
            return f.span is None or f.span[1] > offset

        if self.enforce and any(f.verdict is Verdict.BLOCK and fresh(f) for f in decision.findings):
            raise StreamCut(decision)
        if not self.enforce:
            return []
        return [
            ((f.span[0] - offset, f.span[1] - offset), replacement_for(f))
            for f in decision.findings
            if f.action is Action.REDACT and f.span is not None and f.span[1] > offset
        ]


def _emit(units: list[Unit], spans: list[Redaction]) -> list[bytes]:
    flat = [t for unit in units for t in unit.texts]
    redacted = split_redactions(flat, spans)
    out, i = [], 0
    for unit in units:
        new, i = redacted[i : i + len(unit.texts)], i + len(unit.texts)
        if unit.rebuild is None or list(unit.texts) == new:
            out.append(unit.raw)
        else:
            out.append(unit.rebuild(new))
    return out


def split_redactions(texts: list[str], spans: list[Redaction]) -> list[str]:
    """Apply redactions to consecutive ``texts`` as if they were one string, keeping each
    piece's share: a replacement goes into the piece where its span starts, the characters it
    covers in later pieces are dropped. Overlapping spans merge as in ``apply_redactions``."""
    merged: list[tuple[int, int, str]] = []
    for (start, end), replacement in sorted(spans, key=lambda r: (r[0][0], -r[0][1])):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end), merged[-1][2])
        else:
            merged.append((start, end, replacement))
    out, base = [], 0
    for text in texts:
        stop, pieces, cursor = base + len(text), [], base
        for start, end, replacement in merged:
            if end <= base or start >= stop:
                continue
            if start >= base:
                pieces += (text[cursor - base : start - base], replacement)
            cursor = max(cursor, min(end, stop))
        pieces.append(text[cursor - base :])
        out.append("".join(pieces))
        base = stop
    return out


def last_boundary(text: str) -> int:
    """The index just after the last whitespace in ``text`` (0 if none)."""
    return max(text.rfind(c) for c in " \n\t\r") + 1


def _word_start(context: str) -> str:
    """Drop a partial word at the start, so a check never sees half a word as a whole one."""
    for i, c in enumerate(context):
        if c.isspace():
            return context[i:]
    return context
