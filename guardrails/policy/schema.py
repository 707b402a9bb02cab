"""The policy document: defaults, steps (a union discriminated on ``kind``) and self-tests."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from guardrails.decision import Action, Direction, Verdict
from guardrails.policy.steps import (
    ClassifierStep,
    ErrorMode,
    HfClassifierStep,
    InvisibleStep,
    KeywordsStep,
    LengthStep,
    PiiStep,
    RegexStep,
    SecretsStep,
    SemanticStep,
    UrlsStep,
)

__all__ = [
    "AuditSettings",
    "Defaults",
    "Expectation",
    "LocatedValueError",
    "Policy",
    "PolicyTest",
    "Step",
]

Loc = tuple[str | int, ...]


class LocatedValueError(ValueError):
    """A validation or build error that knows which field of the policy document it is about."""

    def __init__(self, message: str, loc: Loc) -> None:
        super().__init__(message)
        self.loc = tuple(loc)


Step = Annotated[
    KeywordsStep
    | RegexStep
    | PiiStep
    | SecretsStep
    | LengthStep
    | InvisibleStep
    | UrlsStep
    | ClassifierStep
    | HfClassifierStep
    | SemanticStep,
    Field(discriminator="kind"),
]


class Defaults(BaseModel):
    """Policy-wide settings that steps inherit unless they set their own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action = Field(Action.BLOCK, description="action of steps that name none")
    on_error: ErrorMode = Field(
        "fail_closed", description="a failing check blocks (fail_closed) or allows (fail_open)"
    )
    # 1000: with 200, a burst of 32 texts on 2 cores (one MiniLM forward pass of 32, about
    # 0.6 s) timed out and, failing closed, blocked every one of them
    timeout_ms: int = Field(
        1000, ge=1, description="time budget of one ML step in ms, waiting for its batch included"
    )
    run_all: bool = Field(
        False, description="run every step even after a block (to collect all findings)"
    )


class AuditSettings(BaseModel):
    """What the audit log may keep of the content itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    log_content: bool = Field(
        False,
        description="keep the content in audit records, with every finding's span masked "
        "(so a caught secret or e-mail address is never written to the log)",
    )


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    verdict: Verdict
    step: str | None = Field(None, description="a step that must have a finding")
    label: str | None = Field(None, description="a label that must be among the findings")
    redacted_text: str | None = Field(None, description="the exact redacted text expected")


class PolicyTest(BaseModel):
    """A policy's own unit test, run by ``guardrails test``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    text: str
    direction: Direction = Direction.INPUT
    prompt: str | None = Field(None, description="for output tests: the prompt it answers")
    expect: Expectation


class Policy(BaseModel):
    """A validated policy. Build one with :func:`guardrails.load_policy`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = Field(..., description="policy format version")
    name: str = Field(..., min_length=1)
    description: str = ""
    defaults: Defaults = Field(default_factory=Defaults)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    steps: list[Step] = Field(default_factory=list)
    tests: list[PolicyTest] = Field(default_factory=list)

    _source: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        seen: set[str] = set()
        for i, step in enumerate(self.steps):
            if step.id in seen:
                raise LocatedValueError(f"step id '{step.id}' is used twice", ("steps", i, "id"))
            seen.add(step.id)
        for i, test in enumerate(self.tests):
            if test.expect.step is not None and test.expect.step not in seen:
                raise LocatedValueError(
                    f"test expects step '{test.expect.step}', which the policy does not define",
                    ("tests", i, "expect", "step"),
                )
        return self

    @property
    def digest(self) -> str:
        """sha256 of the policy text (empty for a policy built in code)."""
        return self._source.digest if self._source is not None else ""

    @property
    def source(self) -> Any:
        """Where the policy came from (:class:`guardrails.policy.loader.Source`), if loaded."""
        return self._source

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def action_of(self, step: Any) -> Action:
        return step.action or self.defaults.action

    def on_error_of(self, step: Any) -> ErrorMode:
        return step.on_error or self.defaults.on_error
