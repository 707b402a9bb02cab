"""Redaction: what replaces a redacted finding, and rewriting text with those replacements."""

from __future__ import annotations

from guardrails.decision import Finding

__all__ = ["apply_redactions", "replacement_for"]


def replacement_for(finding: Finding) -> str:
    """What redaction puts in place of a finding: ``[LABEL]``; invisible characters go."""
    return "" if finding.kind == "invisible" else f"[{finding.label.upper()}]"


def apply_redactions(text: str, redactions: list[tuple[tuple[int, int], str]]) -> str:
    """Replace each span with its replacement. Overlapping spans merge into their union, named
    by the longest span starting first: redaction errs on hiding too much, never too little."""
    pieces: list[str] = []
    cursor = 0
    for (start, end), replacement in sorted(redactions, key=lambda r: (r[0][0], -r[0][1])):
        if start < cursor:  # overlaps the previous span
            cursor = max(cursor, end)
            continue
        pieces.append(text[cursor:start])
        pieces.append(replacement)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)
