"""Calibration helpers: fitted parameters recover the ones that generated the data."""

from __future__ import annotations

import numpy as np
import pytest

from guardrails.calibration import (
    fit_platt,
    fit_temperature,
    fit_temperature_and_smoothing,
    sigmoid,
    softmax,
)


def test_softmax_and_sigmoid_are_probabilities_even_for_extreme_scores():
    p = softmax(np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]]), 0.01)
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    s = sigmoid(np.array([-1e4, 0.0, 1e4]))
    assert s[0] == pytest.approx(0.0) and s[1] == pytest.approx(0.5) and s[2] == pytest.approx(1.0)


def test_temperature_fit_recovers_the_generating_temperature():
    rng = np.random.default_rng(0)
    scores = rng.uniform(-1, 1, size=(4000, 3))
    truth = 0.2
    p = softmax(scores, truth)
    targets = np.array([rng.choice(3, p=row) for row in p])
    assert fit_temperature(scores, targets) == pytest.approx(truth, rel=0.15)


def test_temperature_stays_finite_on_separable_data():
    scores = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.2, 0.7]])
    temperature = fit_temperature(scores, np.array([0, 0, 1, 1]))
    assert temperature > 0.01
    assert softmax(scores, temperature).max() < 0.999


def test_platt_fit_recovers_slope_and_intercept():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=5000)
    y = rng.uniform(size=5000) < sigmoid(4.0 * x - 1.0)
    a, b = fit_platt(x, y)
    assert a == pytest.approx(4.0, rel=0.2) and b == pytest.approx(-1.0, abs=0.25)


def test_temperature_and_smoothing_prefer_more_smoothing_for_noisier_labels():
    rng = np.random.default_rng(2)
    scores = rng.uniform(-1, 1, size=(2000, 2))
    clean = scores.argmax(axis=1)
    noisy = np.where(rng.uniform(size=2000) < 0.2, 1 - clean, clean)

    def proba(t: float, eps: float) -> np.ndarray:
        return (1 - eps) * softmax(scores, t) + eps / 2

    onehot = np.eye(2)
    _, eps_clean = fit_temperature_and_smoothing(proba, onehot[clean], multi_label=False)
    _, eps_noisy = fit_temperature_and_smoothing(proba, onehot[noisy], multi_label=False)
    assert eps_noisy > eps_clean
