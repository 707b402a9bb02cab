"""The train() entry point, the trainers, and the accuracy bar on the real data sets."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from guardrails.embedders.base import Modality
from guardrails.errors import InputError
from guardrails.testing import FakeEmbedder
from guardrails.training import CentroidTrainer, KnnTrainer, dataset_from_rows, evaluate, train
from guardrails.training.trainers import TRAINERS

ROWS = [
    {"text": "buy cheap pills now", "label": "spam"},
    {"text": "cheap watches for sale", "label": "spam"},
    {"text": "win a free prize now", "label": "spam"},
    {"text": "see you at lunch tomorrow", "label": "ham"},
    {"text": "the meeting moved to friday", "label": "ham"},
    {"text": "can you send the report", "label": "ham"},
]


@pytest.fixture
def data():
    return dataset_from_rows(ROWS, source="toy.jsonl")


def test_train_dispatches_on_family(data):
    fake = FakeEmbedder()
    assert type(train(data, family="centroid", embedder=fake, progress=False)).__name__ == (
        "CentroidClassifier"
    )
    assert train(data, family="knn", embedder=fake, progress=False).family == "knn"
    assert TRAINERS["setfit"] == "guardrails.training.setfit_trainer:SetFitTrainer"


def test_trainer_objects_are_usable_directly(data):
    classifier = KnnTrainer(embedder=FakeEmbedder(), progress=False, k=2).train(data)
    assert classifier.k == 2
    assert CentroidTrainer(embedder=FakeEmbedder(), progress=False).train(data).labels == (
        "ham",
        "spam",
    )


def test_unknown_family_or_option_names_the_known_ones(data):
    with pytest.raises(ValueError, match=r"unknown family 'svm'.*centroid, knn, setfit"):
        train(data, family="svm")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['k'\] for centroid"):
        train(data, family="centroid", embedder=FakeEmbedder(), k=3)
    with pytest.raises(ValueError, match="search must be"):
        train(data, family="knn", embedder=FakeEmbedder(), search="annoy")


def test_training_records_provenance(data):
    classifier = train(data, embedder=FakeEmbedder(), progress=False, seed=7, command="guardrails")
    info = classifier.training
    assert info.source == "toy.jsonl" and info.size == 6 and info.sha256 == data.sha256
    assert info.label_counts == {"ham": 3, "spam": 3}
    assert info.seed == 7 and info.command == "guardrails" and info.seconds >= 0
    assert {"loo_accuracy", "loo_macro_f1", "embed_seconds", "fit_seconds"} <= set(
        classifier.metrics
    )


def test_train_from_a_path(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(f'{{"text": "{r["text"]}", "label": "{r["label"]}"}}' for r in ROWS))
    classifier = train(path, embedder=FakeEmbedder(), progress=False)
    assert classifier.training.source == str(path)


def test_progress_bar_goes_to_stderr(data, capsys):
    train(data, embedder=FakeEmbedder(), progress=True)
    captured = capsys.readouterr()
    assert "embedding" in captured.err and captured.out == ""


def test_modality_mismatch_and_audio_are_clear_errors(data, tmp_path):
    with pytest.raises(InputError, match=r"holds text inputs but the embedder.*embeds image"):
        train(data, embedder=FakeEmbedder(modality=Modality.IMAGE), progress=False)
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    audio = dataset_from_rows([{"audio_path": "a.wav", "label": "x"}] * 2, base_dir=tmp_path)
    with pytest.raises(InputError, match="no audio embedder"):
        train(audio, progress=False)


def test_too_few_labels_or_examples(data):
    one_label = dataset_from_rows([{"text": "a", "label": "x"}, {"text": "b", "label": "x"}])
    with pytest.raises(InputError, match="at least 2"):
        train(one_label, embedder=FakeEmbedder(), progress=False)
    train_part, _ = data.split(0.5, seed=0)
    assert len(train(train_part, embedder=FakeEmbedder(), progress=False).labels) == 2


def test_importing_training_does_not_import_torch():
    code = (
        "import sys, guardrails.training, guardrails.training.trainers, guardrails.classifiers;"
        "import guardrails.registry, guardrails.artifacts, guardrails.testing;"
        "print('torch' in sys.modules or 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- the accuracy bar, with the real models ------------------------------------------


class _Remembering:
    """Wraps an embedder and remembers each input's window vectors, so the centroid and knn
    tests embed the data sets once between them."""

    def __init__(self, inner):
        self.inner, self.config = inner, inner.config
        self.modality, self.dimension = inner.modality, inner.dimension
        self.seen: dict[str, np.ndarray] = {}

    def embed_windows(self, inputs):
        missing = list(dict.fromkeys(x for x in inputs if x not in self.seen))
        if missing:
            vectors, owner = self.inner.embed_windows(missing)
            for i, item in enumerate(missing):
                self.seen[item] = vectors[owner == i]
        rows = [self.seen[x] for x in inputs]
        owner = np.concatenate([np.full(len(r), i) for i, r in enumerate(rows)])
        return np.concatenate(rows), owner

    def embed(self, inputs):
        self.embed_windows(inputs)
        means = np.stack([self.seen[x].mean(axis=0) for x in inputs])
        return means / np.linalg.norm(means, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("torch")
    from guardrails.embedders.base import load_embedder

    return _Remembering(load_embedder({"text": {}}))


@pytest.mark.slow
@pytest.mark.ml
@pytest.mark.parametrize("family", ["centroid", "knn"])
def test_prompt_injection_macro_f1(family, minilm, shared_data, tmp_path):
    from guardrails.classifiers import load_classifier
    from guardrails.training import load_dataset

    train_data = load_dataset(shared_data / "jsonl" / "prompt_injection_train.jsonl")
    test_data = load_dataset(shared_data / "jsonl" / "prompt_injection_test.jsonl")
    start = time.perf_counter()
    classifier = train(train_data, family=family, embedder=minilm, progress=False)
    seconds = time.perf_counter() - start
    result = evaluate(classifier, test_data)
    print(
        f"\n{family}: macro-F1 {result.macro_f1:.4f} accuracy {result.accuracy:.4f} "
        f"ROC-AUC {result.macro_roc_auc:.4f}, trained in {seconds:.1f} s"
    )
    assert result.macro_f1 >= 0.80
    loaded = load_classifier(classifier.save(tmp_path / family), embedder=minilm)
    texts = test_data.inputs()[:16]
    np.testing.assert_array_equal(loaded.predict_proba(texts), classifier.predict_proba(texts))


@pytest.mark.slow
@pytest.mark.ml
def test_catsdogs_efficientnet_centroid_accuracy(shared_data):
    pytest.importorskip("torch")
    from guardrails.embedders.base import load_embedder
    from guardrails.training import load_dataset

    try:
        embedder = load_embedder({"vision": {"backbone": "efficientnet-lite0"}})
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"the EfficientNet-Lite0 embedder is not available: {exc}")
    data = load_dataset(shared_data / "jsonl" / "catsdogs.jsonl")
    train_data = data.sample_per_class(16, seed=0)
    chosen = {example.line for example in train_data.examples}
    rest = data.subset([i for i, e in enumerate(data.examples) if e.line not in chosen])
    classifier = train(train_data, family="centroid", embedder=embedder, progress=False)
    result = evaluate(classifier, rest)
    print(
        f"\ncats/dogs EfficientNet-Lite0 centroid: accuracy {result.accuracy:.4f} "
        f"on {result.size} images"
    )
    assert result.accuracy >= 0.90
