"""A parsed body of each kind the middleware can check: its items, and its ``rewrite``.

A :class:`Body` holds the items to check (text as ``str``, images as ``bytes``), each with where
it came from, and a ``rewrite`` that puts redacted text back in place. JSON values reached by
the configured paths are expanded the way chat APIs nest content: a list is each of its
elements, a ``{"type": "text"}`` / ``{"type": "image_url"}`` part is its text or image, a
message is its ``content``, any other object is every string in it. A string that is a
``data:`` URL is decoded: images go to the engine as bytes, text as text.

Which kind a body is parsed as is decided by :class:`guardrails.asgi.extract.Extractor`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from guardrails.asgi.jsonpath import JsonPath, format_path, resolve, set_at, walk_strings
from guardrails.asgi.media import (
    decode_text,
    form_charset,
    is_json_type,
    parse_content_type,
    parse_data_url,
    require_image,
    sniff_image,
)
from guardrails.asgi.multipart import parse_multipart, splice
from guardrails.asgi.replies import Rejection

__all__ = ["Body", "FormBody", "Item", "JsonBody", "MultipartBody", "TextBody"]

_DATA_URL = re.compile(r"data:(?:[\w!#$&^.+-]+/[\w!#$&^.+-]+)?(?:;[^,;\s]+)*,")
_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})
_IMAGE_PARTS = frozenset({"image_url", "input_image"})


@dataclass(slots=True)
class Item:
    """One piece of content to check. ``ref`` is the body's own handle for writing it back
    (a JSON path, a form pair index, a multipart part); ``label`` names where it came from
    when ``ref`` does not; ``data_url`` says a redaction must be re-encoded as a data URL."""

    content: str | bytes
    ref: Any = None
    label: str = ""
    data_url: bool = False

    @property
    def where(self) -> str:
        """Where the content was, for reasons and logs: ``messages[0].content``, ``body``..."""
        return self.label or format_path(self.ref)


class Body:
    """A parsed body: its items, and the body bytes with redacted texts put back."""

    def __init__(self, items: list[Item] | None = None) -> None:
        self.items = items if items is not None else []

    def rewrite(self, redacted: dict[int, str]) -> bytes:  # pragma: no cover - no text items
        raise NotImplementedError

    def _add(self, text: str, ref: Any, label: str = "") -> None:
        """Add ``text``, decoding it first if it is a data URL."""
        if not text.startswith("data:") or not _DATA_URL.match(text):
            self.items.append(Item(text, ref, label))
            return
        where = label or format_path(ref)
        mime, params, raw = parse_data_url(text, where)
        if mime.startswith("image/"):
            self.items.append(Item(require_image(raw, where), ref, label))
        elif mime.startswith("text/") or is_json_type(mime):
            self.items.append(Item(decode_text(raw, params.get("charset")), ref, label, True))
        else:
            raise Rejection(415, "unsupported_media_type", f"{where}: cannot check {mime} data")

    @staticmethod
    def _value(item: Item, text: str) -> str:
        if item.data_url:
            return (
                "data:text/plain;charset=utf-8;base64," + base64.b64encode(text.encode()).decode()
            )
        return text


_UTF8_LABELS = frozenset({None, "utf-8", "utf8", "UTF-8", "UTF8"})


def _fast_json(data: bytes, charset: str | None) -> Any:
    """The document parsed by orjson (several times faster than ``json`` on small bodies), or
    ``_UNPARSED`` when orjson cannot: a charset label other than UTF-8, or anything it refuses
    (errors, NaN, a BOM, lone surrogates, nesting past 1024) goes to the standard parser,
    which decides and explains. Integers past 64 bits come back as floats: :meth:`JsonBody.
    rewrite` parses again with ``json`` before writing a document back."""
    if charset not in _UTF8_LABELS:
        return _UNPARSED
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return _UNPARSED


_UNPARSED = object()


class JsonBody(Body):
    """``dedupe``: several paths may reach one value (``**`` beside ``prompt``); each is then
    checked once. Paths that start at different top-level keys cannot, and skip the work."""

    def __init__(
        self, data: bytes, charset: str | None, paths: Sequence[JsonPath], dedupe: bool = True
    ) -> None:
        self.items = []
        self.data, self.exact = data, False
        self.doc = _fast_json(data, charset)
        try:
            if self.doc is _UNPARSED:
                self.doc = json.loads(decode_text(data, charset, json_only=True))
                self.exact = True
        except json.JSONDecodeError as exc:
            detail = f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
            raise Rejection(400, "malformed_json", detail) from None
        except (RecursionError, ValueError):
            raise Rejection(
                400, "malformed_json", "nested too deeply or a number too long"
            ) from None
        seen: set[tuple[str | int, ...]] | None = set() if dedupe else None
        try:
            for path in paths:
                for where, value in resolve(self.doc, path):
                    if value.__class__ is str and seen is None:  # a message's content
                        self._add(value, where)
                    else:
                        self._content(value, where, seen)
        except RecursionError:
            raise Rejection(400, "malformed_json", "content nested too deeply") from None

    def _content(self, value: Any, where: tuple[str | int, ...], seen: set[Any] | None) -> None:
        if isinstance(value, str):
            if seen is None:
                self._add(value, where)
            elif where not in seen:
                seen.add(where)
                self._add(value, where)
        elif isinstance(value, list):
            for i, element in enumerate(value):
                self._content(element, (*where, i), seen)
        elif isinstance(value, dict):
            kind = value.get("type")
            kind = kind if isinstance(kind, str) else None
            if kind in _TEXT_PARTS and isinstance(value.get("text"), str):
                self._content(value["text"], (*where, "text"), seen)
            elif kind in _IMAGE_PARTS:
                url = value.get("image_url")
                if isinstance(url, dict):
                    self._content(url.get("url"), (*where, "image_url", "url"), seen)
                else:
                    self._content(url, (*where, "image_url"), seen)
            elif "content" in value:
                self._content(value["content"], (*where, "content"), seen)
            else:
                for path, text in walk_strings(value, where):
                    self._content(text, path, seen)

    def rewrite(self, redacted: dict[int, str]) -> bytes:
        if not self.exact:  # numbers exactly as sent; the paths are the same in both parses
            self.doc, self.exact = json.loads(self.data), True
        for index, text in redacted.items():
            item = self.items[index]
            self.doc = set_at(self.doc, item.ref, self._value(item, text))
        return json.dumps(self.doc, separators=(",", ":")).encode()


class FormBody(Body):
    """``application/x-www-form-urlencoded``: ASCII, other characters percent-encoded as UTF-8
    (as browsers send it). Starlette reads a raw byte past ASCII as Latin-1 and other apps as
    UTF-8, and none agree on a charset label (see :func:`~guardrails.asgi.media.form_charset`),
    so raw non-ASCII bytes (400) and labels other than UTF-8 (415) are refused."""

    def __init__(self, data: bytes, charset: str | None, fields: Collection[str] | None) -> None:
        super().__init__()
        self.charset = form_charset(charset, "the form")
        if not data.isascii():
            detail = "form data must be ASCII, other characters percent-encoded as UTF-8"
            raise Rejection(400, "invalid_encoding", detail)
        try:
            self.pairs = parse_qsl(
                data.decode("ascii"), keep_blank_values=True, encoding=self.charset, errors="strict"
            )
        except UnicodeDecodeError:
            raise Rejection(
                400, "invalid_encoding", f"form data is not valid {self.charset}"
            ) from None
        for index, (name, value) in enumerate(self.pairs):
            if value and (fields is None or name in fields):
                self._add(value, index, f"form field {name!r}")

    def rewrite(self, redacted: dict[int, str]) -> bytes:
        for index, text in redacted.items():
            item = self.items[index]
            self.pairs[item.ref] = (self.pairs[item.ref][0], self._value(item, text))
        return urlencode(self.pairs, encoding=self.charset).encode("ascii")


class MultipartBody(Body):
    """``multipart/form-data``, read as Starlette reads it: every field in the form's
    ``charset`` (UTF-8 unless labelled ASCII). A form, ``_charset_`` field, field or upload
    labelled with another charset is refused (see :func:`~guardrails.asgi.media.form_charset`):
    a field's own label and ``_charset_`` are ignored by Starlette, honoured by others."""

    def __init__(
        self, data: bytes, params: Mapping[str, str], fields: Collection[str] | None
    ) -> None:
        super().__init__()
        self.data = data
        codec = form_charset(params.get("charset"), "the form")
        parts = parse_multipart(data, params.get("boundary"), charset=codec)
        for part in parts:
            mime, part_params = parse_content_type(part.content_type)
            where = (
                f"upload {part.name!r} ({part.filename!r})"
                if part.filename is not None
                else f"form field {part.name!r}"
            )
            form_charset(part_params.get("charset"), where)
            content = data[part.start : part.end]
            if part.name == "_charset_" and part.filename is None:  # RFC 7578 4.6
                form_charset(content.decode("latin-1").strip(), "the _charset_ field")
            if part.filename is not None:
                if not content:
                    continue  # a file input left empty
                if sniff_image(content) is not None:  # and not a bomb: checked from its header
                    self.items.append(Item(require_image(content, where), part, where))
                elif mime.startswith("text/") or is_json_type(mime):
                    self._add(decode_text(content, codec), (part, codec), where)
                else:
                    require_image(content, where)
            elif fields is None or part.name in fields:
                text = decode_text(content, codec)
                if text:
                    self._add(text, (part, codec), where)

    def rewrite(self, redacted: dict[int, str]) -> bytes:
        replacements = []
        for index, text in redacted.items():
            item = self.items[index]
            part, charset = item.ref
            data = self._value(item, text).encode(charset, "replace")
            replacements.append((part.start, part.end, data))
        return splice(self.data, replacements)


class TextBody(Body):
    """A text body. ``strict=False`` (for responses the app wrote) reads what it can instead
    of refusing bytes that are not valid in the charset."""

    def __init__(self, data: bytes, charset: str | None, *, strict: bool = True) -> None:
        self.charset = charset or "utf-8"
        if strict:
            text = decode_text(data, charset)
        else:
            try:
                text = data.decode(self.charset, "replace")
            except LookupError:
                self.charset = "utf-8"
                text = data.decode(self.charset, "replace")
        super().__init__([Item(text, None, "body")])

    def rewrite(self, redacted: dict[int, str]) -> bytes:
        return redacted[0].encode(self.charset, "replace")
