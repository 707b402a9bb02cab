"""Compiles a Policy into the ordered list of steps an Engine runs.

Each enabled step's check is resolved from its ``kind`` and built from its config (ML checks
share the engine's embedders through ``hub``); every step that fails to build is reported in one
PolicyError. Steps come out cheapest first: rules before ML, policy order within each tier.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guardrails.decision import Action, Direction, Finding, Verdict
from guardrails.errors import GuardrailsError, PolicyError
from guardrails.policy.schema import LocatedValueError, Policy
from guardrails.rules.base import CheckContext, Detection, resolve_check


@dataclass(frozen=True, slots=True)
class _Step:
    id: str
    kind: str
    check: Any
    action: Action
    on_error: str
    applies_to: frozenset[Direction]
    max_verdict: Verdict
    is_async: bool
    tier: int
    max_rank: int  # max_verdict's rank, an int for the hot path
    modality: str  # "text" or "image": the content the check reads
    always_runs: bool  # redact and log steps produce text and audit records, not a verdict
    scan: Callable[[str, CheckContext], Any] | None  # a rule's bound ``scan``; None for ML

    def finding(self, detection: Detection, span: tuple[int, int] | None) -> Finding:
        """What ``detection`` (at ``span`` of the text checked) is in a decision."""
        return Finding._trusted(
            self.id,
            self.kind,
            detection.label,
            detection.action or self.action,
            detection.score,
            detection.threshold,
            span,
            detection.detail,
            detection.evidence,
        )


def _compile(policy: Policy, hub: Callable[[], Any]) -> list[_Step]:
    source = policy.source
    base_dir = source.base_dir if source is not None else Path.cwd()
    problems: list[str] = []
    steps: list[_Step] = []
    for index, config in enumerate(policy.steps):
        if not config.enabled:
            continue
        action = policy.action_of(config)
        try:
            implementation = resolve_check(config.kind)
            if getattr(implementation, "tier", 0) >= 1:  # ML: shares the engine's embedders
                check = implementation.from_config(config, base_dir, hub=hub(), action=action)
            else:
                check = implementation.from_config(config, base_dir)
        except (LocatedValueError, ValueError, OSError, GuardrailsError) as exc:
            loc = ("steps", index, *getattr(exc, "loc", ()))
            where = source.problem(loc, str(exc)) if source else f"step '{config.id}': {exc}"
            problems.append(where)
            continue
        is_async = hasattr(check, "ascan")
        steps.append(
            _Step(
                id=config.id,
                kind=config.kind,
                check=check,
                action=action,
                on_error=policy.on_error_of(config),
                applies_to=frozenset(config.applies_to),
                max_verdict=getattr(check, "max_verdict", action.verdict),
                is_async=is_async,
                tier=getattr(check, "tier", 1 if is_async else 0),
                max_rank=getattr(check, "max_verdict", action.verdict).rank,
                always_runs=action in (Action.REDACT, Action.LOG),
                modality=str(getattr(check, "modality", "text")),
                scan=None if is_async else check.scan,
            )
        )
    if problems:
        raise PolicyError(problems)
    return sorted(steps, key=lambda s: s.tier)  # stable: policy order within a tier
