"""Metrics, the JSON report and the plots."""

from __future__ import annotations

import json

import numpy as np
import pytest

from guardrails.errors import DatasetError
from guardrails.testing import FakeEmbedder
from guardrails.training import dataset_from_rows, evaluate, train, write_report
from guardrails.training.evaluate import average_precision, compute_metrics, roc_auc

LABELS = ["ham", "spam"]


def _onehot(indices, n_labels=2):
    return np.eye(n_labels, dtype=np.uint8)[indices]


def test_single_label_metrics_from_a_known_confusion():
    y = _onehot([0, 0, 0, 1, 1, 1])
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8], [0.6, 0.4]])
    result = compute_metrics(LABELS, y, proba, multi_label=False)
    assert result.confusion == [[2, 1], [1, 2]]
    assert result.accuracy == pytest.approx(4 / 6)
    assert result.per_label["spam"].precision == pytest.approx(2 / 3)
    assert result.per_label["spam"].recall == pytest.approx(2 / 3)
    assert result.macro_f1 == pytest.approx(2 / 3)
    assert result.per_label["ham"].support == 3
    assert 0.0 <= result.macro_roc_auc <= 1.0


def test_perfect_and_inverted_rankings():
    y = np.array([0, 0, 1, 1])
    assert roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert roc_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert roc_auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5  # ties count half
    assert roc_auc(np.array([1, 1]), np.array([0.1, 0.2])) is None
    assert average_precision(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0


def test_roc_auc_and_average_precision_match_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=200)
    score = np.round(rng.uniform(size=200) + 0.3 * y, 2)  # rounded: ties included
    assert roc_auc(y, score) == pytest.approx(metrics.roc_auc_score(y, score))
    assert average_precision(y, score) == pytest.approx(metrics.average_precision_score(y, score))


def test_multi_label_uses_the_threshold_and_exact_match_accuracy():
    y = np.array([[1, 1], [1, 0], [0, 1]])
    proba = np.array([[0.9, 0.6], [0.7, 0.6], [0.2, 0.8]])
    result = compute_metrics(["insult", "threat"], y, proba, multi_label=True, threshold=0.5)
    assert result.accuracy == pytest.approx(2 / 3)
    assert result.confusion[1] == [[0, 1], [0, 2]]  # threat: [[tn, fp], [fn, tp]]
    assert result.per_label["insult"].f1 == 1.0


def test_evaluate_a_classifier_and_write_the_report(tmp_path):
    rows = [
        {"text": "buy cheap pills now", "label": "spam"},
        {"text": "free prize now", "label": "spam"},
        {"text": "see you at lunch", "label": "ham"},
        {"text": "the meeting moved to friday", "label": "ham"},
    ]
    classifier = train(dataset_from_rows(rows), embedder=FakeEmbedder(), progress=False)
    test = dataset_from_rows(
        [{"text": "cheap pills", "label": "spam"}, {"text": "lunch on friday", "label": "ham"}]
    )
    result = evaluate(classifier, test)
    assert result.size == 2 and result.accuracy == 1.0 and result.macro_f1 == 1.0
    assert "macro-F1 1.000" in result.format_table()
    written = write_report(result, tmp_path / "report")
    assert [p.name for p in written] == [
        "metrics.json",
        "confusion_matrix.png",
        "precision_recall.png",
    ]
    report = json.loads(written[0].read_text())
    assert report["macro_f1"] == 1.0 and report["confusion_matrix"] == [[1, 0], [0, 1]]
    assert set(report["per_label"]) == {"ham", "spam"}
    for png in written[1:]:
        assert png.read_bytes().startswith(b"\x89PNG")


def test_labels_unknown_to_the_classifier_are_reported_by_line():
    rows = [{"text": "a", "label": "x"}, {"text": "b", "label": "y"}]
    classifier = train(dataset_from_rows(rows), embedder=FakeEmbedder(), progress=False)
    test = dataset_from_rows([{"text": "a", "label": "x"}, {"text": "c", "label": "z"}])
    with pytest.raises(DatasetError) as caught:
        evaluate(classifier, test)
    assert caught.value.lines == (2,)
    assert "unknown to the classifier" in str(caught.value)


def test_policy_evaluation_checks_each_row_in_its_own_direction():
    from guardrails import Engine
    from guardrails.training.policy_eval import evaluate_policy

    engine = Engine.from_string(
        "version: 1\nname: answers\nsteps:\n"
        "  - {id: leak, kind: keywords, words: [hunter2], applies_to: [output]}\n"
    )
    rows = [
        {"text": "is hunter2 a good password?", "label": "benign", "direction": "input"},
        {"text": "the password is hunter2", "label": "leak", "direction": "output"},
        {"text": "hunter2 again", "label": "benign"},  # input by default
    ]
    report = evaluate_policy(engine, rows, batch=2)
    assert (report.caught, report.false_positives) == (1, 0)
