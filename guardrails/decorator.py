"""``@guard``: moderate what goes into a function (the prompt) and what comes out (the answer).

Works on sync and async functions and on sync and async generators (streamed LLM output: the
guarded generator yields the checked text, released window by window), also when they are
reached through ``functools.partial``, a bound method or an object's ``__call__``::

    @guard("policies/chat.yaml", input="messages")
    async def chat(messages: list[dict]) -> str:
        return (await client.chat.completions.create(model=..., messages=messages)).choices[0]...

The prompt is the argument named by ``input``, else the first one called messages, prompt,
input, text, query, question or content, else every argument but ``self``/``cls`` (``*args`` and
``**kwargs`` item by item). Its text is every string in it, through dicts, lists and tuples
(but a message's role, type and id labels, and media parts such as images). The answer's text
is found the same way, or by ``output=callable``: an answer with no text but an object, which
may hold some it cannot read, raises a TypeError rather than go out unchecked.

On block it raises :class:`~guardrails.errors.ContentBlocked` (carrying the Decision), or, with
``on_block=value``, returns that value instead (a callable is called with the Decision). Redacted
input reaches the function redacted; redacted output is returned redacted: a string as such, a
dict or list as a copy with each text redacted, and any other object through
``redact_output(result, redacted_text)``. An answer that must be redacted but cannot be written
back (an object and no ``redact_output``) is withheld as a block would be, never returned as it
was.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, TypeVar

from guardrails.call_texts import argument_name, collect_texts, put_argument, replace_texts
from guardrails.decision import Verdict
from guardrails.engine import Engine
from guardrails.guarded_call import RAISE, GuardedCall
from guardrails.reload import LiveEngine
from guardrails.streaming import StreamBlocked, StreamChecker

__all__ = ["guard"]

logger = logging.getLogger("guardrails")

F = TypeVar("F", bound=Callable[..., Any])


def _runs(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The function a call of ``fn`` runs, to tell its kind: through partials to the function,
    through an object to its class's ``__call__``."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return fn if inspect.isroutine(fn) or isinstance(fn, type) else type(fn).__call__


def guard(
    policy: str | os.PathLike[str] | Engine | LiveEngine,
    *,
    input: str | Callable[[Mapping[str, Any]], Any] | None = None,
    output: bool | Callable[[Any], Any] = True,
    redact_output: Callable[[Any, str], Any] | None = None,
    on_block: Any = RAISE,
    window: int = 256,
) -> Callable[[F], F]:
    """Decorate a function so its input and output go through ``policy``.

    ``input``: the argument holding the prompt (default: the first of messages, prompt, input,
    text, query, question, content; else every argument but ``self``/``cls``), or a callable
    given the bound arguments that returns the prompt. ``output``: False to skip the answer, or
    a callable that extracts its text (e.g. ``lambda r: r.choices[0].message.content``);
    needed when the answer is an object (else: a TypeError). ``redact_output``: a callable given
    the result and its redacted text that returns the result to hand back (for answers that are
    objects, with ``output`` a callable); without it such an answer, if it must be redacted, is
    withheld like a block. ``window``: characters per check of a stream.
    """
    state = GuardedCall(policy, input, output, redact_output, on_block, window)

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)
        runs = _runs(fn)
        warned = False  # about arguments holding no text it can read: once per function

        async def before(args: tuple, kwargs: dict) -> tuple[tuple, dict, str, Any]:
            nonlocal warned
            bound, sources = state.locate_input(signature, args, kwargs)
            found: list[list[str]] = []
            unreadable = []
            for where, value in sources:
                found.append([])
                if not collect_texts(value, found[-1]):
                    unreadable.append(argument_name(where))
            texts = [t for some in found for t in some]
            if not texts and unreadable and not warned:
                warned = True
                logger.warning(
                    "@guard: no text found in %s of %s: its input is not checked (pass "
                    "input=callable(arguments) returning the prompt); reported once",
                    ", ".join(unreadable),
                    getattr(fn, "__qualname__", fn),
                )
            decision, redactions, prompt = await state.check_input(texts)
            if decision is not None and decision.verdict is Verdict.BLOCK:
                return args, kwargs, prompt, decision
            if redactions:
                for (where, value), some in zip(sources, found, strict=True):
                    if where is not None and any(t in redactions for t in some):
                        put_argument(bound, where, replace_texts(value, redactions))
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

        if inspect.isasyncgenfunction(fn) or inspect.isasyncgenfunction(runs):

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

        if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(runs):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                args, kwargs, prompt, blocked = await before(args, kwargs)
                if blocked is not None:
                    return state.blocked(blocked)
                return await after(await fn(*args, **kwargs), prompt)

            return run_async  # type: ignore[return-value]

        if inspect.isgeneratorfunction(fn) or inspect.isgeneratorfunction(runs):

            @functools.wraps(fn)
            def sync_stream(*args: Any, **kwargs: Any) -> Iterator[Any]:
                engine = state.live.engine  # the same engine checks the input and every window
                args, kwargs, prompt, blocked = engine.run_sync(before(args, kwargs))
                if blocked is not None:
                    yield state.blocked(blocked)
                    return
                checker = StreamChecker(engine, prompt=prompt, window=state.window)
                try:
                    with contextlib.closing(fn(*args, **kwargs)) as chunks:
                        for chunk in chunks:
                            released = engine.run_sync(checker.feed(state.chunk_text(chunk)))
                            if released:
                                yield released
                    released = engine.run_sync(checker.close())
                    if released:
                        yield released
                except StreamBlocked as stop:
                    yield state.blocked(stop.decision)

            return sync_stream  # type: ignore[return-value]

        @functools.wraps(fn)
        def run_sync(*args: Any, **kwargs: Any) -> Any:
            engine = state.live.engine
            args, kwargs, prompt, blocked = engine.run_sync(before(args, kwargs))
            if blocked is not None:
                return state.blocked(blocked)
            return engine.run_sync(after(fn(*args, **kwargs), prompt))

        return run_sync  # type: ignore[return-value]

    return decorate
