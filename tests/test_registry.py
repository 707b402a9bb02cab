"""Classifiers by id, and the modality check between inputs and classifiers."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from guardrails.classifiers import load_classifier
from guardrails.embedders.base import Modality
from guardrails.errors import InputError, ModelLoadError
from guardrails.registry import (
    ClassifierRegistry,
    check_modality,
    input_modality,
    parse_classifier_spec,
    registry_from_env,
)
from guardrails.testing import FakeEmbedder

ROWS = [
    {"text": "buy cheap pills now", "label": "spam"},
    {"text": "cheap watches for sale", "label": "spam"},
    {"text": "see you at lunch tomorrow", "label": "ham"},
    {"text": "the meeting moved to friday", "label": "ham"},
]


@pytest.fixture
def classifier():
    from guardrails.training import dataset_from_rows, train

    return train(
        dataset_from_rows(ROWS), family="centroid", embedder=FakeEmbedder(), progress=False
    )


@pytest.fixture
def png(tmp_path) -> Path:
    from PIL import Image

    path = tmp_path / "pixel.png"
    Image.new("RGB", (4, 4), "red").save(path)
    return path


def test_spec_parsing_and_its_errors():
    spec = " toxicity=models/toxicity , nsfw=models/nsfw ,"
    assert parse_classifier_spec(spec) == {"toxicity": "models/toxicity", "nsfw": "models/nsfw"}
    assert parse_classifier_spec("") == {}
    with pytest.raises(ModelLoadError, match="expected id=path"):
        parse_classifier_spec("toxicity")
    with pytest.raises(ModelLoadError, match="given twice"):
        parse_classifier_spec("a=x,a=y")


def test_registry_from_env_loads_lazily_and_by_id(classifier, tmp_path):
    classifier.save(tmp_path / "spam")
    registry = registry_from_env({"GUARDRAILS_CLASSIFIERS": f"spam={tmp_path / 'spam'},gone=/nope"})
    assert registry.ids() == ["gone", "spam"] and "spam" in registry
    with pytest.raises(ModelLoadError, match="no such classifier directory"):
        registry.get("gone")  # only loaded, and so only failing, when asked for
    with pytest.raises(ModelLoadError, match="no classifier registered as 'other'"):
        registry.get("other")


def test_registries_are_independent_objects(classifier):
    first = ClassifierRegistry({"spam": classifier})
    second = ClassifierRegistry()
    assert "spam" in first and "spam" not in second
    with pytest.raises(ValueError, match="already registered"):
        first.register("spam", classifier)
    first.register("spam", classifier, replace=True)
    assert first.get("spam") is classifier


def test_registry_predicts_and_checks_modality(classifier, png):
    registry = ClassifierRegistry({"spam": classifier})
    [prediction] = registry.predict("spam", ["cheap pills"], top_k=2)
    assert prediction.label == "spam" and len(prediction.labels) == 2
    with pytest.raises(InputError, match="input 0 is image but classifier 'spam' classifies text"):
        registry.predict("spam", [png.read_bytes()])


def test_load_classifier_by_registered_id(classifier, tmp_path):
    classifier.save(tmp_path / "m")
    environ = {"GUARDRAILS_CLASSIFIERS": f"spam={tmp_path / 'm'}"}
    loaded = load_classifier("spam", embedder=FakeEmbedder(), environ=environ)
    assert loaded.labels == ("ham", "spam")


def test_what_counts_as_an_image(png, tmp_path):
    from PIL import Image

    assert input_modality("a cat on a mat") is Modality.TEXT
    assert input_modality("photo.png") is Modality.TEXT  # no such file: just text
    assert input_modality(str(png)) is Modality.IMAGE
    assert input_modality(png) is Modality.IMAGE
    assert input_modality(png.read_bytes()) is Modality.IMAGE
    assert input_modality(Image.open(io.BytesIO(png.read_bytes()))) is Modality.IMAGE
    assert input_modality(tmp_path / "clip.wav") is Modality.AUDIO
    with pytest.raises(InputError, match="cannot moderate a int"):
        input_modality(42)


def test_an_image_classifier_refuses_text(tmp_path):
    from PIL import Image

    from guardrails.training import dataset_from_rows, train

    rows = []
    for i, colour in enumerate(["red", "darkred", "blue", "navy"]):
        Image.new("RGB", (4, 4), colour).save(tmp_path / f"{i}.png")
        rows.append({"image_path": f"{i}.png", "label": "red" if i < 2 else "blue"})
    data = dataset_from_rows(rows, source="images.jsonl", base_dir=tmp_path)
    images = train(
        data, family="knn", embedder=FakeEmbedder(modality=Modality.IMAGE), progress=False
    )
    registry = ClassifierRegistry({"colours": images})
    [prediction] = registry.predict("colours", [tmp_path / "0.png"])
    assert prediction.label in ("red", "blue")
    with pytest.raises(
        InputError, match="input 1 is text but classifier 'colours' classifies image"
    ):
        registry.predict("colours", [tmp_path / "0.png", "a red square"])
    with pytest.raises(InputError, match="input 0 is text but this classifier classifies image"):
        check_modality(images, ["a red square"])
