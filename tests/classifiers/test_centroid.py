from __future__ import annotations

import numpy as np
import pytest

from guardrails.classifiers import load_classifier
from guardrails.classifiers.centroid import CentroidClassifier, centroids_and_loo_cosines
from guardrails.testing import FakeEmbedder
from guardrails.training import train

QUERIES = ["cheap pills for sale", "send me the meeting report", "free prize", "lunch on friday"]
EXPECTED = ["spam", "ham", "spam", "ham"]


def test_predicts_the_nearest_label_with_probabilities(spam_data, fake):
    classifier = train(spam_data, family="centroid", embedder=fake, progress=False)
    assert isinstance(classifier, CentroidClassifier)
    predictions = classifier.predict(QUERIES, top_k=2)
    assert [p.label for p in predictions] == EXPECTED
    for p in predictions:
        assert [s.label for s in p.labels] != [] and len(p.labels) == 2
        assert p.labels[0].probability >= p.labels[1].probability
        assert 0.0 <= p.labels[1].probability <= p.labels[0].probability <= 1.0
    proba = classifier.predict_proba(QUERIES)
    assert proba.shape == (4, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_temperature_is_fitted_so_scores_are_not_hard_zero_one(spam_data, fake):
    classifier = train(spam_data, family="centroid", embedder=fake, progress=False)
    assert classifier.temperature is not None and 1e-3 < classifier.temperature < 10
    ambiguous = classifier.predict_proba(["hello there"])[0]
    assert ambiguous.max() < 0.99  # an input unlike any label is not scored as a certainty
    assert classifier.metrics["loo_accuracy"] >= 0.5


def test_leave_one_out_removes_an_example_from_its_own_centroid():
    vectors = np.eye(3, dtype=np.float32)[[0, 0, 1, 2]]
    targets = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    centroids, loo = centroids_and_loo_cosines(vectors, targets)
    np.testing.assert_allclose(np.linalg.norm(centroids, axis=1), 1.0, atol=1e-6)
    assert loo[0, 0] == pytest.approx(1.0)  # its twin remains in the centroid
    assert loo[2, 1] == pytest.approx(0.0)  # alone with a different vector: no self-match
    assert loo[2, 0] == pytest.approx(0.0)


def test_multi_label_gives_independent_probabilities(multi_data, fake):
    classifier = train(multi_data, family="centroid", embedder=fake, progress=False)
    assert classifier.multi_label and classifier.platt is not None
    proba = classifier.predict_proba(["you stupid idiot i will hurt you", "nice day"])
    assert proba.shape == (2, 3)
    assert ((proba >= 0) & (proba <= 1)).all()
    column = {label: j for j, label in enumerate(classifier.labels)}
    both = proba[0]
    assert both[column["insult"]] > 0.5 and both[column["threat"]] > 0.5
    assert proba[1, column["neutral"]] > proba[1, column["threat"]]


def test_save_and_load_give_identical_predictions(spam_data, fake, tmp_path):
    classifier = train(spam_data, family="centroid", embedder=fake, progress=False)
    classifier.save(tmp_path / "model")
    loaded = load_classifier(tmp_path / "model", embedder=fake)
    assert isinstance(loaded, CentroidClassifier)
    assert loaded.labels == classifier.labels
    np.testing.assert_array_equal(loaded.predict_proba(QUERIES), classifier.predict_proba(QUERIES))
    assert loaded.training.sha256 == spam_data.sha256
    assert loaded.training.label_counts == {"ham": 6, "spam": 6}


def test_multi_label_round_trip(multi_data, fake, tmp_path):
    classifier = train(multi_data, family="centroid", embedder=fake, progress=False)
    loaded = CentroidClassifier.load(classifier.save(tmp_path / "m"), embedder=fake)
    assert loaded.multi_label
    np.testing.assert_array_equal(
        loaded.predict_proba(["idiot"]), classifier.predict_proba(["idiot"])
    )


def test_a_long_text_keeps_the_most_severe_window(spam_data):
    windowed = FakeEmbedder(window_chars=40)
    classifier = train(spam_data, family="centroid", embedder=windowed, progress=False)
    head = "see you at lunch tomorrow, the meeting moved to friday. " * 3
    long_text = head + "buy cheap pills now, free prize"
    _, owner = windowed.embed_windows([long_text])
    assert len(owner) > 3
    spam = classifier.labels.index("spam")
    assert classifier.predict_proba([long_text])[0, spam] > 0.5


def test_classifier_is_immutable_after_load(spam_data, fake):
    classifier = train(spam_data, family="centroid", embedder=fake, progress=False)
    with pytest.raises(ValueError):
        classifier.centroids[0, 0] = 1.0
