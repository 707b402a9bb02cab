"""``@guard``: moderate what goes into a function (the prompt) and what comes out (the answer).

Works on sync functions, async functions and async generators (streamed LLM output: the
guarded generator yields the checked text, released window by window)::

    @guard("policies/chat.yaml", input="messages")
    async def chat(messages: list[dict]) -> str:
        return (await client.chat.completions.create(model=..., messages=messages)).choices[0]...

On block it raises :class:`~guardrails.errors.ContentBlocked` (carrying the Decision), or, with
``on_block=value``, returns that value instead (a callable is called with the Decision). Redacted
input reaches the function redacted; redacted output is returned redacted: a string as such, a
message or a list of them as a copy with each text redacted, and any other object through
``redact_output(result, redacted_text)``. An answer that must be redacted but cannot be written
back (an object and no ``redact_output``) is withheld as a block would be, never returned as it
was.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar

from guardrails.decision import Decision, Direction, Verdict
from guardrails.engine import Engine
from guardrails.errors import ContentBlocked, InputError
from guardrails.reload import LiveEngine
from guardrails.streaming import StreamBlocked, StreamChecker

__all__ = ["guard"]

logger = logging.getLogger("guardrails")

F = TypeVar("F", bound=Callable[..., Any])
_INPUT_NAMES = ("messages", "prompt", "input", "text", "query", "question", "content")
_RAISE = "raise"


def _texts(value: Any) -> list[str]:
    """Text in a prompt: a string, OpenAI-style messages (string or parts content), lists."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        if "content" in value:
            return _texts(value["content"])
        if value.get("type") == "text" and isinstance(value.get("text"), str):
            return [value["text"]]
        return []
    if isinstance(value, list | tuple):
        return [t for item in value for t in _texts(item)]
    return []


def _replace_texts(value: Any, replacements: dict[str, str]) -> Any:
    """A copy of ``value`` with each string in ``replacements`` swapped for its redaction."""
    if isinstance(value, str):
        return replacements.get(value, value)
    if isinstance(value, Mapping):
        out = copy.copy(value)
        for key in ("content", "text"):
            if key in out:
                out[key] = _replace_texts(out[key], replacements)  # type: ignore[index]
        return out
    if isinstance(value, list | tuple):
        return type(value)(_replace_texts(item, replacements) for item in value)
    return value


def _worst(decisions: list[Decision]) -> Decision | None:
    return max(decisions, key=lambda d: d.verdict.rank, default=None)


class _Guard:
    def __init__(
        self,
        policy: str | os.PathLike[str] | Engine | LiveEngine,
        input: str | Callable[[Mapping[str, Any]], Any] | None,
        output: bool | Callable[[Any], Any],
        redact_output: Callable[[Any, str], Any] | None,
        on_block: Any,
        window: int,
    ) -> None:
        self.live = policy if isinstance(policy, LiveEngine) else LiveEngine(policy)
        self.input = input
        self.output = output
        self.redact_output = redact_output
        self.on_block = on_block
        self.window = window

    def blocked(self, decision: Decision) -> Any:
        if isinstance(self.on_block, str) and self.on_block == _RAISE:
            raise ContentBlocked(decision)
        return self.on_block(decision) if callable(self.on_block) else self.on_block

    def locate_input(self, signature: inspect.Signature, args: tuple, kwargs: dict) -> Any:
        bound = signature.bind_partial(*args, **kwargs)
        if callable(self.input):
            return None, self.input(bound.arguments)
        name = self.input or next((n for n in _INPUT_NAMES if n in bound.arguments), None)
        if name is None and bound.arguments:
            name = next(iter(bound.arguments))
        return (bound, name), bound.arguments.get(name) if name else None

    async def check_input(self, value: Any) -> tuple[Decision | None, dict[str, str], str]:
        texts = _texts(value)
        engine = self.live.engine
        decisions = [await engine.acheck(t, direction=Direction.INPUT) for t in texts]
        redactions = {
            t: d.redacted_text for t, d in zip(texts, decisions, strict=True) if d.redacted_text
        }
        return _worst(decisions), redactions, "\n".join(texts)

    def chunk_text(self, chunk: Any) -> str:
        """A streamed chunk's text: the chunk itself, or what ``output`` extracts from it."""
        if callable(self.output):
            chunk = self.output(chunk)
        if chunk is None:
            return ""
        if not isinstance(chunk, str):
            raise InputError(
                f"the stream yields {type(chunk).__name__}, not text: pass output=callable "
                "to @guard to extract each chunk's text"
            )
        return chunk

    def output_text(self, result: Any) -> str | None:
        if callable(self.output):
            return self.output(result)
        return "\n".join(_texts(result)) if _texts(result) else None

    async def redacted_output(self, result: Any, decision: Decision, prompt: str) -> Any:
        """``result`` with its text redacted as ``decision`` says; withheld if that cannot be
        written back into it."""
        redacted = decision.redacted_text or ""  # set: the caller checked
        if isinstance(result, str):
            return redacted
        if self.redact_output is not None:
            return self.redact_output(result, redacted)
        if not callable(self.output):  # texts found in messages or lists: replace each
            texts = _texts(result)
            if len(texts) == 1:
                return _replace_texts(result, {texts[0]: redacted})
            engine = self.live.engine  # the joined text's redaction: found again per text
            parts = [await engine.acheck(t, direction="output", prompt=prompt) for t in texts]
            worst = _worst(parts)
            if worst is not None and worst.blocked:
                return self.blocked(worst)
            return _replace_texts(
                result,
                {t: d.redacted_text for t, d in zip(texts, parts, strict=True) if d.redacted_text},
            )
        logger.warning(
            "@guard: the answer must be redacted but is a %s, which it cannot write the "
            "redaction into: withheld (pass redact_output=callable(result, text) to put it back)",
            type(result).__name__,
        )
        return self.blocked(decision)


