"""Request bodies turned into items to check: JSON strings, ``[text, text]`` pairs, content
parts, base64 images and data URLs, multipart uploads; and the service's 4xx answers.

An item that cannot be checked (an image that is not an image) becomes an :class:`InputError`
in its place, so the other items still answer; a request that cannot be read at all raises
``_BadRequest``, which the app turns into ``{"error": ..., "detail": ...}``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.responses import JSONResponse

from guardrails.asgi.media import decode_text, is_json_type, parse_content_type, require_image
from guardrails.asgi.replies import Rejection
from guardrails.errors import InputError

MAX_ITEMS = 256


class _BadRequest(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def _error(status: int, error: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)


def _image_bytes(value: str) -> bytes:
    """Decode a base64 string or a ``data:image/...;base64,`` URL."""
    if value.startswith("data:"):
        header, _, value = value.partition(",")
        if ";base64" not in header or not header[5:].startswith("image/"):
            raise InputError("an image data URL must be data:image/...;base64,...")
    try:  # line breaks are allowed (MIME wraps base64 at 76 characters), nothing else
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"invalid base64 image: {exc}") from None


def _checked_image(data: bytes, where: str) -> bytes | InputError:
    """``data`` if it is an image that can be decoded safely, else why not (as an item error)."""
    try:
        return require_image(data, where)
    except Rejection as exc:
        return InputError(exc.detail)


def _items_from_json(body: Any, pairs: bool = False) -> list[Any]:
    if not isinstance(body, dict):
        raise _BadRequest(400, "invalid_request", "the body is a JSON object with 'input'")
    raw = body.get("input")
    raw = [raw] if isinstance(raw, str | dict) else raw
    if raw is None and "images" not in body:
        raise _BadRequest(400, "invalid_request", "'input' (text, list, parts) is required")
    if not isinstance(raw, list | None):
        raise _BadRequest(400, "invalid_request", "'input' is a string, a part or a list")
    images = body.get("images")
    if not isinstance(images, list | None):
        raise _BadRequest(400, "invalid_request", "'images' is a list of base64 strings")
    items: list[str | bytes | tuple[str, str] | InputError] = []
    for index, part in enumerate(raw or []):
        if isinstance(part, str):
            items.append(part)
        elif (
            pairs
            and isinstance(part, list)
            and len(part) == 2
            and all(isinstance(p, str) for p in part)
        ):
            items.append((part[0], part[1]))
        elif isinstance(part, dict) and part.get("type") == "text":
            text = part.get("text", "")
            if not isinstance(text, str):
                raise _BadRequest(400, "invalid_request", f"input[{index}]: 'text' is a string")
            items.append(text)
        elif isinstance(part, dict) and part.get("type") == "image_url":
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            items.append(_decode_or_error(url, f"input[{index}]"))
        else:  # named by position and type: an answer never echoes the content
            kind = f"an object of type {part.get('type')!r}" if isinstance(part, dict) else None
            kind = kind or f"a JSON {_json_type(part)}"
            raise _BadRequest(400, "invalid_request", f"input[{index}]: unsupported item ({kind})")
    for index, image in enumerate(images or []):
        items.append(_decode_or_error(image, f"images[{index}]"))
    return items


def _json_type(value: Any) -> str:
    names = {bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}
    return "null" if value is None else names.get(type(value), "string")


def _decode_or_error(value: Any, where: str) -> bytes | InputError:
    if not isinstance(value, str):
        return InputError("an image is a base64 string or data URL")
    try:
        return _checked_image(_image_bytes(value), where)
    except InputError as exc:
        return exc


def _boundary(content_type: str) -> bytes | None:
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary" and value:
            return value.strip('"').encode("latin-1")
    return None


def _upload(data: bytes, content_type: str | None, name: str) -> str | bytes | InputError:
    """An uploaded file as an item: an image as bytes, a text file as text, else an error."""
    where = f"upload {name!r}"
    mime, params = parse_content_type(content_type)
    if not mime.startswith("image/") and (mime.startswith("text/") or is_json_type(mime)):
        try:
            return decode_text(data, params.get("charset"))
        except Rejection as exc:
            return InputError(f"{where}: {exc.detail}")
    return _checked_image(data, where)
