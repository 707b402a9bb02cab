"""Score a whole policy on labelled data: its verdicts against the rows' labels.

A row is harmful unless its label is one of the benign labels (``benign``, ``neither``, ...).
The policy "catches" a row when its verdict is at least ``positive`` (block by default; flag to
count flags too). Reported: precision, recall, F1, the false-positive rate on benign rows, and
the same broken down per label and per ``category`` (when rows have one), which is where
over-blocking of look-alike benign prompts shows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guardrails.decision import Verdict
from guardrails.embedders.base import Modality
from guardrails.engine import Engine
from guardrails.errors import DatasetError
from guardrails.layers.base import BENIGN_LABELS
from guardrails.training.dataset import Dataset, load_dataset_rows

__all__ = ["BENIGN_LABELS", "PolicyReport", "evaluate_policy", "load_text_dataset", "read_rows"]


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


def load_text_dataset(path: str | Path) -> Dataset:
    """:func:`~guardrails.training.dataset.load_dataset` for data a policy is scored on: the
    same checks as training data, text rows only, and a file that cannot be read is a
    :class:`DatasetError` naming it too."""
    return _text_rows(path)[0]


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a JSONL or CSV file (:func:`load_text_dataset`), each with its other fields
    (``category``, ``kind``, ``direction``...) and the validated ``text`` and ``label`` list."""
    dataset, raw = _text_rows(path)
    return [{**raw[e.line], "text": e.input, "label": list(e.labels)} for e in dataset]


def _text_rows(path: str | Path) -> tuple[Dataset, dict[int, Any]]:
    source = str(path)
    try:
        dataset, raw = load_dataset_rows(path)
    except OSError as exc:  # e.g. no permission
        raise DatasetError(source, [(0, f"cannot read: {exc.strerror or exc}")]) from exc
    if dataset.modality is not Modality.TEXT:
        message = f"{dataset.modality.value} rows: a policy is scored on text rows"
        raise DatasetError(source, [(0, message)])
    return dataset, raw


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
    by_direction: dict[str, list[int]] = defaultdict(list)  # each row in its own direction
    for i, row in enumerate(rows):
        by_direction[row.get("direction") or "input"].append(i)
    decisions: list[Any] = [None] * len(rows)
    for direction, indices in by_direction.items():
        for start in range(0, len(indices), batch):
            chunk = indices[start : start + batch]
            found = engine.check_many([rows[i]["text"] for i in chunk], direction=direction)
            for i, decision in zip(chunk, found, strict=True):
                decisions[i] = decision
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
