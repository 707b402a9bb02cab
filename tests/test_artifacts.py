"""Saved classifier directories: manifest, safetensors, and every way loading can fail."""

from __future__ import annotations

import json

import numpy as np
import pytest

from guardrails.artifacts import (
    FORMAT_VERSION,
    describe_embedder,
    load_arrays,
    read_manifest,
    save_arrays,
    update_manifest,
)
from guardrails.classifiers import load_classifier
from guardrails.embedders.base import Modality, VisionEmbedderConfig
from guardrails.errors import ModelLoadError
from guardrails.testing import FakeEmbedder

ROWS = [
    {"text": "buy cheap pills now", "label": "spam"},
    {"text": "cheap watches for sale", "label": "spam"},
    {"text": "win a free prize now", "label": "spam"},
    {"text": "see you at lunch tomorrow", "label": "ham"},
    {"text": "the meeting moved to friday", "label": "ham"},
    {"text": "can you send the report", "label": "ham"},
]


@pytest.fixture
def fake() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(params=["centroid", "knn"])
def saved(request, tmp_path, fake):
    from guardrails.training import dataset_from_rows, train

    data = dataset_from_rows(ROWS, source="toy.jsonl")
    classifier = train(data, family=request.param, embedder=fake, progress=False, command="cmd")
    return classifier.save(tmp_path / request.param)


def _edit_manifest(directory, **changes):
    path = directory / "manifest.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_manifest_records_what_the_directory_holds(saved):
    data = json.loads((saved / "manifest.json").read_text())
    assert data["format_version"] == FORMAT_VERSION
    assert data["family"] in ("centroid", "knn")
    assert data["labels"] == ["ham", "spam"] and data["multi_label"] is False
    assert data["embedder"] == {"text": {"model": "fake:ngrams-256"}}
    assert data["dimension"] == 256
    training = data["training"]
    assert training["source"] == "toy.jsonl" and training["size"] == 6
    assert training["label_counts"] == {"ham": 3, "spam": 3}
    assert len(training["sha256"]) == 64 and training["command"] == "cmd"
    assert training["seconds"] >= 0
    assert "loo_accuracy" in data["metrics"] and data["thresholds"] is None
    for name, record in data["files"].items():
        assert (saved / name).stat().st_size == record["bytes"]
        assert len(record["sha256"]) == 64
    assert not any("." in str(v) and ":" in str(v) for v in data["params"].values())


def test_no_pickle_in_a_saved_directory(saved):
    for path in saved.iterdir():
        assert path.suffix in {".json", ".safetensors", ".bin"}, path
        assert not path.read_bytes().startswith(b"\x80")  # pickle protocol header


def test_a_newer_format_is_refused(saved, fake):
    _edit_manifest(saved, format_version=FORMAT_VERSION + 1)
    with pytest.raises(ModelLoadError, match=rf"newer guardrails \(format {FORMAT_VERSION + 1} > "):
        load_classifier(saved, embedder=fake)


def test_another_embedder_is_refused_naming_both(saved):
    image = FakeEmbedder(modality=Modality.IMAGE)
    with pytest.raises(ModelLoadError, match=r"trained with text:fake:ngrams-256, not vision:"):
        load_classifier(saved, embedder=image)
    with pytest.raises(ModelLoadError, match="trained with text:fake:ngrams-256, not text:"):
        load_classifier(saved, embedder=FakeEmbedder(dimension=128))


def test_the_family_is_checked(saved):
    other = "knn" if saved.name == "centroid" else "centroid"
    with pytest.raises(ModelLoadError, match=f"not '{other}'"):
        read_manifest(saved, family=other)
    _edit_manifest(saved, family="transformer-xl")
    with pytest.raises(ModelLoadError, match="unknown classifier family 'transformer-xl'"):
        load_classifier(saved)


def test_a_missing_or_truncated_file_is_named(saved, fake):
    name = next(p.name for p in saved.iterdir() if p.suffix == ".safetensors")
    target = saved / name
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match=f"{name}: truncated or corrupt"):
        load_classifier(saved, embedder=fake)
    target.unlink()
    with pytest.raises(ModelLoadError, match=f"{name}: missing"):
        load_classifier(saved, embedder=fake)


def test_a_corrupt_or_absent_manifest_is_reported(tmp_path, saved):
    with pytest.raises(ModelLoadError, match="no such classifier directory"):
        load_classifier(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match="not a saved classifier"):
        load_classifier(empty)
    (saved / "manifest.json").write_text('{"format_version": 1, "family": ')
    with pytest.raises(ModelLoadError, match=r"manifest\.json: unreadable or corrupt"):
        load_classifier(saved)


def test_update_manifest_sets_thresholds_and_keeps_loading(saved, fake):
    update_manifest(saved, thresholds={"spam": {"flag": 0.5, "block": 0.9}}, metrics={"x": 1})
    manifest = read_manifest(saved, embedder=fake)
    assert manifest.thresholds == {"spam": {"flag": 0.5, "block": 0.9}}
    assert manifest.metrics["x"] == 1 and "loo_accuracy" in manifest.metrics
    assert load_classifier(saved, embedder=fake).thresholds["spam"]["block"] == 0.9


def test_arrays_round_trip_and_missing_names_are_errors(tmp_path):
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 0], np.uint8)}
    path = save_arrays(tmp_path / "x.safetensors", arrays, metadata={"note": "hi"})
    loaded = load_arrays(path, ["a", "b"])
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array)
        assert loaded[name].dtype == array.dtype
    with pytest.raises(ModelLoadError, match="lacks the array"):
        load_arrays(path, ["c"])
    path.write_bytes(b"\x00garbage")
    with pytest.raises(ModelLoadError, match=r"x\.safetensors: truncated or corrupt"):
        load_arrays(path)


def test_describe_embedder_names_model_and_backbone():
    assert describe_embedder({"text": {}}) == "text:minilm"
    config = VisionEmbedderConfig(backbone="dinov2", model="facebook/dinov2-small")
    assert describe_embedder(config) == "vision:dinov2(facebook/dinov2-small)"
