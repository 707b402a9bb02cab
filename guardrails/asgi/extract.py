"""What to check in a body: an :class:`Extractor` (built once, immutable) turns a body and its
``Content-Type`` into a :class:`~guardrails.asgi.parsed_bodies.Body` of the matching kind (JSON,
form, multipart, text, image), whose items :func:`check_items` checks.

Bodies of a type that cannot be checked are refused (415) unless listed as pass-through, so an
app never receives content that was not checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence

from guardrails.asgi.jsonpath import JsonPath
from guardrails.asgi.media import is_json_type, parse_content_type, require_image
from guardrails.asgi.parsed_bodies import (
    Body,
    FormBody,
    Item,
    JsonBody,
    MultipartBody,
    TextBody,
)
from guardrails.asgi.replies import Rejection
from guardrails.decision import Decision, Direction
from guardrails.engine import Engine

__all__ = ["Body", "Extractor", "Item", "TextBody", "check_items"]


class Extractor:
    """Immutable: which parts of which bodies are content. Built once per middleware."""

    def __init__(
        self,
        json_paths: Sequence[JsonPath],
        *,
        form_fields: Collection[str] | None = None,
        passthrough_types: Collection[str] = (),
    ) -> None:
        self.json_paths = tuple(json_paths)
        heads = [path[0] for path in self.json_paths]
        self._dedupe = len(heads) > 1 and not (
            all(isinstance(h, str) and h != "**" for h in heads) and len(set(heads)) == len(heads)
        )
        self.form_fields = frozenset(form_fields) if form_fields is not None else None
        self.passthrough_types = frozenset(t.lower() for t in passthrough_types)

    def parse(self, data: bytes, content_type: str | None) -> Body:
        """The items of a body; a :class:`Rejection` for anything that cannot be checked."""
        if not data:
            return Body()
        mime, params = parse_content_type(content_type)
        charset = params.get("charset")
        if is_json_type(mime):
            return JsonBody(data, charset, self.json_paths, self._dedupe)
        if mime.startswith("text/"):
            return TextBody(data, charset)
        if mime == "application/x-www-form-urlencoded":
            return FormBody(data, charset, self.form_fields)
        if mime == "multipart/form-data":
            return MultipartBody(data, params, self.form_fields)
        if mime.startswith("image/"):
            return Body([Item(require_image(data, "body"), None, "body")])
        if mime in self.passthrough_types:
            return Body()
        raise Rejection(
            415, "unsupported_media_type", f"cannot check a body of type {mime or '(none)'}"
        )


async def check_items(
    engine: Engine, items: Sequence[Item], direction: Direction, prompt: str | None
) -> list[Decision]:
    """One decision per item, checked concurrently when the engine has async (ML) steps.

    A rules-only engine never suspends: awaiting its checks in turn costs a fraction of
    ``gather``, which would wrap each in a task.
    """
    if len(items) == 1 or not engine.needs_loop:
        decisions = []
        for item in items:
            decisions.append(await engine.acheck(item.content, direction=direction, prompt=prompt))
        return decisions
    checks = (engine.acheck(item.content, direction=direction, prompt=prompt) for item in items)
    return list(await asyncio.gather(*checks))
