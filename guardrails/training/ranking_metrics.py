"""Threshold-free metrics of one label's scores: ROC-AUC, the precision-recall curve and AP.

Each takes a 0/1 ``y_true`` and a ``score`` per example (one column of an evaluation's label
matrix and probabilities) and needs numpy only. ROC-AUC is the Mann-Whitney statistic over
average ranks, so tied scores count half; average precision is the step-wise area under the
precision-recall curve, as scikit-learn computes it. Both are None where they are undefined.
"""

from __future__ import annotations

import numpy as np

__all__ = ["average_precision", "precision_recall_curve", "roc_auc"]


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    return ranks


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties counted half); None without both classes."""
    y = np.asarray(y_true).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = _average_ranks(np.asarray(score, dtype=np.float64))
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def precision_recall_curve(
    y_true: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(precision, recall, thresholds)`` at every distinct score, highest threshold first."""
    y = np.asarray(y_true).astype(bool)
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="mergesort")
    s, y = np.asarray(score, dtype=np.float64)[order], y[order]
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    tp = np.cumsum(y)[last]
    predicted = last + 1
    precision = tp / predicted
    recall = tp / max(int(y.sum()), 1)
    return precision, recall, s[last]


def average_precision(y_true: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the precision-recall curve (step-wise, as scikit-learn computes it)."""
    if not np.asarray(y_true).astype(bool).any():
        return None
    precision, recall, _ = precision_recall_curve(y_true, score)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
