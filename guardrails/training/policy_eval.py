"""Score a whole policy on labelled data: its verdicts against the rows' labels.

A row is harmful unless its label is one of the benign labels (``benign``, ``neither``, ...).
The policy "catches" a row when its verdict is at least ``positive`` (block by default; flag to
count flags too). Reported: precision, recall, F1, the false-positive rate on benign rows, and
the same broken down per label and per ``category`` (when rows have one), which is where
over-blocking of look-alike benign prompts shows.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guardrails.decision import Verdict
from guardrails.engine import Engine
from guardrails.errors import DatasetError

__all__ = ["BENIGN_LABELS", "PolicyReport", "evaluate_policy", "read_rows"]

BENIGN_LABELS = frozenset(
    {"benign", "neither", "ham", "safe", "legitimate", "none", "clean", "not-offensive",
     "not-hate", "non-offensive", "non-hate", "normal", "ok"}
)  # fmt: skip


@dataclass
class PolicyReport:
    total: int
    harmful: int
    benign: int
    caught: int  # harmful rows at or above the positive verdict
    false_positives: int  # benign rows at or above it
    by_group: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def recall(self) -> float:
        return self.caught / self.harmful if self.harmful else 0.0

    @property
    def precision(self) -> float:
        flagged = self.caught + self.false_positives
        return self.caught / flagged if flagged else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def false_positive_rate(self) -> float:
        return self.false_positives / self.benign if self.benign else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.total,
            "harmful": self.harmful,
            "benign": self.benign,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "false_positive_rate": round(self.false_positive_rate, 4),
            "groups": self.by_group,
        }


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """JSONL rows with ``text`` and ``label`` (string or list); bad rows name their line."""
    rows, problems = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append((number, f"invalid JSON: {exc.msg}"))
                continue
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                problems.append((number, 'a row needs a string "text"'))
            elif not row.get("label") or not isinstance(row["label"], str | list):
                problems.append((number, 'a row needs a "label" (string or list)'))
            else:
                rows.append(row)
    if problems:
        raise DatasetError(str(path), problems)
    return rows


def _labels(row: dict[str, Any]) -> tuple[str, ...]:
    label = row["label"]
    return tuple(label) if isinstance(label, list) else (label,)


def evaluate_policy(
    engine: Engine,
    rows: Iterable[dict[str, Any]],
    *,
    positive: Verdict = Verdict.BLOCK,
    benign_labels: frozenset[str] = BENIGN_LABELS,
    batch: int = 64,
) -> PolicyReport:
    rows = list(rows)
    decisions = []
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        decisions += engine.check_many(
            [r["text"] for r in chunk], direction=chunk[0].get("direction", "input")
        )
    groups: dict[str, dict[str, int]] = defaultdict(lambda: {"rows": 0, "hits": 0})
    report = PolicyReport(len(rows), 0, 0, 0, 0)
    for row, decision in zip(rows, decisions, strict=True):
        harmful = not set(_labels(row)) <= benign_labels
        hit = decision.verdict >= positive
        if harmful:
            report.harmful += 1
            report.caught += hit
        else:
            report.benign += 1
            report.false_positives += hit
        kind = "harmful" if harmful else "benign"
        keys = [f"{kind}/label={label}" for label in _labels(row)]
        if row.get("category"):
            keys.append(f"{kind}/category={row['category']}")
        if row.get("kind"):
            keys.append(f"{kind}/kind={row['kind']}")
        for key in keys:
            groups[key]["rows"] += 1
            groups[key]["hits"] += hit
    report.by_group = {
        key: {**value, "rate": round(value["hits"] / value["rows"], 4)}
        for key, value in sorted(groups.items())
    }
    return report