def guard(
    policy: str | os.PathLike[str] | Engine | LiveEngine,
    *,
    input: str | Callable[[Mapping[str, Any]], Any] | None = None,
    output: bool | Callable[[Any], Any] = True,
    redact_output: Callable[[Any, str], Any] | None = None,
    on_block: Any = _RAISE,
    window: int = 256,
) -> Callable[[F], F]:
    """Decorate a function so its input and output go through ``policy``.

    ``input``: the argument holding the prompt (default: the first of messages, prompt, input,
    text, query, question, content; else the first argument), or a callable given the bound
    arguments that returns the prompt. ``output``: False to skip the answer, or a callable that
    extracts its text (e.g. ``lambda r: r.choices[0].message.content``). ``redact_output``: a
    callable given the result and its redacted text that returns the result to hand back (for
    answers that are objects, with ``output`` a callable); without it such an answer, if it
    must be redacted, is withheld like a block. ``window``: characters per check of a stream.
    """
    state = _Guard(policy, input, output, redact_output, on_block, window)

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)

        async def before(args: tuple, kwargs: dict) -> tuple[tuple, dict, str, Any]:
            where, value = state.locate_input(signature, args, kwargs)
            decision, redactions, prompt = await state.check_input(value)
            if decision is not None and decision.verdict is Verdict.BLOCK:
                return args, kwargs, prompt, decision
            if redactions and where is not None:
                bound, name = where
                bound.arguments[name] = _replace_texts(value, redactions)
                args, kwargs = bound.args, bound.kwargs
            return args, kwargs, prompt, None

        async def after(result: Any, prompt: str) -> Any:
            if state.output is False:
                return result
            text = state.output_text(result)
            if text is None:
                return result
            decision = await state.live.engine.acheck(text, direction="output", prompt=prompt)
            if decision.blocked:
                return state.blocked(decision)
            if decision.redacted_text is not None:
                return await state.redacted_output(result, decision, prompt)
            return result

        if inspect.isasyncgenfunction(fn):

            @functools.wraps(fn)
            async def stream(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                args, kwargs, prompt, blocked = await before(args, kwargs)
                if blocked is not None:
                    yield state.blocked(blocked)
                    return
                checker = StreamChecker(state.live.engine, prompt=prompt, window=state.window)
                try:
                    async for chunk in fn(*args, **kwargs):
                        released = await checker.feed(state.chunk_text(chunk))
                        if released:
                            yield released
                    released = await checker.close()
                    if released:
                        yield released
                except StreamBlocked as stop:
                    yield state.blocked(stop.decision)

            return stream  # type: ignore[return-value]

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                args, kwargs, prompt, blocked = await before(args, kwargs)
                if blocked is not None:
                    return state.blocked(blocked)
                return await after(await fn(*args, **kwargs), prompt)

            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run_sync(*args: Any, **kwargs: Any) -> Any:
            engine = state.live.engine
            args, kwargs, prompt, blocked = engine.run_sync(before(args, kwargs))
            if blocked is not None:
                return state.blocked(blocked)
            return engine.run_sync(after(fn(*args, **kwargs), prompt))

        return run_sync  # type: ignore[return-value]

    return decorate
