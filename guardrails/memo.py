"""The memo of a rules-only engine: the decisions of recently checked short texts."""

from __future__ import annotations

from guardrails.decision import Decision

__all__ = ["MEMO_MAX_CHARS", "MEMO_SIZE", "RecentDecisions"]

MEMO_SIZE = 1024
"""Decisions a rules-only engine remembers by default (see :mod:`guardrails.engine`)."""
MEMO_MAX_CHARS = 4096
"""Longer texts are not remembered: they rarely repeat, and would hold the memory."""


class RecentDecisions:
    """Recently checked texts and their decisions, in two generations of plain dicts: a text
    found is moved to the new one; when the new one holds half of ``size`` texts it becomes
    the old one, and the old one is dropped. At most ``size`` texts, the recently used kept,
    for two dict operations a check (an LRU's bookkeeping costs several times that). Safe
    to share between threads: each operation is one atomic dict operation."""

    __slots__ = ("half", "new", "old")

    def __init__(self, size: int) -> None:
        self.half = max(1, size // 2)
        self.new: dict[str, Decision] = {}
        self.old: dict[str, Decision] = {}

    def recall(self, text: str) -> Decision | None:
        """The decision remembered for ``text`` (kept as recently used), with empty
        ``timings_ms``: no step ran for it. None if ``text`` is not remembered."""
        known = self.new.get(text)
        if known is None:
            known = self.old.get(text)
            if known is None:
                return None
        if known.timings_ms:  # the first answer from the memo: drop its timings
            known = known.without_timings()
        self.put(text, known)
        return known

    def put(self, text: str, decision: Decision) -> None:
        new = self.new
        new[text] = decision
        if len(new) >= self.half:
            self.old, self.new = new, {}
