"""Credentials: cloud and SaaS API keys, tokens, private keys, JWTs, password assignments.

Each kind is a pattern anchored on the provider's documented prefix or shape. Findings carry the
kind and the span, never the matched value, so a decision can be logged or returned safely.
A generic ``password = value`` assignment counts only when the value looks random (Shannon
entropy per character at least ``min_entropy``), so ``password=changeme`` in docs is not flagged
while ``password=hR8#kq2Lz!vW`` is.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from guardrails.policy.steps import SecretsStep
from guardrails.rules.base import CheckContext, Detection

__all__ = ["SecretsCheck", "shannon_entropy"]

_B = r"(?<![A-Za-z0-9_-])"  # left boundary: not inside a longer token
_E = r"(?![A-Za-z0-9_-])"  # right boundary

PATTERNS: dict[str, re.Pattern[str]] = {
    "aws_access_key": re.compile(_B + r"(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA)[A-Z0-9]{16}" + _E),
    "aws_secret_key": re.compile(
        r"(?i)aws.{0,20}?(?:secret|private).{0,20}?['\"=:\s]+([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
    ),
    "github_token": re.compile(
        _B + r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})" + _E
    ),
    "gitlab_token": re.compile(_B + r"gl(?:pat|dt|ptt|rt|cbt)-[A-Za-z0-9_-]{20,64}" + _E),
    "slack_token": re.compile(_B + r"xox[abposr]-(?:\d+-)+[A-Za-z0-9-]{10,}" + _E),
    "slack_webhook": re.compile(
        r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/-]{20,}"
    ),
    "stripe_key": re.compile(_B + r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,247}" + _E),
    "openai_key": re.compile(
        _B + r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Za-z0-9_-]{20,200}" + _E
        + r"|" + _B + r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,200}" + _E
        + r"|" + _B + r"sk-[A-Za-z0-9]{48}" + _E
    ),
    "anthropic_key": re.compile(_B + r"sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,120}" + _E),
    "google_api_key": re.compile(_B + r"AIza[0-9A-Za-z_-]{35}" + _E),
    "private_key": re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]{0,8192}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)?"
    ),
    "jwt": re.compile(
        _B + r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}" + _E
    ),
    "password_assignment": re.compile(
        r"(?i)(?<![A-Za-z0-9])(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|"
        r"auth[_-]?token|client[_-]?secret|private[_-]?key)[\"']?\s*[:=]\s*[\"']?"
        r"([^\s\"',;]{8,128})"
    ),
}  # fmt: skip

_VALUE_GROUP = {"aws_secret_key", "password_assignment"}  # the secret is group 1, not the match


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s own character distribution."""
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


class SecretsCheck:
    kind: ClassVar[str] = "secrets"

    def __init__(self, kinds: Sequence[str], min_entropy: float = 3.0) -> None:
        self._patterns = [(kind, PATTERNS[kind]) for kind in kinds]
        self.min_entropy = min_entropy

    @classmethod
    def from_config(cls, config: SecretsStep, base_dir: Path) -> SecretsCheck:
        return cls(config.kinds, config.min_entropy)

    def scan(self, text: str, context: CheckContext) -> Sequence[Detection]:
        found: list[Detection] = []
        taken: list[tuple[int, int]] = []
        for kind, pattern in self._patterns:
            for m in pattern.finditer(text):
                group = 1 if kind in _VALUE_GROUP else 0
                span = m.span(group)
                if kind == "password_assignment" and (
                    shannon_entropy(m.group(1)) < self.min_entropy or m.group(1).startswith("${")
                ):
                    continue
                if any(span[0] < end and start < span[1] for start, end in taken):
                    continue
                taken.append(span)
                found.append(Detection(label=kind, span=span, detail=f"{kind} found"))
        return found
