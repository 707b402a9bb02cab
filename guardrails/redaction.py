"""Redaction: what replaces a redacted finding, and rewriting text with those replacements."""

from __future__ import annotations

from guardrails.decision import Finding

__all__ = ["apply_redactions", "redact_with_map", "replacement_for", "to_original"]


def replacement_for(finding: Finding) -> str:
    """What redaction puts in place of a finding: ``[LABEL]``; invisible characters go."""
    return "" if finding.kind == "invisible" else f"[{finding.label.upper()}]"


Segment = tuple[int, int, int, int]
"""A replaced region: its start and end in the redacted text, then in the original."""


def apply_redactions(text: str, redactions: list[tuple[tuple[int, int], str]]) -> str:
    """Replace each span with its replacement. Overlapping spans merge into their union, named
    by the longest span starting first: redaction errs on hiding too much, never too little."""
    return redact_with_map(text, redactions)[0]


def redact_with_map(
    text: str, redactions: list[tuple[tuple[int, int], str]]
) -> tuple[str, list[Segment]]:
    """:func:`apply_redactions`, and where each replacement went (for :func:`to_original`)."""
    pieces: list[str] = []
    segments: list[Segment] = []
    cursor = size = 0  # in the original; the length of the redacted text so far
    for (start, end), replacement in sorted(redactions, key=lambda r: (r[0][0], -r[0][1])):
        if start < cursor:  # overlaps the previous span: the union goes
            if end > cursor:
                new_start, new_end, old_start, _ = segments[-1]
                segments[-1] = (new_start, new_end, old_start, end)
            cursor = max(cursor, end)
            continue
        pieces.append(text[cursor:start])
        size += start - cursor
        pieces.append(replacement)
        segments.append((size, size + len(replacement), start, end))
        size += len(replacement)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces), segments


def to_original(span: tuple[int, int], segments: list[Segment]) -> tuple[int, int]:
    """A span of the redacted text as a span of the original: a position inside a replacement
    stands for all of what it replaced, so the span covers everything it touches."""
    return _position(span[0], segments, end=False), _position(span[1], segments, end=True)


def _position(pos: int, segments: list[Segment], *, end: bool) -> int:
    shift = 0
    for new_start, new_end, old_start, old_end in segments:
        if (new_start < pos <= new_end) if end else (new_start <= pos < new_end):
            return old_end if end else old_start
        if not ((pos > new_end) if end else (pos >= new_end)):
            break
        shift = old_end - new_end
    return pos + shift
