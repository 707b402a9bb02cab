"""A redacted text, checked again: what a redaction rebuilds must not pass.

Removing a zero-width character from ``AKIA\u200bIOSFODNN7EXAMPLE`` rebuilds an AWS key that
no step saw in the text as sent. :func:`recheck_redacted` runs the rule steps over the redacted
text until a pass finds nothing new (at most :data:`MAX_PASSES`), with each new finding's span
mapped back onto the original text, so that it masks everything it covers there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from guardrails.decision import Action, Finding
from guardrails.redaction import apply_redactions, redact_with_map, replacement_for, to_original
from guardrails.rules.base import CheckContext, Detection
from guardrails.steps import _Step

__all__ = ["MAX_PASSES", "recheck_redacted"]

MAX_PASSES = 4  # each pass must find something new to go on
_RANK = {action: action.verdict.rank for action in Action}


def recheck_redacted(
    text: str,
    redactions: list[tuple[tuple[int, int], str]],
    findings: list[Finding],
    rank: int,
    context: CheckContext,
    *,
    steps: Sequence[_Step],
    run_all: bool,
    timings: dict[str, float],
    failure: Callable[[_Step, Exception], Detection],
) -> tuple[str, int, bool]:
    """The redacted text, checked again by the rule steps until nothing new is found.

    A redaction can make what no step saw: removing a zero-width character from
    ``AKIA\u200bIOSFODNN7EXAMPLE`` rebuilds an AWS key. What the rules find in the redacted
    text is added to ``findings`` (spans mapped back onto the original text, so they mask
    all of it) and redacted or blocked in turn. Returns the final redacted text, the rank
    and whether a step failed. ML steps are not run again: they scored the text as sent.
    """
    seen = {(f.step, f.label, f.span) for f in findings}
    failed = False
    clock = time.perf_counter
    for _ in range(MAX_PASSES):
        current, segments = redact_with_map(text, redactions)
        found = False
        for step in steps:
            if rank == 2 and not run_all:
                return current, rank, failed
            if rank and not run_all and step.max_rank <= rank and not step.always_runs:
                continue
            started = clock()
            try:
                result = step.scan(current, context)  # type: ignore[misc]
            except Exception as exc:
                result, failed = [failure(step, exc)], True
            timings[step.id] = timings.get(step.id, 0.0) + (clock() - started) * 1000.0
            for detection in result or ():
                span = detection.span and to_original(detection.span, segments)
                if (step.id, detection.label, span) in seen:
                    continue
                seen.add((step.id, detection.label, span))
                finding = step.finding(detection, span)
                findings.append(finding)
                rank = max(rank, _RANK[finding.action])
                if finding.action is Action.REDACT and span is not None:
                    redactions.append((span, replacement_for(finding)))
                    found = True
        if not found:
            return current, rank, failed
    return apply_redactions(text, redactions), rank, failed
