"""Choose an ML step's per-label thresholds from labelled data.

For each label the step can act on, the step's score is computed for every row (the score the
policy thresholds, so the chosen number means what it says in the policy) and a threshold is
picked for a target: ``precision=0.95`` (the lowest threshold whose precision reaches 0.95, so
recall is as high as it can be at that precision), ``recall=0.9`` (the highest threshold that
still reaches that recall), or ``f1`` (the best F1). The result can be written into the policy
file, keeping its comments and layout, and each label's precision-recall curve saved as a PNG
with the chosen point marked.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from guardrails.engine import Engine
from guardrails.errors import DatasetError, PolicyError
from guardrails.training.ranking_metrics import precision_recall_curve

__all__ = [
    "LabelThreshold",
    "Target",
    "calibrate_step",
    "choose_threshold",
    "step_labels",
    "write_thresholds",
]


@dataclass(frozen=True)
class Target:
    metric: str  # precision | recall | f1
    value: float | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        name, _, value = text.partition("=")
        name = name.strip().lower()
        if name == "f1" and not value:
            return cls("f1")
        if name in ("precision", "recall"):
            try:
                number = float(value)
            except ValueError:
                number = -1.0
            if 0.0 < number <= 1.0:
                return cls(name, number)
        raise ValueError(f"target is precision=P, recall=R (0 < P, R <= 1) or f1, not {text!r}")


@dataclass(frozen=True)
class LabelThreshold:
    label: str
    threshold: float | None  # None: the target cannot be reached on this data
    precision: float
    recall: float
    f1: float
    support: int
    curve: tuple[np.ndarray, np.ndarray, np.ndarray]  # precision, recall, thresholds


def choose_threshold(y: np.ndarray, scores: np.ndarray, target: Target) -> tuple[int | None, Any]:
    precision, recall, thresholds = precision_recall_curve(y, scores)
    f1 = np.where(
        precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0
    )
    if target.metric == "f1":
        index: int | None = int(np.argmax(f1))
    elif target.metric == "precision":
        ok = np.nonzero(precision >= target.value)[0]
        index = int(ok[np.argmax(recall[ok])]) if len(ok) else None  # lowest such threshold
    else:
        ok = np.nonzero(recall >= target.value)[0]
        index = int(ok[0]) if len(ok) else None  # highest threshold reaching the recall
    return index, (precision, recall, thresholds, f1)


def _ml_step(engine: Engine, step_id: str) -> Any:
    step = next((s for s in engine._steps if s.id == step_id), None)
    if step is None:
        raise PolicyError([f"no enabled step '{step_id}' in policy '{engine.policy.name}'"])
    if not step.is_async:
        raise PolicyError(
            [f"step '{step_id}' is a rule ({step.kind}): only ML steps have thresholds"]
        )
    return step


def step_labels(engine: Engine, step_id: str) -> tuple[str, ...]:
    """Every label the ML step ``step_id`` scores, ignored ones included."""
    return tuple(_ml_step(engine, step_id).check.labels)


def _scores(engine: Engine, step_id: str, texts: list[str]) -> list[dict[str, float]]:
    step = _ml_step(engine, step_id)
    from guardrails.rules.base import CheckContext

    context = CheckContext()

    async def run() -> list[dict[str, float]]:
        results = await asyncio.gather(*(step.check.ascan(t, context) for t in texts))
        return [dict(r.scores) for r in results]

    return engine.run_sync(run())


def calibrate_step(
    engine: Engine,
    step_id: str,
    rows: list[tuple[str, tuple[str, ...]]],
    target: Target,
    *,
    negatives: str = "all",
) -> list[LabelThreshold]:
    """Thresholds for every label of ``step_id`` that the step does not ignore.

    ``negatives="all"``: every row without the label is a negative for it. ``"ignored"``: only
    rows whose labels the step ignores (e.g. ``benign``) are; a row of another acting label is
    left out of this label's curve, since a block of it (by whichever label) is no false block.
    That is the measure for a step that blocks on every label alike, where one harm scored as
    another (violence as harassment) is still stopped."""
    if negatives not in ("all", "ignored"):
        raise ValueError(f"negatives is 'all' or 'ignored', not {negatives!r}")
    if not rows:
        raise DatasetError("<calibration data>", [(0, "no rows")])
    scores = _scores(engine, step_id, [text for text, _ in rows])
    config = engine.policy.step(step_id)
    ignored = set(config.ignore)
    labels = [label for label in scores[0] if label not in ignored]
    out = []
    for label in labels:
        kept = [
            i
            for i, (_, row_labels) in enumerate(rows)
            if negatives == "all" or label in row_labels or ignored.issuperset(row_labels)
        ]
        y = np.array([label in rows[i][1] for i in kept], dtype=np.int64)
        s = np.array([scores[i][label] for i in kept], dtype=np.float64)
        if y.sum() == 0:
            out.append(LabelThreshold(label, None, 0.0, 0.0, 0.0, 0, (np.array([]),) * 3))
            continue
        index, (precision, recall, thresholds, f1) = choose_threshold(y, s, target)
        curve = (precision, recall, thresholds)
        if index is None:
            out.append(LabelThreshold(label, None, 0.0, 0.0, 0.0, int(y.sum()), curve))
            continue
        out.append(
            LabelThreshold(
                label,
                float(np.floor(thresholds[index] * 1e4) / 1e4),  # round down: keep the point
                float(precision[index]),
                float(recall[index]),
                float(f1[index]),
                int(y.sum()),
                curve,
            )
        )
    return out


def write_thresholds(
    policy_path: Path, step_id: str, chosen: list[LabelThreshold], level: str
) -> list[str]:
    """Set ``thresholds: {label: {level: t}}`` of the step in the file, keeping its comments and
    indentation; labels without a threshold are left as they are. Returns the labels whose
    entry changed: when none did, the file is not written at all."""
    from ruamel.yaml import YAML
    from ruamel.yaml.util import load_yaml_guess_indent

    text = policy_path.read_text(encoding="utf-8")
    editor = YAML(typ="rt")  # round-trip mode: keeps comments; builds no Python objects
    editor.preserve_quotes = True
    editor.width = 4096
    try:
        _, indent, offset = load_yaml_guess_indent(text)
    except IndexError:  # its line scan trips on odd lines (a key then "---"): keep defaults
        indent = offset = None
    if indent is not None:  # else no nested block in the file: ruamel's defaults are fine
        editor.indent(mapping=indent - (offset or 0), sequence=indent, offset=offset or 0)
    document = editor.load(text)
    step = next(s for s in document["steps"] if s.get("id") == step_id)
    table = step.setdefault("thresholds", {})
    changed = []
    for item in chosen:
        if item.threshold is None:
            continue
        entry = table.setdefault(item.label, {})
        before = dict(entry)
        entry[level] = item.threshold
        other = "flag" if level == "block" else "block"
        if other in entry and (
            (level == "block" and entry[other] > item.threshold)
            or (level == "flag" and entry[other] < item.threshold)
        ):
            entry[other] = item.threshold  # keep flag <= block
        if dict(entry) != before:
            changed.append(item.label)
    if not changed:
        return []
    with policy_path.open("w", encoding="utf-8") as handle:
        editor.dump(document, handle)
    return changed


def plot_curves(chosen: list[LabelThreshold], directory: Path, step_id: str) -> list[Path]:
    """One precision-recall PNG per label, with the chosen threshold marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for item in chosen:
        precision, recall, _ = item.curve
        if not len(precision):
            continue
        fig, ax = plt.subplots(figsize=(4.5, 4))
        ax.plot(recall, precision, lw=1.5)
        if item.threshold is not None:
            ax.scatter([item.recall], [item.precision], color="red", zorder=3,
                       label=f"threshold {item.threshold:.4f}")  # fmt: skip
            ax.legend(loc="lower left")
        ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02),
               title=f"{step_id}: {item.label} (n+={item.support})")  # fmt: skip
        path = directory / f"{step_id}-{item.label}-pr.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
