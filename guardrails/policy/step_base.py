"""The fields steps share: :class:`StepBase` for every step, :class:`MLStepBase` (with its
per-label :class:`Threshold`) for every ML step.

Re-exported by :mod:`guardrails.policy.steps`, where each ``kind``'s config subclasses them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from guardrails.decision import Action, Direction

__all__ = ["ErrorMode", "MLStepBase", "StepBase", "Threshold"]

ErrorMode = Literal["fail_open", "fail_closed"]


class StepBase(BaseModel):
    """Fields every step has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(
        ...,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        max_length=64,
        description="unique name of the step, reported in every finding",
    )
    applies_to: tuple[Direction, ...] = Field(
        (Direction.INPUT, Direction.OUTPUT),
        min_length=1,
        description="check user input, model/app output, or both",
    )
    action: Action | None = Field(
        None, description="what a finding does: block, flag, redact or log (default: defaults)"
    )
    on_error: ErrorMode | None = Field(
        None, description="if the check itself fails: allow (fail_open) or block (fail_closed)"
    )
    enabled: bool = Field(True, description="false keeps the step in the file but never runs it")
    description: str = Field("", description="free text for people reading the policy")


class Threshold(BaseModel):
    """A label's probability at or above ``flag`` flags, at or above ``block`` blocks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flag: float | None = Field(None, ge=0, le=1)
    block: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Threshold:
        if self.flag is None and self.block is None:
            raise ValueError("give flag, block or both (probabilities in 0..1)")
        if self.flag is not None and self.block is not None and self.flag > self.block:
            raise ValueError(f"flag ({self.flag}) must not be above block ({self.block})")
        return self


class MLStepBase(StepBase):
    """Fields every ML step has: per-label thresholds and how the model is shared."""

    thresholds: dict[str, Threshold] = Field(
        default_factory=dict, description="per label: {flag: p, block: p}"
    )
    default_threshold: Threshold | None = Field(
        None,
        description="for labels not in `thresholds` (default: the step's action at 0.5)",
    )
    ignore: list[str] = Field(
        default_factory=list, description="labels that never act (e.g. neither, benign)"
    )
    max_batch_size: int = Field(32, ge=1, le=1024, description="items per forward pass")
    max_wait_ms: float = Field(
        5.0, ge=0, le=1000, description="how long a pass waits for more items"
    )
    cache_size: int = Field(4096, ge=0, description="embeddings kept (LRU by content hash)")

    @model_validator(mode="after")
    def _no_redact(self) -> MLStepBase:
        if self.action is not None and self.action.value == "redact":
            raise ValueError("an ML step cannot redact: use block, flag or log")
        return self
