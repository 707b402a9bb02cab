"""Evaluating a classifier on a labelled dataset: metrics, a JSON report and PNG plots.

Single-label: the prediction is the most probable label; per-label precision / recall / F1,
their macro averages, accuracy, one-vs-rest ROC-AUC per label (and its macro mean) and an
``L x L`` confusion matrix (rows: true label, columns: predicted). Multi-label: a label is
predicted when its probability reaches ``threshold``; accuracy is exact-match (every label
right), and each label gets a ``2 x 2`` confusion matrix ``[[tn, fp], [fn, tp]]``. ROC-AUC,
the precision-recall curve and average precision come from
:mod:`guardrails.training.ranking_metrics` (re-exported here).

Plots (:func:`write_report`) use matplotlib's Agg canvas directly, changing no global backend.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from guardrails.errors import DatasetError, MissingDependency
from guardrails.training.ranking_metrics import average_precision, precision_recall_curve, roc_auc

if TYPE_CHECKING:
    from guardrails.classifiers.base import Classifier
    from guardrails.training.dataset import Dataset

__all__ = [
    "Evaluation",
    "LabelMetrics",
    "average_precision",
    "compute_metrics",
    "evaluate",
    "precision_recall_curve",
    "roc_auc",
    "write_report",
]


@dataclass(frozen=True, slots=True)
class LabelMetrics:
    precision: float
    recall: float
    f1: float
    support: int
    roc_auc: float | None
    average_precision: float | None


@dataclass(frozen=True)
class Evaluation:
    """Metrics of one classifier on one dataset; ``y_true`` and ``proba`` are kept for plots."""

    labels: tuple[str, ...]
    multi_label: bool
    size: int
    accuracy: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    macro_roc_auc: float | None
    per_label: dict[str, LabelMetrics]
    confusion: list[Any]
    threshold: float = 0.5
    seconds: float | None = None
    y_true: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    proba: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "multi_label": self.multi_label,
            "labels": list(self.labels),
            "accuracy": self.accuracy,
            "macro_precision": self.macro_precision,
            "macro_recall": self.macro_recall,
            "macro_f1": self.macro_f1,
            "macro_roc_auc": self.macro_roc_auc,
            "per_label": {name: _asdict(m) for name, m in self.per_label.items()},
            "confusion_matrix": self.confusion,
            "threshold": self.threshold if self.multi_label else None,
            "seconds": self.seconds,
        }

    def format_table(self) -> str:
        """A plain-text summary (per-label rows, macro averages, confusion matrix)."""
        width = max(8, *(len(name) for name in self.labels))
        lines = [f"{'label':<{width}}  precision  recall     f1  roc_auc  support"]
        for name, m in self.per_label.items():
            auc = "    -" if m.roc_auc is None else f"{m.roc_auc:7.3f}"
            lines.append(
                f"{name:<{width}}  {m.precision:9.3f}  {m.recall:6.3f}  {m.f1:5.3f}  {auc}  "
                f"{m.support:7d}"
            )
        auc = "-" if self.macro_roc_auc is None else f"{self.macro_roc_auc:.3f}"
        lines.append(f"macro-F1 {self.macro_f1:.3f}  accuracy {self.accuracy:.3f}  ROC-AUC {auc}")
        lines.append(f"confusion matrix (rows true, columns predicted): {self.confusion}")
        return "\n".join(lines)


def _asdict(m: LabelMetrics) -> dict[str, Any]:
    return {name: getattr(m, name) for name in LabelMetrics.__slots__}


def compute_metrics(
    labels: Sequence[str],
    y_true: np.ndarray,
    proba: np.ndarray,
    *,
    multi_label: bool,
    threshold: float = 0.5,
    seconds: float | None = None,
) -> Evaluation:
    """Metrics from a 0/1 ``(n, L)`` label matrix and ``(n, L)`` probabilities."""
    y_true = np.asarray(y_true).astype(bool)
    proba = np.asarray(proba, dtype=np.float64)
    n, n_labels = y_true.shape
    if multi_label:
        predicted = proba >= threshold
        accuracy = float((predicted == y_true).all(axis=1).mean()) if n else 0.0
    else:
        predicted = np.zeros_like(y_true)
        predicted[np.arange(n), proba.argmax(axis=1)] = True
        accuracy = float(y_true[np.arange(n), proba.argmax(axis=1)].mean()) if n else 0.0
    tp = (predicted & y_true).sum(axis=0)
    precision = tp / np.maximum(predicted.sum(axis=0), 1)
    recall = tp / np.maximum(y_true.sum(axis=0), 1)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    per_label = {
        name: LabelMetrics(
            precision=float(precision[j]),
            recall=float(recall[j]),
            f1=float(f1[j]),
            support=int(y_true[:, j].sum()),
            roc_auc=roc_auc(y_true[:, j], proba[:, j]),
            average_precision=average_precision(y_true[:, j], proba[:, j]),
        )
        for j, name in enumerate(labels)
    }
    aucs = [m.roc_auc for m in per_label.values() if m.roc_auc is not None]
    if multi_label:
        confusion: list[Any] = [
            [[int((~y & ~p).sum()), int((~y & p).sum())], [int((y & ~p).sum()), int((y & p).sum())]]
            for y, p in zip(y_true.T, predicted.T, strict=True)
        ]
    else:
        matrix = np.zeros((n_labels, n_labels), dtype=np.int64)
        np.add.at(matrix, (y_true.argmax(axis=1), proba.argmax(axis=1)), 1)
        confusion = matrix.tolist()
    return Evaluation(
        labels=tuple(labels),
        multi_label=multi_label,
        size=n,
        accuracy=accuracy,
        macro_precision=float(precision.mean()),
        macro_recall=float(recall.mean()),
        macro_f1=float(f1.mean()),
        macro_roc_auc=float(np.mean(aucs)) if aucs else None,
        per_label=per_label,
        confusion=confusion,
        threshold=threshold,
        seconds=seconds,
        y_true=y_true,
        proba=proba,
    )


def evaluate(
    classifier: Classifier,
    dataset: Dataset,
    *,
    threshold: float = 0.5,
    batch_size: int = 64,
    progress: bool = False,
) -> Evaluation:
    """Score every example of ``dataset``; its labels must all be known to ``classifier``."""
    column = {name: j for j, name in enumerate(classifier.labels)}
    unknown = [
        (
            ex.line,
            f"label(s) {sorted(set(ex.labels) - set(column))} unknown to the "
            f"classifier (it knows {list(classifier.labels)})",
        )
        for ex in dataset.examples
        if not set(ex.labels) <= set(column)
    ]
    if unknown:
        raise DatasetError(dataset.source, unknown)
    y_true = np.zeros((len(dataset), len(column)), dtype=bool)
    for row, example in enumerate(dataset.examples):
        y_true[row, [column[name] for name in example.labels]] = True
    from guardrails.training.trainers import in_batches

    start = time.perf_counter()
    proba = in_batches(
        classifier.predict_proba,
        dataset.inputs(),
        size=batch_size,
        desc="evaluating",
        progress=progress,
        width=len(column),
    )
    return compute_metrics(
        classifier.labels,
        y_true,
        proba,
        multi_label=classifier.multi_label,
        threshold=threshold,
        seconds=round(time.perf_counter() - start, 3),
    )


def write_report(evaluation: Evaluation, directory: str | Path) -> list[Path]:
    """Write ``metrics.json``, ``confusion_matrix.png`` and ``precision_recall.png``."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingDependency("ml", "evaluation plots", exc) from exc
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    metrics = directory / "metrics.json"
    metrics.write_text(json.dumps(evaluation.to_dict(), indent=2) + "\n", encoding="utf-8")

    labels = evaluation.labels
    fig = Figure(figsize=(2.5 + 0.6 * len(labels), 2 + 0.6 * len(labels)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if evaluation.multi_label:
        matrix = np.array([[c[1][1], c[1][0], c[0][1]] for c in evaluation.confusion])
        ax.set_xticks(range(3), ["tp", "fn", "fp"])
        ax.set_yticks(range(len(labels)), labels)
    else:
        matrix = np.array(evaluation.confusion)
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        ax.text(j, i, str(count), ha="center", va="center", color=colour)
    ax.set_title(f"accuracy {evaluation.accuracy:.3f}, macro-F1 {evaluation.macro_f1:.3f}")
    fig.tight_layout()
    confusion = directory / "confusion_matrix.png"
    fig.savefig(confusion, dpi=120)

    fig = Figure(figsize=(6, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for j, name in enumerate(labels):
        if evaluation.y_true.size and evaluation.y_true[:, j].any():
            precision, recall, _ = precision_recall_curve(
                evaluation.y_true[:, j], evaluation.proba[:, j]
            )
            ap = evaluation.per_label[name].average_precision or 0.0
            ax.step(
                np.r_[0.0, recall],
                np.r_[precision[0], precision],
                where="post",
                label=f"{name} (AP {ap:.3f})",
            )
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.05))
    ax.set_title("precision-recall")
    ax.legend(loc="lower left")
    fig.tight_layout()
    curves = directory / "precision_recall.png"
    fig.savefig(curves, dpi=120)
    return [metrics, confusion, curves]
