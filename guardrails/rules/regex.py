"""User-supplied patterns, compiled with RE2 so matching is linear in the text: no pattern a
policy author writes can hang the process (no backtracking, no backreferences, no lookaround)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import re2

from guardrails.policy.steps import RegexStep
from guardrails.rules.base import CheckContext, Detection

__all__ = ["RegexCheck", "compile_pattern"]

_MAX_MEM = 32 << 20  # bytes RE2 may use for one compiled pattern


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


class RegexCheck:
    kind: ClassVar[str] = "regex"

    def __init__(self, patterns: Sequence[tuple[str, str, bool]]) -> None:
        """``patterns`` are ``(label, pattern, case_sensitive)`` triples."""
        self._patterns = [
            (label, compile_pattern(pattern, case_sensitive))
            for label, pattern, case_sensitive in patterns
        ]

    @classmethod
    def from_config(cls, config: RegexStep, base_dir: Path) -> RegexCheck:
        return cls([(p.label, p.pattern, p.case_sensitive) for p in config.patterns])

    def scan(self, text: str, context: CheckContext) -> Sequence[Detection]:
        found: list[Detection] = []
        for label, compiled in self._patterns:
            for match in compiled.finditer(text):
                start, end = match.span()
                if end > start:
                    found.append(Detection(label=label, span=(start, end)))
        return found
