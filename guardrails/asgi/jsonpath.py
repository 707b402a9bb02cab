"""The small JSON path language that says where the content of a body is.

    prompt                  a top-level key
    messages[*].content     every element of a list, then a key
    messages[0].content     one element (negative indices count from the end)
    data.*.text             every value of an object
    **                      every string anywhere in the document

A path is compiled once, when the middleware is built; a bad one raises ``ValueError`` then.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

__all__ = [
    "EVERYTHING",
    "JsonPath",
    "Step",
    "compile_path",
    "format_path",
    "resolve",
    "set_at",
    "walk_strings",
]

Step = str | int | None  # a key, an index, or None for every element / value
JsonPath = tuple[Step, ...]
EVERYTHING: JsonPath = ("**",)

_TOKEN = re.compile(r"\[(\*|-?\d+)\]|\.?([^.\[\]]+)")


def compile_path(path: str) -> JsonPath:
    """``'messages[*].content'`` -> ``('messages', None, 'content')``."""
    if path == "**":
        return EVERYTHING
    steps: list[Step] = []
    pos = 0
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if match is None or (match.group(2) is not None and pos and path[pos] != "."):
            raise ValueError(f"invalid JSON path {path!r} at character {pos}")
        index, key = match.groups()
        if index is not None:
            steps.append(None if index == "*" else int(index))
        else:
            steps.append(None if key == "*" else key)
        pos = match.end()
    if not steps:
        raise ValueError("empty JSON path")
    return tuple(steps)


def resolve(doc: Any, path: JsonPath) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every ``(concrete path, value)`` that ``path`` reaches in ``doc``."""
    if path is EVERYTHING:
        yield from walk_strings(doc, ())
        return
    if len(path) == 1 and isinstance(path[0], str):  # the common "prompt" / "input"
        if isinstance(doc, dict) and path[0] in doc:
            yield path, doc[path[0]]
        return
    nodes: list[tuple[tuple[str | int, ...], Any]] = [((), doc)]
    for step in path:
        found: list[tuple[tuple[str | int, ...], Any]] = []
        for where, node in nodes:
            if step is None:
                if isinstance(node, list):
                    found.extend(((*where, i), v) for i, v in enumerate(node))
                elif isinstance(node, dict):
                    found.extend(((*where, k), v) for k, v in node.items())
            elif isinstance(step, int):
                if isinstance(node, list) and -len(node) <= step < len(node):
                    found.append(((*where, step % len(node)), node[step]))
            elif isinstance(node, dict) and step in node:
                found.append(((*where, step), node[step]))
        nodes = found
    yield from nodes


def walk_strings(
    node: Any, where: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string under ``node`` with its path, depth-first in document order (no recursion:
    a deeply nested document cannot exhaust the stack)."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [(where, node)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(value))))


def set_at(doc: Any, where: tuple[str | int, ...], value: Any) -> Any:
    """Put ``value`` at ``where`` in ``doc`` (in place); returns the document (new at the root)."""
    if not where:
        return value
    node = doc
    for step in where[:-1]:
        node = node[step]
    node[where[-1]] = value
    return doc


def format_path(where: tuple[str | int, ...]) -> str:
    """``('messages', 0, 'content')`` -> ``'messages[0].content'`` (for reasons and logs)."""
    out = []
    for step in where:
        out.append(f"[{step}]" if isinstance(step, int) else f".{step}" if out else str(step))
    return "".join(out) or "$"
