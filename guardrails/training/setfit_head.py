"""The SetFit head: a logistic regression fitted on the fine-tuned body's frozen vectors.

Softmax over labels, or one-vs-rest sigmoids for multi-label data; balanced class weights by
default (per example, or per label cell for multi-label data). Fitted by L-BFGS in float64
from zero, so the same vectors always give the same head. torch is imported when a head is
fitted, never at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from guardrails.calibration import balanced_weights, binary_weights, sigmoid, softmax

if TYPE_CHECKING:
    from guardrails.training.dataset import Dataset

__all__ = ["fit_head", "head_weights", "train_metrics"]


def fit_head(
    vectors: np.ndarray, targets: np.ndarray, multi_label: bool, c: float, balanced: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression on frozen vectors: ``(labels, d)`` weight and ``(labels,)`` bias.

    Minimises the (class-weighted) cross-entropy plus ``|W|^2 / (2 c n)``, scikit-learn's
    objective with ``C = c`` divided by ``c n``; softmax over labels, or one-vs-rest sigmoids
    when ``multi_label``. L-BFGS in float64 from zero: deterministic.
    """
    import torch

    from guardrails.training.losses import classification_loss

    x = torch.from_numpy(np.asarray(vectors, dtype=np.float64))
    goals = torch.from_numpy(np.asarray(targets, dtype=np.float64))
    weights = torch.from_numpy(head_weights(targets, multi_label, balanced))
    weight = torch.zeros(targets.shape[1], x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(targets.shape[1], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias], max_iter=500, tolerance_grad=1e-9, line_search_fn="strong_wolfe"
    )
    penalty = 1.0 / (2.0 * c * len(x))

    def closure() -> Any:
        optimizer.zero_grad()
        loss = classification_loss(x @ weight.T + bias, goals, weights, multi_label)
        loss = loss + penalty * (weight**2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return weight.detach().float().numpy(), bias.detach().float().numpy()


def head_weights(targets: np.ndarray, multi_label: bool, balanced: bool) -> np.ndarray:
    """Loss weights per example (single-label) or per cell (multi-label), mean 1."""
    if not balanced:
        return np.ones(targets.shape if multi_label else len(targets))
    if multi_label:
        return np.stack([binary_weights(column) for column in targets.T.astype(bool)], axis=1)
    return balanced_weights(targets.argmax(axis=1), targets.shape[1])


def train_metrics(dataset: Dataset, targets: np.ndarray, logits: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1 of the head's ``logits`` on its own training rows."""
    from guardrails.training.evaluate import compute_metrics

    proba = sigmoid(logits) if dataset.multi_label else softmax(logits)
    result = compute_metrics(dataset.labels, targets, proba, multi_label=dataset.multi_label)
    return {
        "train_accuracy": round(result.accuracy, 4),
        "train_macro_f1": round(result.macro_f1, 4),
    }
