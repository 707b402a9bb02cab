"""Server-sent events as :class:`~guardrails.asgi.streaming.Unit` s.

An event's text is what a client would show: for a JSON ``data:`` payload, the strings under
the keys streaming APIs put generated text in (OpenAI ``choices[*].delta.content``, its
``reasoning_content``, ``refusal`` and tool calls' ``arguments``, Anthropic ``delta.text``,
``thinking`` and ``partial_json``, the Responses API's ``delta``, Gemini's ``parts[*].text``,
Ollama's ``response``...); ``[DONE]`` and metadata (ids, roles, finish reasons) carry none. A
data payload that is not JSON is text as it stands. Rewriting an event keeps its other fields
(``event:``, ``id:``, ``retry:``) and puts the new text where the old one was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from guardrails.asgi.jsonpath import set_at
from guardrails.asgi.streaming import Unit

__all__ = ["SseSplitter", "error_event", "sse_unit"]

TEXT_KEYS = frozenset(
    {
        "content", "text", "delta", "completion", "output_text", "response", "refusal",
        "reasoning_content", "reasoning", "thinking",  # reasoning streams (DeepSeek, Anthropic)
        "arguments", "partial_json",  # tool-call arguments (OpenAI, Anthropic input_json_delta)
    }
)  # fmt: skip
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_LINES = re.compile(r"\r\n|\r|\n")


class SseSplitter:
    """Splits a byte stream into complete events (each with its blank-line terminator)."""

    def __init__(self, max_event: int = 1 << 20) -> None:
        self._buffer = b""
        self._max_event = max_event

    def feed(self, chunk: bytes) -> list[bytes]:
        searched = max(len(self._buffer) - 3, 0)
        self._buffer += chunk
        events: list[bytes] = []
        start = 0
        for match in _EVENT_END.finditer(self._buffer, searched):
            events.append(self._buffer[start : match.end()])
            start = match.end()
        self._buffer = self._buffer[start:]
        if len(self._buffer) > self._max_event:  # an endless event: check what there is
            events.append(self._buffer)
            self._buffer = b""
        return events

    def flush(self) -> bytes:
        rest, self._buffer = self._buffer, b""
        return rest


def _texts(doc: Any, where: tuple[str | int, ...] = ()) -> Iterator[tuple[Any, str]]:
    """(path, text) of every generated-text string in a streamed JSON payload, in order."""
    if isinstance(doc, str):
        yield where, doc
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            if isinstance(value, dict | list):
                yield from _texts(value, (*where, i))
    elif isinstance(doc, dict):
        for key, value in doc.items():
            if isinstance(value, str):
                if key in TEXT_KEYS:
                    yield (*where, key), value
            elif isinstance(value, dict | list):
                yield from _texts(value, (*where, key))


def sse_unit(raw: bytes) -> Unit:
    """One event: its bytes, its text pieces, and how to rebuild it with other texts."""
    lines = _LINES.split(raw.decode("utf-8", "replace"))
    while lines and not lines[-1]:
        lines.pop()
    data_at = [i for i, line in enumerate(lines) if line == "data" or line.startswith("data:")]
    if not data_at:
        return Unit(raw)
    data = "\n".join(lines[i][5:].removeprefix(" ") for i in data_at)
    if data.strip() == "[DONE]":
        return Unit(raw)
    doc: Any = None
    if data[:1] in ("{", "["):
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
    if doc is None:
        return Unit(raw, (data,), lambda texts: _event(lines, data_at, "".join(texts)))
    found = list(_texts(doc))
    if not found:
        return Unit(raw)

    def rebuild(texts: list[str]) -> bytes:
        new = doc
        for (where, _), text in zip(found, texts, strict=True):
            new = set_at(new, where, text)
        return _event(lines, data_at, json.dumps(new, separators=(",", ":")))

    return Unit(raw, tuple(text for _, text in found), rebuild)


def _event(lines: list[str], data_at: list[int], data: str) -> bytes:
    out = [line for i, line in enumerate(lines) if i not in data_at]
    out[data_at[0] : data_at[0]] = [f"data: {line}" for line in data.split("\n")]
    return ("\n".join(out) + "\n\n").encode()


def error_event(payload: dict[str, Any]) -> bytes:
    """The final event of a cut stream: ``event: guardrails`` with the reason as JSON."""
    return (
        b"event: guardrails\ndata: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"
    )
