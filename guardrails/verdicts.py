"""The small vocabularies of a decision: how severe it is (:class:`Verdict`), what a step does
with a finding (:class:`Action`) and which side of an exchange content is (:class:`Direction`).

All are re-exported by :mod:`guardrails.decision`, where callers import them from.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Action", "Direction", "Verdict"]


class Verdict(StrEnum):
    """The outcome, ordered by severity: ``max()`` of verdicts is the most severe."""

    ALLOW = "allow"
    FLAG = "flag"
    BLOCK = "block"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def exit_code(self) -> int:
        """The CLI's exit code for this verdict: 0 allow, 1 flag, 2 block."""
        return _RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return _RANK[self] < _RANK[other]

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return _RANK[self] <= _RANK[other]

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return _RANK[self] > _RANK[other]

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return _RANK[self] >= _RANK[other]


_RANK = {Verdict.ALLOW: 0, Verdict.FLAG: 1, Verdict.BLOCK: 2}


class Action(StrEnum):
    """What a policy step does with what its check found (detection is not reaction)."""

    BLOCK = "block"
    FLAG = "flag"
    REDACT = "redact"
    LOG = "log"

    @property
    def verdict(self) -> Verdict:
        """The verdict a finding with this action leads to: redact flags, log allows."""
        return _ACTION_VERDICT[self]


_ACTION_VERDICT = {
    Action.BLOCK: Verdict.BLOCK,
    Action.FLAG: Verdict.FLAG,
    Action.REDACT: Verdict.FLAG,
    Action.LOG: Verdict.ALLOW,
}


class Direction(StrEnum):
    """Which side of an exchange content is: the user's input or the model's / app's output."""

    INPUT = "input"
    OUTPUT = "output"
