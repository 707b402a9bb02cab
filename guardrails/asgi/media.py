"""Content types, charsets, image magic bytes and data URLs.

Whatever cannot be read as its headers say raises a :class:`~guardrails.asgi.replies.Rejection`
(415 for a type or charset that cannot be checked, 400 for bytes that are not what they claim).
An image is refused before any model sees it if its magic bytes name no known format, or, when
Pillow is installed (the ``vision`` extra), if its header cannot be read or declares more than
:data:`~guardrails.embedders.images.MAX_PIXELS` pixels (a decompression bomb: a tiny file whose
pixels would fill the memory): 413. No pixel is decoded to find out.
"""

from __future__ import annotations

import base64
import binascii
import codecs
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from urllib.parse import unquote_to_bytes

from guardrails.asgi.replies import Rejection

__all__ = [
    "decode_text",
    "form_charset",
    "is_json_type",
    "parse_content_type",
    "parse_data_url",
    "require_image",
    "sniff_image",
]

_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
_UTF8_NAMES = frozenset({"utf-8", "ascii"})
_NO_PARAMS: Mapping[str, str] = MappingProxyType({})


@lru_cache(maxsize=512)  # a handful of distinct values in practice; bounded if not
def parse_content_type(value: str | None) -> tuple[str, Mapping[str, str]]:
    """``'Text/Plain; charset="UTF-8"'`` -> ``('text/plain', {'charset': 'UTF-8'})``."""
    if not value:
        return "", _NO_PARAMS
    mime, _, rest = value.partition(";")
    params: dict[str, str] = {}
    while rest:
        key, _, rest = rest.partition("=")
        rest = rest.lstrip()
        if rest.startswith('"'):  # quoted-string: may contain ';' and backslash escapes
            i, out = 1, []
            while i < len(rest) and rest[i] != '"':
                if rest[i] == "\\" and i + 1 < len(rest):
                    i += 1
                out.append(rest[i])
                i += 1
            val, rest = "".join(out), rest[i + 1 :].partition(";")[2]
        else:
            val, _, rest = rest.partition(";")
        if key.strip():
            params[key.strip().lower()] = val.strip()
    return mime.strip().lower(), MappingProxyType(params)


def is_json_type(mime: str) -> bool:
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


def decode_text(data: bytes, charset: str | None, *, json_only: bool = False) -> str:
    """Decode strictly. An unknown charset is a 415, bytes invalid in it a 400.

    ``json_only``: JSON is UTF-8 (RFC 8259); a body labelled with another charset is refused.
    """
    if charset is None:  # the common case, without a codec lookup
        codec_name = "utf-8"
    else:
        name = charset.strip().lower()
        try:
            codec_name = codecs.lookup(name).name
        except LookupError:
            raise Rejection(415, "unsupported_charset", f"unknown charset {name!r}") from None
        if json_only and codec_name not in _UTF8_NAMES:
            raise Rejection(415, "unsupported_charset", f"JSON must be UTF-8, not {name!r}")
    try:
        return data.decode(codec_name)
    except UnicodeDecodeError as exc:
        raise Rejection(
            400, "invalid_encoding", f"body is not valid {codec_name} (byte {exc.start})"
        ) from None
    except LookupError:  # a bytes-to-bytes codec such as base64
        detail = f"{charset!r} is not a text charset"
        raise Rejection(415, "unsupported_charset", detail) from None


def form_charset(charset: str | None, where: str) -> str:
    """The codec a form is read with: ``utf-8``, or ``ascii`` when labelled so; else a 415.

    Apps do not agree on a form's declared charset. Starlette reads urlencoded forms as UTF-8
    whatever their label, reads multipart fields in the form's ``charset`` parameter, and
    ignores a field's own label and a ``_charset_`` field; other frameworks honour some of
    these. The middleware can only check what the app will read where every reading agrees,
    so a form, field or upload labelled with any other charset is refused.
    """
    if charset is None:
        return "utf-8"
    name = charset.strip().lower()
    try:
        codec_name = codecs.lookup(name).name
    except LookupError:
        codec_name = ""
    if codec_name not in _UTF8_NAMES:
        detail = f"{where} is labelled {name!r}: forms are only accepted in UTF-8"
        raise Rejection(415, "unsupported_charset", detail)
    return codec_name


def sniff_image(data: bytes) -> str | None:
    """The image format named by ``data``'s magic bytes, or None."""
    for magic, name in _IMAGE_MAGIC:
        if data.startswith(magic):
            return name
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def require_image(data: bytes, where: str) -> bytes:
    """``data`` if it is an image the engine can be given: a 415 if it is not an image, a 400
    if its header is unreadable, a 413 if it is too large to decode safely."""
    if sniff_image(data) is None:
        raise Rejection(
            415, "not_an_image", f"{where} is not an image (PNG, JPEG, GIF, WebP, BMP or TIFF)"
        )
    from guardrails.embedders.images import MAX_PIXELS, image_size
    from guardrails.errors import InputError, MissingDependency

    try:
        size = image_size(data)
    except MissingDependency:  # no Pillow: no image model can run either; magic bytes it is
        return data
    except InputError:
        raise Rejection(400, "invalid_image", f"{where} is not a readable image") from None
    if size is None or size[0] * size[1] > MAX_PIXELS:
        declared = f"{size[0]}x{size[1]} pixels" if size else "its declared size"
        detail = f"{where}: {declared} is over the {MAX_PIXELS}-pixel limit"
        raise Rejection(413, "image_too_large", detail)
    return data


def parse_data_url(url: str, where: str) -> tuple[str, Mapping[str, str], bytes]:
    """``data:[<type>][;base64],<data>`` -> (media type, its parameters, decoded bytes)."""
    header, comma, data = url[5:].partition(",")
    if not comma:
        raise Rejection(400, "invalid_data_url", f"{where}: data URL without a comma")
    is_base64 = header.endswith(";base64") or header == "base64"
    mime, params = parse_content_type(header.removesuffix("base64").rstrip(";"))
    try:
        raw = (
            base64.b64decode(unquote_to_bytes(data), validate=True)
            if is_base64
            else unquote_to_bytes(data)
        )
    except (binascii.Error, ValueError):
        raise Rejection(400, "invalid_data_url", f"{where}: invalid base64 in data URL") from None
    return mime or "text/plain", params, raw
