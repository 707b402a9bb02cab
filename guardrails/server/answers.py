"""How the service answers for a decision: its own result shape, the OpenAI moderation shape,
and what shadow mode reports. Answers never echo the content that blocked an item."""

from __future__ import annotations

import dataclasses
from typing import Any

from guardrails.decision import Action, Decision, Verdict


def _openai_result(decision: Decision) -> dict[str, Any]:
    scores: dict[str, float] = {}
    for labels in decision.scores.values():
        for label, p in labels.items():
            scores[label] = max(scores.get(label, 0.0), float(p))
    flagged_labels = {f.label for f in decision.findings if f.verdict is not Verdict.ALLOW}
    for finding in decision.findings:
        scores[finding.label] = max(scores.get(finding.label, 0.0), finding.score)
    return {
        "flagged": not decision.allowed,
        "categories": {label: label in flagged_labels for label in scores},
        "category_scores": {label: round(p, 6) for label, p in scores.items()},
    }


def _answer(decision: Decision) -> dict[str, Any]:
    """A decision as the service reports it. A blocked item has no ``redacted_text``: only its
    redact spans are replaced there, so it would still hold what blocked it (a secret)."""
    answer = decision.to_dict()
    if decision.verdict is Verdict.BLOCK:
        answer.pop("redacted_text", None)
    return answer


def _shadowed(decision: Decision) -> Decision:
    """The decision as shadow mode reports it: allowed, findings kept as log entries."""
    return dataclasses.replace(
        decision,
        verdict=Verdict.ALLOW,
        findings=tuple(dataclasses.replace(f, action=Action.LOG) for f in decision.findings),
        redacted_text=None,
    )
