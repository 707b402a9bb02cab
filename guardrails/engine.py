"""Runs a policy over content and returns one Decision: an async core with a thin sync wrapper.

Steps run cheapest first (rules before ML, policy order within each tier). A block ends the run
unless ``defaults.run_all`` is set; a step whose findings could not change the verdict (a flag
step once the verdict is already flag) is skipped and named in ``Decision.skipped``. Redact and
log steps always run: their output is the rewritten text and the audit trail, not the verdict.
A check that raises follows the step's ``on_error``: ``fail_closed`` blocks, ``fail_open``
allows with a finding that says what failed.

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
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from guardrails._loop import LoopThread, drive
from guardrails.decision import Action, Decision, Direction, Finding, Verdict
from guardrails.errors import GuardrailsError, InputError, PolicyError, StepTimeout
from guardrails.policy.loader import load_policy, policy_from_string
from guardrails.policy.schema import LocatedValueError, Policy
from guardrails.rules.base import CheckContext, Detection, ScanResult, resolve_check

__all__ = ["MEMO_MAX_CHARS", "MEMO_SIZE", "Engine", "apply_redactions", "replacement_for"]

logger = logging.getLogger("guardrails")
T = TypeVar("T")
_NO_SCORES: MappingProxyType[str, Any] = MappingProxyType({})
_VERDICTS = (Verdict.ALLOW, Verdict.FLAG, Verdict.BLOCK)  # by rank
_ACTION_RANK = {action: action.verdict.rank for action in Action}  # for the hot path
_REDACT = Action.REDACT
MEMO_SIZE = 1024
"""Decisions a rules-only engine remembers by default (see the module doc)."""
MEMO_MAX_CHARS = 4096
"""Longer texts are not remembered: they rarely repeat, and would hold the memory."""


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
        self._run_all = policy.defaults.run_all
        self._name = policy.name
        self._contexts = {d: CheckContext(direction=d) for d in Direction}
        self._needs_loop = any(step.is_async for step in self._steps)
        self._loop = LoopThread() if self._needs_loop else None
        self._memo_size = memo_size
        # per direction: text -> its decision; ML steps have their own embedding cache
        self._memos: dict[Direction, _Recent] | None = (
            {d: _Recent(memo_size) for d in Direction}
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
                known = memo.new.get(content)  # type: ignore[arg-type]
                if known is None:
                    known = memo.old.get(content)  # type: ignore[arg-type]
                if known is not None:
                    if known.timings_ms:  # the first answer from the memo: drop its timings
                        known = known.without_timings()
                    memo.put(content, known)  # type: ignore[arg-type]
                    return known
        else:
            context = CheckContext(direction=direction, prompt=prompt)
        # The hot path is a clean text: per step, one call, one clock reading and one timing.
        # Findings, scores and redactions are only built when a step returns something.
        run_all = self._run_all
        rank = 0  # the verdict's rank, compared as an int
        findings: list[Finding] = []
        scores: dict[str, Any] = {}
        timings: dict[str, float] = {}
        skipped: list[str] = []
        redactions: list[tuple[tuple[int, int], str]] = []
        clock = time.perf_counter
        last = clock()
        for step in self._plan[direction][modality]:
            if (
                rank
                and not run_all
                and (rank == 2 or (step.max_rank <= rank and not step.always_runs))
            ):
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
                scores[step.id] = MappingProxyType(dict(result.scores))
                result = result.detections
            for detection in result:
                action = detection.action or step.action
                finding = Finding._trusted(
                    step.id,
                    step.kind,
                    detection.label,
                    action,
                    detection.score,
                    detection.threshold,
                    detection.span,
                    detection.detail,
                    detection.evidence,
                )
                findings.append(finding)
                if _ACTION_RANK[action] > rank:
                    rank = _ACTION_RANK[action]
                if action is _REDACT and finding.span is not None:
                    redactions.append((finding.span, replacement_for(finding)))
        decision = Decision._trusted(
            _VERDICTS[rank],
            tuple(findings),
            direction,
            self._name,
            apply_redactions(content, redactions) if redactions else None,  # type: ignore[arg-type]
            MappingProxyType(scores) if scores else _NO_SCORES,
            MappingProxyType(timings),
            tuple(skipped),
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


class _Recent:
    """Recently checked texts and their decisions, in two generations of plain dicts: a text
    found is moved to the new one; when the new one holds half of ``size`` texts it becomes
    the old one, and the old one is dropped. At most ``size`` texts, the recently used kept,
    for two dict operations a check (an LRU's bookkeeping costs several times that). Safe
    to share between threads: each operation is one atomic dict operation."""

    __slots__ = ("half", "new", "old")

    def __init__(self, size: int) -> None:
        self.half = max(1, size // 2)
        self.new: dict[str, Decision] = {}
        self.old: dict[str, Decision] = {}

    def put(self, text: str, decision: Decision) -> None:
        new = self.new
        new[text] = decision
        if len(new) >= self.half:
            self.old, self.new = new, {}


def replacement_for(finding: Finding) -> str:
    """What redaction puts in place of a finding: ``[LABEL]``; invisible characters go."""
    return "" if finding.kind == "invisible" else f"[{finding.label.upper()}]"


def apply_redactions(text: str, redactions: list[tuple[tuple[int, int], str]]) -> str:
    """Replace each span with its replacement. Overlapping spans merge into their union, named
    by the longest span starting first: redaction errs on hiding too much, never too little."""
    pieces: list[str] = []
    cursor = 0
    for (start, end), replacement in sorted(redactions, key=lambda r: (r[0][0], -r[0][1])):
        if start < cursor:  # overlaps the previous span
            cursor = max(cursor, end)
            continue
        pieces.append(text[cursor:start])
        pieces.append(replacement)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)
