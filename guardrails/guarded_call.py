"""What one ``@guard`` holds (see :mod:`guardrails.decorator`): the policy, where the prompt and
the answer are, and what a block or a redaction of the answer turns into."""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from guardrails.call_texts import collect_texts, replace_texts, texts_in
from guardrails.decision import Decision, Direction
from guardrails.engine import Engine
from guardrails.errors import ContentBlocked, InputError
from guardrails.reload import LiveEngine

__all__ = ["RAISE", "GuardedCall"]

logger = logging.getLogger("guardrails")

RAISE = "raise"
_INPUT_NAMES = ("messages", "prompt", "input", "text", "query", "question", "content")


def _worst(decisions: list[Decision]) -> Decision | None:
    return max(decisions, key=lambda d: d.verdict.rank, default=None)


class GuardedCall:
    """One decorated function's settings and the checks around its calls."""

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
        if isinstance(self.on_block, str) and self.on_block == RAISE:
            raise ContentBlocked(decision)
        return self.on_block(decision) if callable(self.on_block) else self.on_block

    def locate_input(
        self, signature: inspect.Signature, args: tuple, kwargs: dict
    ) -> tuple[inspect.BoundArguments, list[tuple[tuple | None, Any]]]:
        """The bound arguments, and each value to check with where it came from (``None``:
        from ``input=callable``, nowhere to write a redaction back)."""
        bound = signature.bind_partial(*args, **kwargs)
        bound.apply_defaults()  # a default value is input too: a prompt may come from one
        if callable(self.input):
            return bound, [(None, self.input(bound.arguments))]
        name = self.input or next((n for n in _INPUT_NAMES if n in bound.arguments), None)
        if name is not None:
            return bound, [((name,), bound.arguments.get(name))]
        sources: list[tuple[tuple | None, Any]] = []
        first = next(iter(signature.parameters), None)
        for name, value in bound.arguments.items():
            kind = signature.parameters[name].kind
            if name == first and name in ("self", "cls"):
                continue
            if kind is inspect.Parameter.VAR_POSITIONAL:
                sources += [((name, i), item) for i, item in enumerate(value)]
            elif kind is inspect.Parameter.VAR_KEYWORD:
                sources += [((name, key), item) for key, item in value.items()]
            else:
                sources.append(((name,), value))
        return bound, sources

    async def check_input(self, texts: list[str]) -> tuple[Decision | None, dict[str, str], str]:
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
        """The answer's text to check (``None``: it holds none); a TypeError if it may hold
        text that cannot be read, so that it never goes out unchecked."""
        if callable(self.output):
            return self.output(result)
        texts: list[str] = []
        if not collect_texts(result, texts) and not texts:
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()  # never to be awaited: no "never awaited" warning
                raise TypeError(
                    f"@guard: a sync function returned a {type(result).__name__}, which it "
                    "cannot check: make the function `async def` (or pass output=False)"
                )
            raise TypeError(
                f"@guard: the answer is a {type(result).__name__}, in which it finds no text to "
                "check: pass output=callable to extract its text (e.g. output=lambda r: "
                "r.choices[0].message.content), or output=False to leave answers unchecked"
            )
        return "\n".join(texts) if texts else None

    async def redacted_output(self, result: Any, decision: Decision, prompt: str) -> Any:
        """``result`` with its text redacted as ``decision`` says; withheld if that cannot be
        written back into it."""
        redacted = decision.redacted_text or ""  # set: the caller checked
        if isinstance(result, str):
            return redacted
        if self.redact_output is not None:
            return self.redact_output(result, redacted)
        if not callable(self.output):  # texts found in dicts or lists: replace each
            texts = texts_in(result)
            if len(texts) == 1:
                return replace_texts(result, {texts[0]: redacted})
            engine = self.live.engine  # the joined text's redaction: found again per text
            parts = [await engine.acheck(t, direction="output", prompt=prompt) for t in texts]
            worst = _worst(parts)
            if worst is not None and worst.blocked:
                return self.blocked(worst)
            return replace_texts(
                result,
                {t: d.redacted_text for t, d in zip(texts, parts, strict=True) if d.redacted_text},
            )
        logger.warning(
            "@guard: the answer must be redacted but is a %s, which it cannot write the "
            "redaction into: withheld (pass redact_output=callable(result, text) to put it back)",
            type(result).__name__,
        )
        return self.blocked(decision)
