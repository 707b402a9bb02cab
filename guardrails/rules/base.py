"""The small protocol every check implements, and the lazy map from ``kind`` to implementation.

A check *detects*; it never decides. It returns :class:`Detection` values and the engine turns
them into findings with the step's action (block / flag / redact / log).
"""

from __future__ import annotations

import pkgutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from guardrails.decision import Action, Direction, slot_setters

__all__ = [
    "CHECKS",
    "Check",
    "CheckContext",
    "Detection",
    "ScanResult",
    "resolve_check",
]


@dataclass(frozen=True, slots=True)
class Detection:
    """Something a check found. ``span`` indexes the scanned text; the text itself is not kept.

    ``action`` overrides the step's action (used by ML steps whose per-label thresholds say flag
    or block).
    """

    label: str
    span: tuple[int, int] | None = None
    score: float = 1.0
    threshold: float | None = None
    action: Action | None = None
    detail: str = ""
    evidence: tuple[str, ...] = ()

    @classmethod
    def _trusted(cls, label: str, span: tuple[int, int] | None, detail: str = "") -> Detection:
        """A rule's detection (score 1.0, the step's action), set straight into the slots: the
        hot path of the rule checks, a third of what the frozen dataclass ``__init__`` costs."""
        detection = _new(cls)
        _D_LABEL(detection, label)
        _D_SPAN(detection, span)
        _D_SCORE(detection, 1.0)
        _D_THRESHOLD(detection, None)
        _D_ACTION(detection, None)
        _D_DETAIL(detection, detail)
        _D_EVIDENCE(detection, ())
        return detection


_new = object.__new__
(_D_LABEL, _D_SPAN, _D_SCORE, _D_THRESHOLD, _D_ACTION, _D_DETAIL, _D_EVIDENCE) = slot_setters(
    Detection, "label", "span", "score", "threshold", "action", "detail", "evidence"
)


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What an ML check returns: detections plus every label's score (shown even on allow)."""

    detections: Sequence[Detection] = ()
    scores: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What a check knows besides the text: the direction, and for output the prompt."""

    direction: Direction = Direction.INPUT
    prompt: str | None = None


@runtime_checkable
class Check(Protocol):
    """A rule check: cheap, synchronous, pure. Built once from its step config."""

    kind: ClassVar[str]

    @classmethod
    def from_config(cls, config: Any, base_dir: Path) -> Check: ...

    def scan(self, text: str, context: CheckContext) -> Sequence[Detection]: ...


CHECKS: Mapping[str, str] = {
    "keywords": "guardrails.rules.keywords:KeywordCheck",
    "regex": "guardrails.rules.regex:RegexCheck",
    "pii": "guardrails.rules.pii:PiiCheck",
    "secrets": "guardrails.rules.secrets:SecretsCheck",
    "length": "guardrails.rules.length:LengthCheck",
    "invisible": "guardrails.rules.invisible:InvisibleCheck",
    "urls": "guardrails.rules.urls:UrlCheck",
    "classifier": "guardrails.layers.classifier:ClassifierLayer",
    "hf_classifier": "guardrails.layers.hf:HfLayer",
    "semantic": "guardrails.layers.semantic:SemanticLayer",
}
"""``kind`` -> ``"module:attr"`` of its implementation, imported only when a policy uses it."""


def resolve_check(kind: str) -> Any:
    return pkgutil.resolve_name(CHECKS[kind])
