"""User-supplied patterns, compiled with RE2 so matching is linear in the text: no pattern a
policy author writes can hang the process (no backtracking, no backreferences, no lookaround)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import re2

from guardrails.policy.steps import RegexStep
from guardrails.rules.base import CheckContext, Detection

__all__ = ["RegexCheck", "compile_pattern"]

_MAX_MEM = 32 << 20  # bytes RE2 may use for one compiled pattern
# google-re2's wrapper turns every match into a Python object and maps its byte offsets back to
# characters; for ASCII text (offsets equal) the spans can come straight from the compiled RE2.
# Its internals may change: without them, the public finditer serves every text.
_UNANCHORED = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
_SET_MAX_MEM = 64 << 20  # and for the set of a step's patterns


def _options(case_sensitive: bool) -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _MAX_MEM
    options.case_sensitive = case_sensitive
    return options


def compile_pattern(pattern: str, case_sensitive: bool = False) -> re2._Regexp:
    """Compile with RE2 or raise ValueError saying why, in terms a policy author can act on."""
    try:
        compiled = re2.compile(pattern, _options(case_sensitive))
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        hint = ""
        if "escape" in reason or "perl operator" in reason:
            hint = " (RE2 has no backreferences or lookaround: that is what keeps it linear-time)"
        raise ValueError(
            f"pattern {pattern!r} is not a valid RE2 pattern: {reason}{hint}"
        ) from None
    if compiled.fullmatch("") is not None:
        raise ValueError(f"pattern {pattern!r} matches the empty string, so it matches everything")
    return compiled


def _prefilter(patterns: Sequence[tuple[str, bool]]) -> re2.Set | None:
    """One RE2 set of all the patterns: a single pass tells which of them match at all, so a
    text that matches none (the usual case) costs one scan, not one per pattern. A set's DFA
    does not bail out when it runs slow (RE2 never gives up on a many-match DFA for speed), so
    its answer is complete; a set too big to compile is skipped and each pattern scans alone."""
    if len(patterns) < 2:
        return None
    options = _options(case_sensitive=True)
    options.max_mem = _SET_MAX_MEM
    options.never_capture = True
    members = re2.Set.SearchSet(options)
    for pattern, case_sensitive in patterns:
        members.Add(pattern if case_sensitive else f"(?i:{pattern})")
    try:
        members.Compile()
    except re2.error:
        return None
    return members


def _raw(compiled: re2._Regexp) -> Any:
    """The compiled RE2 under the wrapper, for the ASCII fast path, or None without it."""
    return getattr(compiled, "_regexp", None) if _UNANCHORED is not None else None


class RegexCheck:
    kind: ClassVar[str] = "regex"

    def __init__(self, patterns: Sequence[tuple[str, str, bool]]) -> None:
        """``patterns`` are ``(label, pattern, case_sensitive)`` triples."""
        self._patterns = [
            (label, compiled, _raw(compiled))
            for label, compiled in (
                (label, compile_pattern(pattern, case_sensitive))
                for label, pattern, case_sensitive in patterns
            )
        ]
        self._prefilter = _prefilter([(pattern, cs) for _, pattern, cs in patterns])
        # the compiled set under the wrapper, which takes bytes as they are (saves a call)
        self._set_bytes = getattr(self._prefilter, "_set", self._prefilter)

    @classmethod
    def from_config(cls, config: RegexStep, base_dir: Path) -> RegexCheck:
        return cls([(p.label, p.pattern, p.case_sensitive) for p in config.patterns])

    def scan(self, text: str, context: CheckContext) -> Sequence[Detection]:
        # ASCII text is scanned as bytes: offsets are the same and RE2's wrapper skips mapping
        # UTF-8 offsets back to characters.
        subject: str | bytes = text.encode() if text.isascii() else text
        if self._prefilter is None:
            candidates: Sequence[int] = range(len(self._patterns))
        else:
            members = self._set_bytes if subject.__class__ is bytes else self._prefilter
            candidates = members.Match(subject) or ()
        if len(candidates) > 1:
            candidates = sorted(candidates)
        found: list[Detection] = []
        for index in candidates:
            label, compiled, regexp = self._patterns[index]
            if regexp is None or subject.__class__ is not bytes:
                for match in compiled.finditer(subject):
                    if match.end() > match.start():
                        found.append(Detection._trusted(label, match.span()))
                continue
            # RE2's own unanchored search, from each match's end: the spans finditer would give
            pos, end = 0, len(subject)
            while pos <= end:
                start, stop = regexp.Match(_UNANCHORED, subject, pos, end)[0]
                if start < 0:
                    break
                if stop > start:
                    found.append(Detection._trusted(label, (start, stop)))
                    pos = stop
                else:
                    pos = stop + 1  # past an empty match
        return found
