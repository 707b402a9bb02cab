"""The small JSON path language that says where the content of a body is.

    prompt                      a top-level key
    messages[*].content         every element of a list, then a key
    messages[0].content         one element (negative indices count from the end)
    messages[role=user].content the elements whose ``role`` is ``user``
    messages[role!=system]      the elements whose ``role`` is not ``system`` (or is missing)
    messages[role=user|tool]    ``|`` separates the values a filter accepts
    data.*.text                 every value of an object
    **                          every string anywhere in the document

A filter keeps the list elements that are objects with the key set to one of the values
(``=``), or the elements that are not (``!=``: also those that are not objects or have no such
key, so content of an unexpected shape is kept, not dropped). A path is compiled once, when
the middleware is built; a bad one raises ``ValueError`` then.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EVERYTHING",
    "Filter",
    "JsonPath",
    "Step",
    "compile_path",
    "format_path",
    "resolve",
    "set_at",
    "walk_strings",
]


@dataclass(frozen=True, slots=True)
class Filter:
    """``[key=a|b]`` (``negate``: ``[key!=a|b]``): the list elements an object key selects."""

    key: str
    values: frozenset[str]
    negate: bool = False

    def accepts(self, element: Any) -> bool:
        value = element.get(self.key) if isinstance(element, dict) else None
        return (isinstance(value, str) and value in self.values) is not self.negate


Step = str | int | Filter | None  # a key, an index, a filter, or None for every element / value
JsonPath = tuple[Step, ...]
EVERYTHING: JsonPath = ("**",)
Where = tuple[str | int, ...]

_TOKEN = re.compile(
    r"\[(\*|-?\d+)\]"  # [*] or [index]
    r"|\[([^\[\]=!|]+)(!?=)([^\[\]=!]+)\]"  # [key=value|value] or [key!=value]
    r"|\.?([^.\[\]]+)"  # a key
)


def compile_path(path: str) -> JsonPath:
    """``'messages[*].content'`` -> ``('messages', None, 'content')``."""
    if path == "**":
        return EVERYTHING
    steps: list[Step] = []
    pos = 0
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if match is None or (match.group(5) is not None and pos and path[pos] != "."):
            raise ValueError(f"invalid JSON path {path!r} at character {pos}")
        index, key, operator, values, name = match.groups()
        if index is not None:
            steps.append(None if index == "*" else int(index))
        elif key is not None:
            accepted = frozenset(v.strip() for v in values.split("|"))
            if not key.strip() or "" in accepted:
                raise ValueError(f"invalid filter in JSON path {path!r} at character {pos}")
            steps.append(Filter(key.strip(), accepted, negate=operator == "!="))
        else:
            steps.append(None if name == "*" else name)
        pos = match.end()
    if not steps:
        raise ValueError("empty JSON path")
    return tuple(steps)


def resolve(doc: Any, path: JsonPath) -> list[tuple[Where, Any]]:
    """Every ``(concrete path, value)`` that ``path`` reaches in ``doc``, in document order."""
    if path is EVERYTHING:
        return list(walk_strings(doc, ()))
    found: list[tuple[Where, Any]] = []
    head = path[0]
    if head.__class__ is str and isinstance(doc, dict):  # the chat shapes, without recursion
        if len(path) == 1:  # "prompt"
            if head in doc:
                found.append((path, doc[head]))  # type: ignore[arg-type]
            return found
        each, key = path[1], path[2] if len(path) == 3 else None
        elements = doc.get(head)
        if (
            key.__class__ is str
            and isinstance(elements, list)
            and (each is None or each.__class__ is Filter)
        ):
            accepts = None if each is None else each.accepts  # type: ignore[union-attr]
            for i, element in enumerate(elements):  # "messages[*].content"
                if (
                    isinstance(element, dict)
                    and key in element
                    and (accepts is None or accepts(element))
                ):
                    found.append(((head, i, key), element[key]))  # type: ignore[arg-type]
            return found
    _reach(doc, path, 0, (), found)
    return found


def _reach(node: Any, path: JsonPath, depth: int, where: Where, found: list[Any]) -> None:
    """Follow ``path[depth:]`` from ``node`` (at ``where``); the recursion is as deep as the
    path, whatever the document."""
    if depth == len(path):
        found.append((where, node))
        return
    step = path[depth]
    depth += 1
    if step.__class__ is str:
        if node.__class__ is dict or isinstance(node, dict):
            child = node.get(step, _MISSING)
            if child is not _MISSING:
                _reach(child, path, depth, (*where, step), found)
    elif step is None:
        if isinstance(node, list):
            for i, child in enumerate(node):
                _reach(child, path, depth, (*where, i), found)
        elif isinstance(node, dict):
            for key, child in node.items():
                _reach(child, path, depth, (*where, key), found)
    elif step.__class__ is Filter:
        if isinstance(node, list):
            accepts = step.accepts  # type: ignore[union-attr]
            for i, child in enumerate(node):
                if accepts(child):
                    _reach(child, path, depth, (*where, i), found)
    elif isinstance(node, list) and -len(node) <= step < len(node):  # type: ignore[operator]
        _reach(node[step], path, depth, (*where, step % len(node)), found)  # type: ignore[index,operator]


_MISSING = object()


def walk_strings(node: Any, where: Where) -> Iterator[tuple[Where, str]]:
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


def format_path(where: Where) -> str:
    """``('messages', 0, 'content')`` -> ``'messages[0].content'`` (for reasons and logs)."""
    text = _FORMATTED.get(where)
    if text is None:
        out = []
        for step in where:
            out.append(f"[{step}]" if isinstance(step, int) else f".{step}" if out else str(step))
        text = "".join(out) or "$"
        if len(text) <= 200:  # the same few locations recur request after request
            if len(_FORMATTED) >= 4096:  # bounded: keys come from clients' documents
                _FORMATTED.clear()
            _FORMATTED[where] = text
    return text


_FORMATTED: dict[Where, str] = {}
