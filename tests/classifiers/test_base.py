"""The shared Classifier helpers: window reduction and prediction assembly."""

from __future__ import annotations

import numpy as np

from guardrails.classifiers.base import assemble_predictions, reduce_windows


def test_each_label_keeps_its_highest_probability_over_windows():
    window_proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], dtype=np.float32)
    owner = np.array([0, 0, 1])
    reduced = reduce_windows(window_proba, owner, 2)
    np.testing.assert_allclose(reduced, [[0.9, 0.8], [0.6, 0.4]])


def test_evidence_comes_from_the_window_behind_the_top_label():
    window_proba = np.array([[0.3, 0.7], [0.05, 0.95], [0.6, 0.4]], dtype=np.float32)
    evidence = [("a",), ("b",), ("c",)]
    predictions = assemble_predictions(
        ["ham", "spam"], window_proba, evidence, np.array([0, 0, 1]), 2, top_k=2
    )
    assert predictions[0].label == "spam" and predictions[0].evidence == ("b",)
    assert predictions[1].label == "ham" and predictions[1].evidence == ("c",)
    assert [s.label for s in predictions[1].labels] == ["ham", "spam"]
