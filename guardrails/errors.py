"""The exceptions guardrails raises, all in one tree.

    GuardrailsError
    ├── PolicyError          a policy file or string is invalid (names file, line, step, field)
    ├── DatasetError         a training / evaluation file has bad rows (names every bad line)
    ├── ModelLoadError       a saved classifier or an encoder cannot be loaded as asked
    ├── InputError           content the layer cannot read (not an image, wrong modality...)
    ├── MissingDependency    an optional extra (``ml``, ``vision``, ``server``) is not installed
    └── ContentBlocked       raised only by ``@guard(on_block="raise")``; carries the Decision

Moderation outcomes are values (:class:`guardrails.Decision`), not exceptions: only the
decorator's opt-in raise mode turns a block into :class:`ContentBlocked`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guardrails.decision import Decision

__all__ = [
    "ContentBlocked",
    "DatasetError",
    "GuardrailsError",
    "InputError",
    "MissingDependency",
    "ModelLoadError",
    "PolicyError",
    "StepTimeout",
]


class GuardrailsError(Exception):
    """Base class of every error guardrails raises on purpose."""


class PolicyError(GuardrailsError):
    """A policy is invalid. ``problems`` holds one ``file:line: step 'id': message`` per fault."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems) if self.problems else "invalid policy")


class DatasetError(GuardrailsError):
    """A dataset has bad rows. ``problems`` pairs each bad line number with what is wrong;
    line 0 is the file as a whole (shown without a line: ``data.jsonl: no such file``)."""

    def __init__(self, source: str, problems: Sequence[tuple[int, str]]) -> None:
        self.source = source
        self.problems = tuple(problems)
        shown = [
            f"{source}:{line}: {message}" if line else f"{source}: {message}"
            for line, message in self.problems[:20]
        ]
        if len(self.problems) > 20:
            shown.append(f"... and {len(self.problems) - 20} more bad rows")
        super().__init__("\n".join(shown) if shown else f"{source}: invalid dataset")

    @property
    def lines(self) -> tuple[int, ...]:
        return tuple(line for line, _ in self.problems)


class ModelLoadError(GuardrailsError):
    """A model directory or encoder could not be loaded; the message says exactly why."""


class InputError(GuardrailsError):
    """Content that cannot be moderated as given (e.g. bytes that are not an image)."""


class StepTimeout(GuardrailsError, TimeoutError):
    """An ML step ran past the policy's ``timeout_ms``; its fail mode decides."""


class MissingDependency(GuardrailsError, ImportError):
    """An optional extra is needed: the message names the ``pip install`` that provides it."""

    def __init__(self, extra: str, feature: str, cause: BaseException | None = None) -> None:
        self.extra = extra
        message = (
            f"{feature} needs the '{extra}' extra: pip install 'guardrails-middleware[{extra}]'"
        )
        if cause is not None:
            message += f" ({cause})"
        super().__init__(message)


class ContentBlocked(GuardrailsError):
    """Raised by ``@guard(on_block="raise")`` when content is blocked; ``decision`` says why."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        reasons = ", ".join(
            f"{f.step}:{f.label}" for f in decision.findings if f.verdict.name == "BLOCK"
        )
        super().__init__(f"content blocked by {reasons or 'policy'}")
