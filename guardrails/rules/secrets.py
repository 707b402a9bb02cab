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
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import ahocorasick

from guardrails.policy.steps import SecretsStep
from guardrails.rules.base import CheckContext, Detection

__all__ = ["KINDS", "SecretsCheck", "shannon_entropy"]

_TOKEN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_E = r"(?![A-Za-z0-9_-])"  # right boundary: not inside a longer token


@dataclass(frozen=True, slots=True)
class _Kind:
    """A kind of secret: literal substrings one of which must occur, in any case (a prefilter
    that skips the regexes on almost every text), and the patterns, which begin with a literal
    so the regex engine can search for it. ``token``: the match must not continue a longer token on
    its left (checked after the match: a leading lookbehind would defeat the literal search)."""

    needles: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    token: bool = True
    value_group: int = 0  # the secret is this group (assignments: the value, not the name)


KINDS: dict[str, _Kind] = {
    "aws_access_key": _Kind(
        ("AKIA", "ASIA", "ABIA", "ACCA", "AIDA", "AROA"),
        (re.compile(r"(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA)[A-Z0-9]{16}" + _E),),
    ),
    "aws_secret_key": _Kind(
        ("aws",),
        (re.compile(r"(?i)aws.{0,20}?(?:secret|private).{0,20}?['\"=:\s]+([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"),),
        token=False, value_group=1,
    ),
    "github_token": _Kind(
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        (re.compile(r"gh[pousr]_[A-Za-z0-9]{36,255}" + _E),
         re.compile(r"github_pat_[A-Za-z0-9_]{22,255}" + _E)),
    ),
    "gitlab_token": _Kind(
        ("glpat-", "gldt-", "glptt-", "glrt-", "glcbt-"),
        (re.compile(r"gl(?:pat|dt|ptt|rt|cbt)-[A-Za-z0-9_-]{20,64}" + _E),),
    ),
    "slack_token": _Kind(
        ("xox",), (re.compile(r"xox[abposr]-(?:\d+-)+[A-Za-z0-9-]{10,}" + _E),)
    ),
    "slack_webhook": _Kind(
        ("hooks.slack.com",),
        (re.compile(r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/-]{20,}"),),
        token=False,
    ),
    "stripe_key": _Kind(
        ("_live_", "_test_"), (re.compile(r"[spr]k_(?:live|test)_[A-Za-z0-9]{16,247}" + _E),)
    ),
    "openai_key": _Kind(
        ("sk-",),
        (re.compile(r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}"
                    r"T3BlbkFJ[A-Za-z0-9_-]{20,200}" + _E),
         re.compile(r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,200}" + _E),
         re.compile(r"sk-[A-Za-z0-9]{48}" + _E)),
    ),
    "anthropic_key": _Kind(
        ("sk-ant-",), (re.compile(r"sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,120}" + _E),)
    ),
    "google_api_key": _Kind(("AIza",), (re.compile(r"AIza[0-9A-Za-z_-]{35}" + _E),)),
    "private_key": _Kind(
        ("PRIVATE KEY",),
        (re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]{0,8192}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)?"
        ),),
        token=False,
    ),
    "jwt": _Kind(
        ("eyJ",),
        (re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}" + _E),),
    ),
    "password_assignment": _Kind(
        ("pass", "pwd", "secret", "key", "token"),
        (re.compile(
            r"(?i)(?<![A-Za-z0-9])(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|"
            r"auth[_-]?token|client[_-]?secret|private[_-]?key)[\"']?\s*[:=]\s*[\"']?"
            r"([^\s\"',;]{8,128})"
        ),),
        token=False, value_group=1,
    ),
}  # fmt: skip


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s own character distribution."""
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


class SecretsCheck:
    kind: ClassVar[str] = "secrets"

    def __init__(self, kinds: Sequence[str], min_entropy: float = 3.0) -> None:
        self._kinds = [(name, KINDS[name]) for name in kinds]
        self.min_entropy = min_entropy
        # One Aho-Corasick pass over the lower-cased text finds which kinds' needles occur;
        # only those kinds' regexes run (the regexes decide, with their own case rules).
        self._needles = ahocorasick.Automaton()
        owners: dict[str, set[str]] = {}
        for name, kind in self._kinds:
            for needle in kind.needles:
                owners.setdefault(needle.lower(), set()).add(name)
        for needle, names in owners.items():
            self._needles.add_word(needle, frozenset(names))
        self._needles.make_automaton()

    @classmethod
    def from_config(cls, config: SecretsStep, base_dir: Path) -> SecretsCheck:
        return cls(config.kinds, config.min_entropy)

    def scan(self, text: str, context: CheckContext) -> Sequence[Detection]:
        present: set[str] = set()
        for _, names in self._needles.iter(text.lower()):
            present |= names
        if not present:
            return ()
        found: list[Detection] = []
        taken: list[tuple[int, int]] = []
        for name, kind in self._kinds:
            if name not in present:
                continue
            for pattern in kind.patterns:
                for m in pattern.finditer(text):
                    if kind.token and m.start() > 0 and text[m.start() - 1] in _TOKEN:
                        continue
                    if name == "password_assignment" and not self._random_enough(m.group(1)):
                        continue
                    span = m.span(kind.value_group)
                    if any(span[0] < end and start < span[1] for start, end in taken):
                        continue
                    taken.append(span)
                    found.append(Detection._trusted(name, span, f"{name} found"))
        return found

    def _random_enough(self, value: str) -> bool:
        return not value.startswith("${") and shannon_entropy(value) >= self.min_entropy
