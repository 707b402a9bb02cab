"""Characters a reader cannot see: zero-width characters, bidi overrides that reorder what is
displayed (Trojan Source, CVE-2021-42574), control characters, Unicode tag characters (used to
smuggle hidden instructions to LLMs) and private-use code points.

With ``action: redact`` the characters are removed rather than replaced by a token.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from guardrails.policy.steps import InvisibleStep
from guardrails.rules.base import CheckContext, Detection

__all__ = ["InvisibleCheck"]

CATEGORIES: dict[str, str] = {
    "zero_width": "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200d\u2060-\u2064"
    "\u3164\ufeff\uffa0",
    "bidi": "\u200e\u200f\u202a-\u202e\u2066-\u2069",
    "control": "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f",
    "tag": "\U000e0000-\U000e007f",
    "private_use": "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd",
}


class InvisibleCheck:
    kind: ClassVar[str] = "invisible"

    def __init__(self, categories: Sequence[str]) -> None:
        self.categories = tuple(categories)
        # One pass: a named group per category, runs of the same category as one finding.
        alternatives = [f"(?P<{name}>[{CATEGORIES[name]}]+)" for name in self.categories]
        self._pattern = re.compile("|".join(alternatives))
        # In ASCII text only control characters can occur.
        self._ascii = (
            re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
            if "control" in self.categories
            else None
        )

    @classmethod
    def from_config(cls, config: InvisibleStep, base_dir: Path) -> InvisibleCheck:
        return cls(config.categories)

    def scan(self, text: str, context: CheckContext) -> Sequence[Detection]:
        if text.isascii() and (self._ascii is None or self._ascii.search(text) is None):
            return []
        return [
            Detection(
                label=m.lastgroup or "invisible",
                span=m.span(),
                detail=f"{m.end() - m.start()} character(s) U+{ord(m.group()[0]):04X}...",
            )
            for m in self._pattern.finditer(text)
        ]
