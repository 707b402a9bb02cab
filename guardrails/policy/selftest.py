"""Run a policy's own ``tests:`` against an engine built from it."""

from __future__ import annotations

from dataclasses import dataclass

from guardrails.decision import Decision
from guardrails.engine import Engine
from guardrails.policy.schema import PolicyTest

__all__ = ["PolicyTestResult", "run_policy_tests"]


@dataclass(frozen=True, slots=True)
class PolicyTestResult:
    index: int
    test: PolicyTest
    decision: Decision
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def name(self) -> str:
        return self.test.name or f"tests[{self.index}]"


def _failures(test: PolicyTest, decision: Decision) -> tuple[str, ...]:
    expect = test.expect
    problems = []
    if decision.verdict is not expect.verdict:
        found = ", ".join(f"{f.step}:{f.label}" for f in decision.findings) or "no findings"
        problems.append(f"expected {expect.verdict.value}, got {decision.verdict.value} ({found})")
    if expect.step is not None and expect.step not in decision.steps:
        problems.append(f"expected a finding from step '{expect.step}', got {list(decision.steps)}")
    if expect.label is not None and expect.label not in {f.label for f in decision.findings}:
        labels = sorted({f.label for f in decision.findings})
        problems.append(f"expected label '{expect.label}', got {labels}")
    if expect.redacted_text is not None and decision.redacted_text != expect.redacted_text:
        problems.append(
            f"expected redacted text {expect.redacted_text!r}, got {decision.redacted_text!r}"
        )
    return tuple(problems)


def run_policy_tests(engine: Engine) -> list[PolicyTestResult]:
    """Every test of ``engine.policy``, in order, with what did not match."""
    results = []
    for index, test in enumerate(engine.policy.tests):
        decision = engine.check(test.text, direction=test.direction, prompt=test.prompt)
        results.append(PolicyTestResult(index, test, decision, _failures(test, decision)))
    return results
