"""Text folding for matching: case, width, accents, invisible characters, separators, leetspeak,
homoglyphs.

``fold(text)`` maps ``ＨＡＴＥ``, ``h@te``, ``ha\u200bte``, ``h\u1dc0ate`` and ``hаte`` (Cyrillic а)
all to ``hate``, and ``ignore__all\\n\\tprevious`` to ``ignore all previous``. Three stages, each
at C speed for the common case:

1. Per character (``bytes.translate`` for ASCII, ``str.translate`` otherwise): NFKC, case fold,
   accents and every other combining mark dropped, invisible characters dropped, homoglyphs to
   their Latin look-alike, whitespace, underscores and dashes to one space.
2. Runs of spaces collapse to one, so a phrase matches whatever separates its words.
3. Leetspeak (``@4→a 3→e 1!→i 0→o 5$→s 7→t``), only inside a token that also holds a letter:
   ``5h1t`` folds, ``55`` and ``1515`` stay numbers.

The offset map back to the original text is built only when a caller needs a span in a text
whose length folding changed.
"""

from __future__ import annotations

import re
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
    # Latin and IPA letters that NFKC leaves alone (after Unicode's confusables.txt)
    "ı": "i", "ɩ": "i", "ɪ": "i", "ǀ": "l", "ȷ": "j", "ĸ": "k", "ɑ": "a", "ɛ": "e", "ɡ": "g",
    "ɢ": "g", "ɣ": "y", "ʋ": "u",
    # small capitals
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ʜ": "h", "ᴊ": "j", "ᴋ": "k",
    "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ꞯ": "q", "ʀ": "r", "ꜱ": "s", "ᴛ": "t",
    "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ѵ": "v", "ѡ": "w",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "s", "σ": "o", "ϲ": "c", "ϳ": "j",
}  # fmt: skip

_MARKS = frozenset(["Mn", "Me"])
_SEPARATORS = frozenset(["Zs", "Zl", "Zp", "Pc", "Pd"])  # spaces, underscores, dashes
# A run of digits and leetspeak symbols with a letter right before or after it (tokens are made
# of a-z, digits and @!$). Each branch starts with a character class and anchors at the run's
# start, which keeps the search fast and linear.
_LEET_RUN = re.compile(r"[0-9@!$](?:(?<=[a-z].)[0-9@!$]*+|(?<![0-9@!$].)[0-9@!$]*+(?=[a-z]))")
_LEET_TABLE = str.maketrans(LEET)
_SPACES = re.compile(" {2,}")
_CACHE_LIMIT = 1 << 16


def _is_mark(ch: str) -> bool:
    return bool(unicodedata.combining(ch)) or unicodedata.category(ch) in _MARKS


def _is_separator(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in _SEPARATORS


def _fold_char(ch: str, confusables: bool) -> str:
    """One character folded, leetspeak aside (that depends on the token around it)."""
    if ord(ch) in INVISIBLE or _is_mark(ch):
        return ""
    if _is_separator(ch):
        return " "
    if confusables and ch in HOMOGLYPHS:
        return HOMOGLYPHS[ch]
    out = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", ch).casefold())
    out = "".join(" " if _is_separator(c) else c for c in out if not _is_mark(c))
    if confusables:
        out = "".join(HOMOGLYPHS.get(c, c) for c in out)
    return out


class _FoldTable(dict[int, str | None]):
    """``str.translate`` table filled on first sight of each code point (up to a bound)."""

    def __init__(self, confusables: bool) -> None:
        super().__init__()
        self.confusables = confusables
        for code in range(128):
            self[code] = _fold_char(chr(code), confusables)

    def __missing__(self, code: int) -> str | None:
        folded = _fold_char(chr(code), self.confusables) or None
        if len(self) < _CACHE_LIMIT:
            self[code] = folded
        return folded


@cache
def _tables(confusables: bool) -> tuple[bytes, bytes, _FoldTable]:
    """The ASCII table, the same with leetspeak on every character (to tell whether a text has
    any), and the table for everything else."""
    table = _FoldTable(confusables)
    ascii_map = bytes(ord(table[code] or chr(code)) for code in range(128))
    leet_map = bytes(ord(LEET.get(chr(code), chr(code))) for code in ascii_map)
    high = bytes(range(128, 256))
    return ascii_map + high, leet_map + high, table


def _fold_leet_run(match: re.Match[str]) -> str:
    return match.group().translate(_LEET_TABLE)


def _fold_chars(text: str, confusables: bool) -> str:
    ascii_table, _, table = _tables(confusables)
    if text.isascii():
        return text.encode("ascii").translate(ascii_table).decode("ascii")
    return text.translate(table)


def fold(text: str, confusables: bool = True) -> str:
    """Fold ``text`` for matching. ``confusables`` adds leetspeak and homoglyph folding."""
    ascii_table, leet_table, table = _tables(confusables)
    if text.isascii():
        raw = text.encode("ascii")
        folded_bytes = raw.translate(ascii_table)
        leet = confusables and folded_bytes != raw.translate(leet_table)
        folded = folded_bytes.decode("ascii")
    else:
        folded, leet = text.translate(table), confusables
    if "  " in folded:
        folded = _SPACES.sub(" ", folded)
    if leet:
        folded = _LEET_RUN.sub(_fold_leet_run, folded)
    return folded


def folded_to_original(
    text: str, confusables: bool = True, folded: str | None = None
) -> list[int] | None:
    """For each folded position, the original index it came from (plus one past the end).

    ``None`` when folding kept every character in place (spans need no mapping). ``folded``,
    the text's fold if the caller has it, saves work.
    """
    if folded is not None and text.isascii() and len(folded) == len(text):
        return None  # ASCII folds one to one but for runs of separators
    _, _, table = _tables(confusables)
    pieces = None if text.isascii() else [table[ord(c)] for c in text]
    if pieces is None or all(p is not None and len(p) == 1 for p in pieces):
        # One to one, but for runs of separators: all of a run's characters but its first go.
        chars = _fold_chars(text, confusables)
        if "  " not in chars:
            return None
        kept: list[int] = []
        previous = 0
        for run in _SPACES.finditer(chars):
            kept.extend(range(previous, run.start() + 1))
            previous = run.end()
        kept.extend(range(previous, len(text) + 1))
        return kept
    mapping: list[int] = []
    after_space = False
    for index, piece in enumerate(pieces):
        for c in piece or "":
            if c == " ":
                if after_space:
                    continue
                after_space = True
            else:
                after_space = False
            mapping.append(index)
    mapping.append(len(text))
    return mapping


def map_span(span: tuple[int, int], mapping: list[int] | None) -> tuple[int, int]:
    """Turn a non-empty ``[start, end)`` span in folded text into one in the original text.

    The end takes in what folding dropped right after the span (a trailing combining mark).
    """
    if mapping is None:
        return span
    start, end = span
    last = mapping[end - 1]
    return mapping[start], mapping[end] if mapping[end] != last else last + 1
