"""What a policy decides about one piece of content: frozen values, never exceptions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from guardrails.verdicts import Action, Direction, Verdict

__all__ = ["Action", "Decision", "Direction", "Finding", "Verdict"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a step found, with the evidence for it.

    ``span`` is a ``(start, end)`` character range in the checked text. The matched text itself
    is never stored: a finding can be logged or returned to a client without leaking a secret.
    ``score`` and ``threshold`` are probabilities in 0..1 (rule checks score 1.0).
    """

    step: str
    kind: str
    label: str
    action: Action
    score: float = 1.0
    threshold: float | None = None
    span: tuple[int, int] | None = None
    detail: str = ""
    evidence: tuple[str, ...] = ()

    @property
    def verdict(self) -> Verdict:
        return self.action.verdict

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "step": self.step,
            "kind": self.kind,
            "label": self.label,
            "action": self.action.value,
            "score": round(self.score, 6),
        }
        if self.threshold is not None:
            out["threshold"] = self.threshold
        if self.span is not None:
            out["span"] = list(self.span)
        if self.detail:
            out["detail"] = self.detail
        if self.evidence:
            out["evidence"] = list(self.evidence)
        return out

    @classmethod
    def _trusted(
        cls,
        step: str,
        kind: str,
        label: str,
        action: Action,
        score: float,
        threshold: float | None,
        span: tuple[int, int] | None,
        detail: str,
        evidence: tuple[str, ...],
    ) -> Finding:
        """Every field, positionally, set straight into the slots: the engine's hot path (a
        frozen dataclass's ``__init__`` costs about three times as much)."""
        finding = _new(cls)
        _F_STEP(finding, step)
        _F_KIND(finding, kind)
        _F_LABEL(finding, label)
        _F_ACTION(finding, action)
        _F_SCORE(finding, score)
        _F_THRESHOLD(finding, threshold)
        _F_SPAN(finding, span)
        _F_DETAIL(finding, detail)
        _F_EVIDENCE(finding, evidence)
        return finding


_new = object.__new__


def slot_setters(cls: type, *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot descriptors' setters of a frozen slotted dataclass, for a ``_trusted``
    constructor on a hot path: a frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__`` by name, the slot descriptor does the same a few times faster."""
    return tuple(cls.__dict__[name].__set__ for name in names)


(_F_STEP, _F_KIND, _F_LABEL, _F_ACTION, _F_SCORE, _F_THRESHOLD, _F_SPAN, _F_DETAIL, _F_EVIDENCE) = (
    slot_setters(
        Finding, "step", "kind", "label", "action", "score", "threshold", "span", "detail",
        "evidence",
    )
)  # fmt: skip

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if isinstance(mapping, MappingProxyType):
        return mapping
    return MappingProxyType(dict(mapping)) if mapping else _EMPTY


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's one answer for one piece of content.

    ``redacted_text`` is the text with every redact finding replaced by a ``[LABEL]`` token, or
    ``None`` when nothing was redacted. ``scores`` maps an ML step id to every label's
    probability (present on allow too, so a caller sees how close content came). ``timings_ms``
    maps each step that ran to its elapsed milliseconds (empty when the engine answered from its
    memo of recent texts); ``skipped`` names the steps that were not run because their outcome
    could not change the verdict.
    """

    verdict: Verdict
    findings: tuple[Finding, ...] = ()
    direction: Direction = Direction.INPUT
    policy: str = ""
    redacted_text: str | None = None
    scores: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Read-only views; a mapping that is already a read-only view is kept as it is.
        if self.scores.__class__ is not MappingProxyType:
            nested = {k: _frozen(v) for k, v in self.scores.items()}
            object.__setattr__(self, "scores", _frozen(nested))
        if self.timings_ms.__class__ is not MappingProxyType:
            object.__setattr__(self, "timings_ms", _frozen(self.timings_ms))

    @classmethod
    def _trusted(
        cls,
        verdict: Verdict,
        findings: tuple[Finding, ...],
        direction: Direction,
        policy: str,
        redacted_text: str | None,
        scores: MappingProxyType[str, Any],
        timings_ms: MappingProxyType[str, float],
        skipped: tuple[str, ...],
    ) -> Decision:
        """Build a decision from values that are already immutable (tuples, read-only
        mappings), without the checks of ``__init__``: the engine's hot path, one per item."""
        decision = _new(cls)
        _SET_VERDICT(decision, verdict)
        _SET_FINDINGS(decision, findings)
        _SET_DIRECTION(decision, direction)
        _SET_POLICY(decision, policy)
        _SET_REDACTED(decision, redacted_text)
        _SET_SCORES(decision, scores)
        _SET_TIMINGS(decision, timings_ms)
        _SET_SKIPPED(decision, skipped)
        return decision

    def without_timings(self) -> Decision:
        """The same decision with empty ``timings_ms``: an answer no step ran for."""
        return Decision._trusted(
            self.verdict,
            self.findings,
            self.direction,
            self.policy,
            self.redacted_text,
            self.scores,  # type: ignore[arg-type]
            _EMPTY,  # type: ignore[arg-type]
            self.skipped,
        )

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW

    @property
    def flagged(self) -> bool:
        return self.verdict is Verdict.FLAG

    @property
    def blocked(self) -> bool:
        return self.verdict is Verdict.BLOCK

    @property
    def reasons(self) -> tuple[Finding, ...]:
        """The findings that set the verdict (the most severe ones)."""
        return tuple(f for f in self.findings if f.verdict is self.verdict and not self.allowed)

    @property
    def steps(self) -> tuple[str, ...]:
        """Ids of the steps with findings, in order, each once."""
        return tuple(dict.fromkeys(f.step for f in self.findings))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "verdict": self.verdict.value,
            "direction": self.direction.value,
            "policy": self.policy,
            "findings": [f.to_dict() for f in self.findings],
        }
        if self.redacted_text is not None:
            out["redacted_text"] = self.redacted_text
        if self.scores:
            out["scores"] = {
                step: {label: round(p, 6) for label, p in labels.items()}
                for step, labels in self.scores.items()
            }
        out["timings_ms"] = {step: round(ms, 3) for step, ms in self.timings_ms.items()}
        if self.skipped:
            out["skipped"] = list(self.skipped)
        return out


(
    _SET_VERDICT,
    _SET_FINDINGS,
    _SET_DIRECTION,
    _SET_POLICY,
    _SET_REDACTED,
    _SET_SCORES,
    _SET_TIMINGS,
    _SET_SKIPPED,
) = slot_setters(
    Decision,
    "verdict",
    "findings",
    "direction",
    "policy",
    "redacted_text",
    "scores",
    "timings_ms",
    "skipped",
)
