"""Turning similarity scores into calibrated probabilities, shared by the classifier families.

The tools, all fitted on out-of-fold scores (an example never scores against itself):

- **temperature** for single-label families: ``softmax(scores / T)`` with the one ``T`` that
  minimises the negative log-likelihood of the true labels (:func:`fit_temperature`), searched
  by golden section on ``log T``;
- **temperature and smoothing** for scores built from a temperature and an additive smoothing
  (the KNN vote): :func:`fit_temperature_and_smoothing`;
- **Platt scaling** for multi-label families: per label ``sigmoid(a * score + b)`` fitted by
  Newton's method (:func:`fit_platt`).

All of them fit Platt's softened targets (:func:`soft_targets`): on hard 0/1 targets a
separable training set would send ``T`` to zero and every probability to 0 or 1. ``weights``
weigh each example, e.g. by the inverse frequency of its label (:func:`balanced_weights`) so
the probabilities do not merely echo the training set's label priors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "balanced_weights",
    "binary_weights",
    "fit_platt",
    "fit_temperature",
    "fit_temperature_and_smoothing",
    "golden_section",
    "nll",
    "sigmoid",
    "soft_targets",
    "softmax",
]


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise ``softmax(scores / temperature)``, numerically stable."""
    z = np.asarray(scores, dtype=np.float64) / temperature
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=np.float64)))


def balanced_weights(targets: np.ndarray, n_labels: int) -> np.ndarray:
    """Per example, ``n / (n_labels * count(its label))``: every label weighs the same."""
    counts = np.bincount(targets, minlength=n_labels).astype(np.float64)
    return len(targets) / (n_labels * np.maximum(counts[targets], 1.0))


def binary_weights(y: np.ndarray) -> np.ndarray:
    """Per example of a 0/1 target, weights giving positives and negatives equal totals."""
    positive = np.asarray(y).astype(bool)
    n_pos, n_neg = max(int(positive.sum()), 1), max(int((~positive).sum()), 1)
    return np.where(positive, len(positive) / (2.0 * n_pos), len(positive) / (2.0 * n_neg))


def soft_targets(targets: np.ndarray, *, multi_label: bool) -> np.ndarray:
    """0/1 ``targets`` ``(n, L)`` moved ``1 / (n + 2)`` away from 0 and 1 (Platt's prior);
    the effect fades as the training set grows."""
    y = np.asarray(targets, dtype=np.float64)
    alpha = 1.0 / (len(y) + 2.0)
    off = alpha if multi_label or y.shape[1] < 2 else alpha / (y.shape[1] - 1)
    return y * (1.0 - alpha) + (1.0 - y) * off


def nll(
    proba: np.ndarray, targets: np.ndarray, *, multi_label: bool, weights: np.ndarray | None = None
) -> float:
    """Mean (weighted) cross-entropy of ``proba`` ``(n, L)`` against ``targets`` (0/1 or soft):
    over each row's label distribution (single-label), or per cell (multi-label)."""
    p = np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1.0 - 1e-12)
    t = np.asarray(targets, dtype=np.float64)
    if multi_label:
        return float(np.average(-(t * np.log(p) + (1 - t) * np.log1p(-p)), weights=weights))
    return float(np.average(-(t * np.log(p)).sum(axis=1), weights=weights))


def golden_section(
    f: Callable[[float], float], lo: float, hi: float, *, iterations: int = 50
) -> float:
    """The minimiser of a unimodal ``f`` on ``[lo, hi]``."""
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iterations):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return (a + b) / 2.0


def fit_temperature(
    scores: np.ndarray,
    targets: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    bounds: tuple[float, float] = (1e-3, 10.0),
) -> float:
    """The ``T`` minimising the NLL of ``softmax(scores / T)``; ``targets`` holds each row's
    true column. Searched on ``log T`` within ``bounds``."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) == 0:
        return 1.0
    hard = np.zeros_like(scores)
    hard[np.arange(len(scores)), np.asarray(targets, dtype=np.int64)] = 1.0
    soft = soft_targets(hard, multi_label=False)

    def loss(log_t: float) -> float:
        return nll(softmax(scores, math.exp(log_t)), soft, multi_label=False, weights=weights)

    return float(math.exp(golden_section(loss, math.log(bounds[0]), math.log(bounds[1]))))


def fit_temperature_and_smoothing(
    proba: Callable[[float, float], np.ndarray],
    targets: np.ndarray,
    *,
    multi_label: bool,
    weights: np.ndarray | None = None,
    smoothing_grid: Sequence[float] = (0.001, 0.003, 0.01, 0.03, 0.1, 0.2, 0.3),
    bounds: tuple[float, float] = (1e-3, 10.0),
) -> tuple[float, float]:
    """``(T, eps)`` minimising the NLL of ``proba(T, eps)`` against 0/1 ``targets`` ``(n, L)``:
    ``eps`` from a grid, ``T`` by golden-section search on ``log T`` for each ``eps``."""
    soft = soft_targets(targets, multi_label=multi_label)
    best = (math.inf, 1.0, smoothing_grid[0])
    for eps in smoothing_grid:

        def loss(log_t: float, eps: float = eps) -> float:
            return nll(proba(math.exp(log_t), eps), soft, multi_label=multi_label, weights=weights)

        log_t = golden_section(loss, math.log(bounds[0]), math.log(bounds[1]), iterations=30)
        value = loss(log_t)
        if value < best[0]:
            best = (value, math.exp(log_t), eps)
    return best[1], best[2]


def fit_platt(
    scores: np.ndarray,
    targets: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    l2: float = 1e-4,
    iterations: int = 50,
) -> tuple[float, float]:
    """``(a, b)`` so that ``sigmoid(a * score + b)`` estimates ``P(target = 1 | score)``.

    Platt (1999): targets smoothed to ``(n+ + 1) / (n+ + 2)`` and ``1 / (n- + 2)`` so that
    separable data does not drive ``a`` to infinity; a small ``l2`` keeps Newton well posed.
    """
    x = np.asarray(scores, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    n_pos, n_neg = w[y > 0.5].sum(), w[y <= 0.5].sum()
    t = np.where(y > 0.5, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    design = np.stack([x, np.ones_like(x)], axis=1)
    theta = np.array([1.0, math.log((n_pos + 1.0) / (n_neg + 1.0))])
    ridge = np.diag([l2 * w.sum(), 0.0])
    for _ in range(iterations):
        p = sigmoid(design @ theta)
        gradient = design.T @ (w * (p - t)) + ridge @ theta
        hessian = (design * (w * p * (1.0 - p))[:, None]).T @ design + ridge
        hessian += 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        theta = theta - step
        if np.abs(step).max() < 1e-10:
            break
    return float(theta[0]), float(theta[1])
