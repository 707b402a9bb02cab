"""Text folding for matching: case, width, accents, invisible characters, leetspeak, homoglyphs.

``fold(text)`` maps ``ＨＡＴＥ``, ``h@te``, ``ha\u200bte`` and ``hаte`` (Cyrillic а) all to
``hate``. Folding runs at C speed (``bytes.translate`` for ASCII, ``str.translate`` otherwise);
the character-by-character offset map back to the original text is built only when a caller
needs a span in a text whose length folding changed.
"""

from __future__ import annotations

import unicodedata
from functools import cache

__all__ = ["INVISIBLE", "fold", "folded_to_original", "map_span"]

INVISIBLE = frozenset(
    [
        *(0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0),
        *range(0x200B, 0x2010),  # zero-width space/joiners, LRM, RLM
        *range(0x202A, 0x202F),  # bidi embeddings and overrides
        *range(0x2060, 0x2070),  # word joiner, invisible operators, bidi isolates
        *range(0xFE00, 0xFE10),  # variation selectors
        *range(0xE0000, 0xE0080),  # tag characters (ASCII smuggling)
        *range(0xE0100, 0xE01F0),  # variation selectors supplement
    ]
)
"""Code points that render as nothing: removed before matching."""

LEET = {"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "5": "s", "$": "s", "7": "t"}
HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "һ": "h", "ɡ": "g",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "s", "σ": "o",
}  # fmt: skip

_RANGES = [
    (0x80, 0x250),  # Latin-1 supplement, Latin extended A/B
    (0x300, 0x370),  # combining diacritics
    (0x370, 0x530),  # Greek, Cyrillic
    (0x1D00, 0x1DC0),  # phonetic extensions
    (0x1E00, 0x1F00),  # Latin extended additional
    (0x2000, 0x2190),  # punctuation, super/subscripts, letterlike, number forms
    (0x2460, 0x2500),  # enclosed alphanumerics
    (0xFB00, 0xFB07),  # ligatures
    (0xFF00, 0xFFF0),  # fullwidth forms
    (0x1D400, 0x1D800),  # mathematical alphanumerics
    (0x1F100, 0x1F1EA),  # enclosed alphanumeric supplement
]


def _fold_char(ch: str, confusables: bool) -> str:
    if ord(ch) in INVISIBLE:
        return ""
    out = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", ch).casefold())
    out = "".join(c for c in out if not unicodedata.combining(c))
    if confusables:
        out = "".join(LEET.get(c, HOMOGLYPHS.get(c, c)) for c in out)
    return out


@cache
def _tables(confusables: bool) -> tuple[bytes, dict[int, str | None]]:
    ascii_map = bytearray(range(128))
    for code in range(128):
        ascii_map[code] = ord(_fold_char(chr(code), confusables) or chr(code))
    table: dict[int, str | None] = {}
    for start, stop in _RANGES:
        for code in range(start, stop):
            ch = chr(code)
            folded = _fold_char(ch, confusables)
            if folded != ch:
                table[code] = folded or None
    for code in INVISIBLE:
        table[code] = None
    for code in range(128):
        if ascii_map[code] != code:
            table[code] = chr(ascii_map[code])
    return bytes(ascii_map) + bytes(range(128, 256)), table


def fold(text: str, confusables: bool = True) -> str:
    """Fold ``text`` for matching. ``confusables`` adds leetspeak and homoglyph folding."""
    ascii_table, table = _tables(confusables)
    if text.isascii():
        return text.encode("ascii").translate(ascii_table).decode("ascii")
    return text.translate(table)


def folded_to_original(text: str, confusables: bool = True) -> list[int] | None:
    """For each folded position, the original index it came from (plus one past the end).

    ``None`` when folding kept every character in place (spans need no mapping).
    """
    if text.isascii():
        return None
    _, table = _tables(confusables)
    widths = [len(v) if (v := table.get(ord(c), c)) is not None else 0 for c in text]
    if all(w == 1 for w in widths):
        return None
    mapping: list[int] = []
    for index, width in enumerate(widths):
        mapping.extend([index] * width)
    mapping.append(len(text))
    return mapping


def map_span(span: tuple[int, int], mapping: list[int] | None) -> tuple[int, int]:
    """Turn a ``[start, end)`` span in folded text into one in the original text."""
    if mapping is None:
        return span
    start, end = span
    original_end = mapping[end - 1] + 1 if end > 0 else 0
    return mapping[start], original_end
