"""Size limits in characters, UTF-8 bytes and lines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from guardrails.policy.steps import LengthStep
from guardrails.rules.base import CheckContext, Detection

__all__ = ["LengthCheck"]


class LengthCheck:
    kind: ClassVar[str] = "length"

    def __init__(
        self,
        max_chars: int | None = None,
        max_bytes: int | None = None,
        max_lines: int | None = None,
    ) -> None:
        self.max_chars = max_chars
        self.max_bytes = max_bytes
        self.max_lines = max_lines

    @classmethod
    def from_config(cls, config: LengthStep, base_dir: Path) -> LengthCheck:
        return cls(config.max_chars, config.max_bytes, config.max_lines)

    def scan(self, text: str, context: CheckContext) -> Sequence[Detection]:
        found: list[Detection] = []
        if self.max_chars is not None and len(text) > self.max_chars:
            found.append(
                Detection("too_many_chars", detail=f"{len(text)} > {self.max_chars} characters")
            )
        # A UTF-8 character is at most 4 bytes: skip the encoding when it cannot exceed.
        if self.max_bytes is not None and len(text) * 4 > self.max_bytes:
            size = len(text.encode("utf-8", "surrogatepass"))
            if size > self.max_bytes:
                found.append(Detection("too_many_bytes", detail=f"{size} > {self.max_bytes} bytes"))
        if self.max_lines is not None and text.count("\n") + 1 > self.max_lines:
            lines = text.count("\n") + 1
            found.append(Detection("too_many_lines", detail=f"{lines} > {self.max_lines} lines"))
        return found
