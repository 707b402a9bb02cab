"""Runs a policy over content and returns one Decision: an async core with a thin sync wrapper.

Steps run cheapest first (rules before ML, policy order within each tier). A block ends the run
unless ``defaults.run_all`` is set; a step whose findings could not change the verdict (a flag
step once the verdict is already flag) is skipped and named in ``Decision.skipped``; redact and
log steps are not (their output is the rewritten text and the audit trail). A redacted text is
checked again by the rules (:mod:`guardrails.recheck`). A check that raises follows the step's
``on_error``: ``fail_closed`` blocks, ``fail_open`` allows with a finding that says what failed.

Rule checks are pure, so a rules-only engine remembers the decisions of the last ``memo_size``
short texts it checked (input, or output without a prompt) and answers a text it has just seen
from that memo: a chat app's system prompt and the history a client sends again with every
turn cost a dictionary lookup, not a run. Only identical text hits; a decision with a failed
step is never kept; an answer from the memo has empty ``timings_ms`` (no step ran).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Coroutine, Sequence
from types import MappingProxyType
from typing import Any, TypeVar

from guardrails._loop import LoopThread, drive
from guardrails.decision import Action, Decision, Direction, Finding, Verdict
from guardrails.errors import GuardrailsError, InputError, StepTimeout
from guardrails.memo import MEMO_MAX_CHARS, MEMO_SIZE, RecentDecisions
from guardrails.policy.loader import load_policy, policy_from_string
from guardrails.policy.schema import Policy
from guardrails.recheck import recheck_redacted
from guardrails.redaction import apply_redactions, replacement_for
from guardrails.rules.base import CheckContext, Detection, ScanResult
from guardrails.steps import _compile, _Step

__all__ = ["MEMO_MAX_CHARS", "MEMO_SIZE", "Engine", "apply_redactions", "replacement_for"]

logger = logging.getLogger("guardrails")
T = TypeVar("T")
_NO_SCORES: MappingProxyType[str, Any] = MappingProxyType({})
_VERDICTS = (Verdict.ALLOW, Verdict.FLAG, Verdict.BLOCK)  # by rank
_ACTION_RANK = {action: action.verdict.rank for action in Action}  # for the hot path
_REDACT = Action.REDACT


class Engine:
    """A compiled policy. Immutable after construction (but for the memo of recent decisions,
    which only saves work) and safe to share between requests and threads."""

    def __init__(
        self, policy: Policy, *, embedders: Sequence[Any] = (), memo_size: int = MEMO_SIZE
    ) -> None:
        """``embedders``: already loaded embedders to use wherever a step's model names the
        same config (instead of loading another copy). ``memo_size``: decisions a rules-only
        engine remembers (texts of at most :data:`MEMO_MAX_CHARS` characters); 0: none."""
        self.policy = policy
        self._embedders = tuple(embedders)
        self.hub: Any = None  # the EmbeddingHub, made only if a step needs a model
        self._steps = _compile(policy, self._hub)
        self._plan = {  # direction -> modality -> the steps that apply, in order
            d: {
                m: tuple(s for s in self._steps if d in s.applies_to and s.modality == m)
                for m in ("text", "image")
            }
            for d in Direction
        }
        self._rules = {  # the text rule steps, which check a redacted text again
            d: tuple(s for s in self._plan[d]["text"] if s.scan is not None) for d in Direction
        }
        self._run_all = policy.defaults.run_all
        self._name = policy.name
        self._contexts = {d: CheckContext(direction=d) for d in Direction}
        self._needs_loop = any(step.is_async for step in self._steps)
        self._loop = LoopThread() if self._needs_loop else None
        self._memo_size = memo_size
        # per direction: text -> its decision; ML steps have their own embedding cache
        self._memos: dict[Direction, RecentDecisions] | None = (
            {d: RecentDecisions(memo_size) for d in Direction}
            if memo_size > 0 and not self._needs_loop
            else None
        )

    def _hub(self) -> Any:
        if self.hub is None:
            from guardrails.layers.base import EmbeddingHub

            self.hub = EmbeddingHub(self._embedders)
        return self.hub

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], **options: Any) -> Engine:
        return cls(load_policy(path), **options)

    @classmethod
    def from_string(
        cls, text: str, *, base_dir: str | os.PathLike[str] | None = None, **options: Any
    ) -> Engine:
        return cls(policy_from_string(text, base_dir=base_dir), **options)

    @property
    def needs_loop(self) -> bool:
        """True if a step awaits a model; rules-only engines never suspend (no event loop)."""
        return self._needs_loop

    @property
    def step_ids(self) -> tuple[str, ...]:
        """Ids of the enabled steps, in the order they run."""
        return tuple(step.id for step in self._steps)

    def check(
        self,
        content: str | bytes,
        *,
        direction: Direction | str = Direction.INPUT,
        prompt: str | None = None,
    ) -> Decision:
        """Evaluate text (``str``) or an image (encoded ``bytes``: PNG, JPEG, ...), sync.

        ``prompt`` gives output checks the input they answer. Rule checks apply to text; an
        image goes only to the steps of image classifiers.
        """
        coro = self.acheck(content, direction=direction, prompt=prompt)
        return drive(coro) if self._loop is None else self._loop.run(coro)

    def check_many(
        self,
        contents: list[str | bytes],
        *,
        direction: Direction | str = Direction.INPUT,
        prompt: str | None = None,
    ) -> list[Decision]:
        """Evaluate a batch (sync). ML steps see the items together, so they share forward
        passes; rules-only policies just loop."""
        if self._loop is None:
            return [drive(self.acheck(c, direction=direction, prompt=prompt)) for c in contents]
        return self._loop.run(self.acheck_many(contents, direction=direction, prompt=prompt))

    async def acheck_many(
        self,
        contents: list[str | bytes],
        *,
        direction: Direction | str = Direction.INPUT,
        prompt: str | None = None,
    ) -> list[Decision]:
        """Evaluate a batch concurrently (async)."""
        return list(
            await asyncio.gather(
                *(self.acheck(c, direction=direction, prompt=prompt) for c in contents)
            )
        )

    def run_sync(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine that awaits this engine from sync code: directly for rules-only
        policies (no event loop), else on the engine's private loop thread."""
        if self._loop is None:
            return drive(coro)
        return self._loop.run(coro)

    async def acheck(
        self,
        content: str | bytes,
        *,
        direction: Direction | str = Direction.INPUT,
        prompt: str | None = None,
    ) -> Decision:
        """Evaluate text or image bytes (async). Rules run inline; ML steps off the event loop."""
        if isinstance(content, str):
            modality = "text"
        elif isinstance(content, bytes | bytearray | memoryview):
            content, modality = bytes(content), "image"
        else:
            raise InputError(
                f"content must be str (text) or bytes (an image), not {type(content).__name__}"
            )
        if direction.__class__ is not Direction:
            direction = Direction(direction)
        memo = None
        if prompt is None:
            context = self._contexts[direction]
            if self._memos is not None and modality == "text" and len(content) <= MEMO_MAX_CHARS:
                memo = self._memos[direction]
                known = memo.recall(content)  # type: ignore[arg-type]
                if known is not None:
                    return known
        else:
            context = CheckContext(direction=direction, prompt=prompt)
        # The hot path is a clean text: per step, one call, one clock reading and one timing.
        # Findings, scores and redactions are only built when a step returns something.
        run_all = self._run_all
        rank = 0  # the verdict's rank, compared as an int
        findings: list[Finding] = []
        timings: dict[str, float] = {}
        scores: dict[str, Any] | None = None  # these three only when needed
        skipped: list[str] | None = None
        redactions: list[tuple[tuple[int, int], str]] | None = None
        clock = time.perf_counter
        last = clock()
        for step in self._plan[direction][modality]:
            if (
                rank
                and not run_all
                and (rank == 2 or (step.max_rank <= rank and not step.always_runs))
            ):
                if skipped is None:
                    skipped = []
                skipped.append(step.id)
                continue
            try:
                if step.scan is not None:
                    result = step.scan(content, context)
                else:
                    result = await self._run_async(step, content, context)
            except Exception as exc:  # a failing check must never crash the caller
                result = [self._failure(step, exc)]
                memo = None  # a failure may not happen again: check this text anew next time
            now = clock()
            timings[step.id] = (now - last) * 1000.0
            last = now
            if not result:
                continue
            if result.__class__ is ScanResult:
                if scores is None:
                    scores = {}
                scores[step.id] = MappingProxyType(dict(result.scores))
                result = result.detections
            for detection in result:
                finding = step.finding(detection, detection.span)
                action = finding.action
                findings.append(finding)
                if _ACTION_RANK[action] > rank:
                    rank = _ACTION_RANK[action]
                if action is _REDACT and finding.span is not None:
                    if redactions is None:
                        redactions = []
                    redactions.append((finding.span, replacement_for(finding)))
        redacted = None
        if redactions:  # checked again: what a redaction rebuilds (after a block: not)
            redacted, rank, failed = recheck_redacted(
                content,  # type: ignore[arg-type]
                redactions,
                findings,
                rank,
                context,
                steps=self._rules[direction],
                run_all=run_all,
                timings=timings,
                failure=self._failure,
            )
            if failed:
                memo = None
        decision = Decision._trusted(
            _VERDICTS[rank],
            tuple(findings) if findings else (),
            direction,
            self._name,
            redacted,
            MappingProxyType(scores) if scores else _NO_SCORES,
            MappingProxyType(timings),
            tuple(skipped) if skipped else (),
        )
        if memo is not None:
            memo.put(content, decision)  # type: ignore[arg-type]
        return decision

    async def _run_async(self, step: _Step, text: str, context: CheckContext) -> Any:
        timeout = self.policy.defaults.timeout_ms / 1000.0
        try:
            return await asyncio.wait_for(step.check.ascan(text, context), timeout)
        except TimeoutError:
            raise StepTimeout(
                f"step exceeded its {self.policy.defaults.timeout_ms} ms budget"
            ) from None

    def _failure(self, step: _Step, exc: Exception) -> Detection:
        """The fail-mode outcome of a step that raised. Only guardrails' own errors, which never
        quote content, are described by their message; any other exception (a model's, a
        library's) is named by its type alone, since its message may quote the input."""
        closed = step.on_error == "fail_closed"
        reason = type(exc).__name__
        if isinstance(exc, GuardrailsError) and str(exc):
            reason = f"{reason}: {exc}"
        logger.warning(
            "guardrails step %r failed (%s): %s",
            step.id,
            "blocking" if closed else "allowing",
            reason,
        )
        return Detection(
            label="error",
            action=Action.BLOCK if closed else Action.LOG,
            score=1.0,
            detail=f"{step.on_error}: {reason}"[:500],
        )

    def close(self) -> None:
        """Stop the batchers and the private event loop used by sync callers, if any."""
        if self.hub is not None:
            self.hub.close()
        if self._loop is not None:
            self._loop.close()
