"""multipart/form-data, parsed strictly from an already size-limited body.

The body was read under the middleware's limit, so parsing works on bytes in memory: each part
is located by its offsets, which lets a redaction be spliced back without re-encoding the other
parts. A missing closing boundary (a truncated upload), a part without headers' end or
without a ``Content-Disposition: form-data`` name is a 400, never a half-read form.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from guardrails.asgi.media import parse_content_type
from guardrails.asgi.replies import Rejection

__all__ = ["Part", "parse_multipart", "splice"]

MAX_PARTS = 1000
MAX_HEADER_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class Part:
    """One form field or file; its content is ``body[start:end]``."""

    name: str
    filename: str | None
    content_type: str
    start: int
    end: int


def _malformed(detail: str) -> Rejection:
    return Rejection(400, "malformed_multipart", detail)


def parse_multipart(
    body: bytes, boundary: str | None, max_parts: int = MAX_PARTS, *, charset: str = "utf-8"
) -> list[Part]:
    """The parts of ``body``, in order. Part headers are read in the form's ``charset``, as
    Starlette reads field names; headers not valid in it are a 400."""
    if not boundary or len(boundary) > 200:
        raise _malformed("multipart body without a valid boundary parameter")
    delimiter = b"\r\n--" + boundary.encode("latin-1", "replace")
    if body.startswith(delimiter[2:]):
        pos = len(delimiter) - 2
    else:  # a preamble before the first boundary
        first = body.find(delimiter)
        if first < 0:
            raise _malformed("the boundary does not occur in the body")
        pos = first + len(delimiter)
    parts: list[Part] = []
    while True:
        if body.startswith(b"--", pos):  # the closing delimiter; an epilogue is ignored
            return parts
        eol = body.find(b"\r\n", pos)
        if eol < 0 or body[pos:eol].strip(b" \t"):
            raise _malformed("truncated body: no line end after a boundary")
        head_start = eol + 2
        if body.startswith(b"\r\n", head_start):
            head, content_start = b"", head_start + 2
        else:
            head_end = body.find(b"\r\n\r\n", head_start, head_start + MAX_HEADER_BYTES)
            if head_end < 0:
                raise _malformed("truncated or oversized part headers")
            head, content_start = body[head_start:head_end], head_end + 4
        end = body.find(delimiter, content_start)
        if end < 0:
            raise _malformed("truncated body: the closing boundary is missing")
        parts.append(_part(head, content_start, end, charset))
        if len(parts) > max_parts:
            raise Rejection(413, "too_many_parts", f"more than {max_parts} multipart parts")
        pos = end + len(delimiter)


def _part(head: bytes, start: int, end: int, charset: str) -> Part:
    try:
        text = head.decode(charset)
    except UnicodeDecodeError:
        raise _malformed(f"part headers that are not valid {charset}") from None
    headers: dict[str, str] = {}
    for line in text.split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon:
            raise _malformed("a part header line without a colon")
        headers[name.strip().lower()] = value.strip()
    disposition, params = parse_content_type(headers.get("content-disposition"))
    if disposition != "form-data" or "name" not in params:
        raise _malformed("a part without 'Content-Disposition: form-data; name=...'")
    filename = params.get("filename")
    encoded = params.get("filename*")  # RFC 5987: charset''percent-encoded
    if encoded and "''" in encoded:
        charset, _, quoted = encoded.partition("''")
        filename = unquote(quoted, encoding=charset or "utf-8", errors="replace")
    return Part(params["name"], filename, headers.get("content-type", ""), start, end)


def splice(body: bytes, replacements: list[tuple[int, int, bytes]]) -> bytes:
    """``body`` with each ``(start, end)`` range replaced; ranges must not overlap."""
    pieces: list[bytes] = []
    cursor = 0
    for start, end, data in sorted(replacements):
        pieces += (body[cursor:start], data)
        cursor = end
    pieces.append(body[cursor:])
    return b"".join(pieces)
