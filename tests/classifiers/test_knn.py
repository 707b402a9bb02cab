from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from guardrails.classifiers import load_classifier
from guardrails.classifiers.knn import KnnClassifier, NeighbourIndex
from guardrails.testing import FakeEmbedder
from guardrails.training import train

QUERIES = ["cheap pills for sale", "send me the meeting report", "free prize", "lunch on friday"]
EXPECTED = ["spam", "ham", "spam", "ham"]


@pytest.mark.parametrize("search", ["exact", "hnsw"])
def test_predicts_by_neighbour_vote_with_probabilities(spam_data, fake, search):
    classifier = train(spam_data, family="knn", embedder=fake, progress=False, k=3, search=search)
    assert isinstance(classifier, KnnClassifier)
    assert classifier.index.kind == search
    predictions = classifier.predict(QUERIES, top_k=2)
    assert [p.label for p in predictions] == EXPECTED
    proba = classifier.predict_proba(QUERIES)
    assert ((proba > 0) & (proba < 1)).all()  # smoothed: never a hard 0 or 1
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_evidence_names_the_nearest_training_examples(spam_data, fake):
    classifier = train(spam_data, family="knn", embedder=fake, progress=False, k=3)
    [prediction] = classifier.predict(["buy cheap pills now"])
    assert len(prediction.evidence) == 3
    assert prediction.evidence[0] == "spam-0"  # the row's own id
    [other] = classifier.predict(["cheap watches for sale"])
    assert other.evidence[0] == "line:2"  # rows without an id are named by their line


def test_exact_and_hnsw_search_agree_on_small_sets():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    exact = NeighbourIndex.build(vectors, exact=True)
    queries = vectors[:20] + 0.01
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    e_idx, e_sim = exact.search(queries, 5)
    assert (e_idx[:, 0] == np.arange(20)).all()
    assert (np.diff(e_sim, axis=1) <= 1e-6).all()  # nearest first
    for threads in (1, 2):  # two threads build faster; the graph may differ, not the answers
        hnsw = NeighbourIndex.build(vectors, exact=False, ef_search=100, threads=threads)
        h_idx, h_sim = hnsw.search(queries, 5)
        assert (e_idx[:, 0] == h_idx[:, 0]).all()
        np.testing.assert_allclose(e_sim, h_sim, atol=1e-4)


@pytest.mark.parametrize("search", ["exact", "hnsw"])
def test_save_and_load_give_identical_predictions(spam_data, fake, tmp_path, search):
    classifier = train(spam_data, family="knn", embedder=fake, progress=False, search=search)
    directory = classifier.save(tmp_path / "knn")
    assert (directory / "index.bin").exists() == (search == "hnsw")
    loaded = load_classifier(directory, embedder=fake)
    assert isinstance(loaded, KnnClassifier) and loaded.index.kind == search
    np.testing.assert_array_equal(loaded.predict_proba(QUERIES), classifier.predict_proba(QUERIES))
    assert [p.evidence for p in loaded.predict(QUERIES)] == [
        p.evidence for p in classifier.predict(QUERIES)
    ]


def test_multi_label_votes_per_label(multi_data, fake, tmp_path):
    classifier = train(multi_data, family="knn", embedder=fake, progress=False, k=4)
    assert classifier.multi_label
    proba = classifier.predict_proba(["you stupid idiot i will hurt you", "a nice day"])
    assert ((proba > 0) & (proba < 1)).all()
    column = {label: j for j, label in enumerate(classifier.labels)}
    assert proba[0, column["insult"]] > 0.5 and proba[0, column["threat"]] > 0.5
    assert proba[1, column["neutral"]] > 0.5
    loaded = load_classifier(classifier.save(tmp_path / "m"), embedder=fake)
    np.testing.assert_array_equal(
        loaded.predict_proba(["idiot"]), classifier.predict_proba(["idiot"])
    )


@pytest.mark.parametrize("search", ["exact", "hnsw"])
def test_concurrent_predictions_match_sequential_ones(spam_data, fake, search):
    classifier = train(spam_data, family="knn", embedder=fake, progress=False, search=search)
    queries = [f"{q} {i}" for i in range(40) for q in QUERIES]
    chunks = [queries[i : i + 4] for i in range(0, len(queries), 4)]
    expected = [classifier.predict(chunk, top_k=2) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda chunk: classifier.predict(chunk, top_k=2), chunks))
    assert results == expected


def test_harm_in_the_tail_of_a_long_text_is_not_diluted(spam_data):
    windowed = FakeEmbedder(window_chars=40)
    classifier = train(spam_data, family="knn", embedder=windowed, progress=False, k=2)
    text = "see you at lunch tomorrow, the meeting moved to friday. " * 3 + "buy cheap pills now"
    [prediction] = classifier.predict([text], top_k=2)
    scores = {s.label: s.probability for s in prediction.labels}
    assert scores["spam"] > 0.5  # the spam window scores high, whatever the benign head says


def test_k_larger_than_the_training_set_is_capped(spam_data, fake):
    classifier = train(spam_data, family="knn", embedder=fake, progress=False, k=50)
    assert classifier.predict(["cheap pills"])[0].label == "spam"
    assert len(classifier.predict(["cheap pills"])[0].evidence) == len(spam_data)


def test_unbalanced_labels_are_not_outvoted(fake):
    from guardrails.training.dataset import dataset_from_rows

    rows = [{"text": f"the weekly team meeting {i}", "label": "ham"} for i in range(30)]
    rows += [{"text": "cheap pills", "label": "spam"}, {"text": "cheap pills now", "label": "spam"}]
    data = dataset_from_rows(rows)
    balanced = train(data, family="knn", embedder=fake, progress=False, k=10)
    plain = train(data, family="knn", embedder=fake, progress=False, k=10, class_weight="none")
    spam = balanced.labels.index("spam")
    query = ["cheap pills please"]
    assert balanced.predict_proba(query)[0, spam] > plain.predict_proba(query)[0, spam]
    assert balanced.predict(query)[0].label == "spam"


@pytest.mark.parametrize("family", ["centroid", "knn"])
def test_no_inputs_give_no_predictions(spam_data, fake, family):
    classifier = train(spam_data, family=family, embedder=fake, progress=False)
    assert classifier.predict([]) == []
    assert classifier.predict_proba([]).shape == (0, 2)
