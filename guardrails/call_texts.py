"""The text a guarded call carries: the strings in its arguments and its answer, found the way
chat APIs nest them, and a copy of a value with some of them redacted.

Text is every string inside dicts, lists and tuples, except a message's labels (``role``,
``type``, ``id``, ``tool_call_id``) and media parts (images, audio, files): an image is not
text. An object inside a value has no text that can be read; :func:`collect_texts` says so.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping, MutableMapping
from typing import Any

__all__ = ["argument_name", "collect_texts", "put_argument", "replace_texts", "texts_in"]

_TAGS = frozenset({"role", "type", "id", "tool_call_id"})  # a message's labels, not its text
_MEDIA = frozenset(
    {"image_url", "input_image", "image", "input_audio", "audio", "file", "input_file", "document"}
)  # parts that carry media, not text
_NO_TEXT = (bool, int, float, complex, type(None))


def _text_keys(value: Mapping[Any, Any]) -> list[Any]:
    """The keys of a dict that hold text: none of a media part (an image is not text), every
    other but a message's labels."""
    kind = value.get("type")
    if isinstance(kind, str) and kind in _MEDIA:
        return []
    return [key for key in value if key not in _TAGS]


def collect_texts(value: Any, texts: list[str]) -> bool:
    """Add the strings in ``value`` (itself, or inside dicts, lists and tuples) to ``texts``;
    False if it holds an object, whose text, if any, cannot be read."""
    if isinstance(value, str):
        texts.append(value)
        return True
    if isinstance(value, Mapping):
        return all([collect_texts(value[key], texts) for key in _text_keys(value)])
    if isinstance(value, list | tuple):
        return all([collect_texts(item, texts) for item in value])
    return isinstance(value, _NO_TEXT)


def texts_in(value: Any) -> list[str]:
    texts: list[str] = []
    collect_texts(value, texts)
    return texts


def replace_texts(value: Any, replacements: dict[str, str]) -> Any:
    """A copy of ``value`` with each string in ``replacements`` swapped for its redaction."""
    if isinstance(value, str):
        return replacements.get(value, value)
    if isinstance(value, Mapping):
        out = copy.copy(value) if isinstance(value, MutableMapping) else dict(value)
        for key in _text_keys(value):
            out[key] = replace_texts(value[key], replacements)
        return out
    if isinstance(value, list | tuple):
        items = [replace_texts(item, replacements) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return value


def argument_name(where: tuple | None) -> str:
    """An argument, as the warning names it."""
    if where is None:
        return "what input= returned"
    return where[0] if len(where) == 1 else f"{where[0]}[{where[1]!r}]"


def put_argument(bound: inspect.BoundArguments, where: tuple, value: Any) -> None:
    """Write ``value`` into the argument ``where`` names: a parameter, or one item of
    ``*args`` (by index) or ``**kwargs`` (by key)."""
    if len(where) == 1:
        bound.arguments[where[0]] = value
        return
    name, item = where
    holder = bound.arguments[name]
    if isinstance(holder, tuple):
        bound.arguments[name] = (*holder[:item], value, *holder[item + 1 :])
    else:
        bound.arguments[name] = {**holder, item: value}
