"""`guardrails train --out`, family options, corrupt manifests and file-level errors: each
refused up front with one line and the right exit code, never a traceback or a mixed directory."""

from __future__ import annotations

import inspect
import json
import os
import pkgutil

import pytest

from guardrails.artifacts import read_manifest
from guardrails.classifiers import load_classifier
from guardrails.cli import main
from guardrails.errors import DatasetError, ModelLoadError
from guardrails.testing import FakeEmbedder
from guardrails.training import dataset_from_rows, train
from guardrails.training.dataset import load_dataset

FAKE = '{"text": {"model": "fake:ngrams-256"}}'
ROWS = [
    ("buy cheap pills now", "spam"),
    ("cheap watches for sale", "spam"),
    ("win a free prize now", "spam"),
    ("see you at lunch tomorrow", "ham"),
    ("the meeting moved to friday", "ham"),
    ("can you send the report", "ham"),
]


@pytest.fixture(autouse=True)
def _fake(fake_embedders):
    """``fake:`` model names build a FakeEmbedder in every test here."""


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in ROWS))
    return path


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _train(capsys, data, out, *extra):
    argv = ["train", "--data", str(data), "--out", str(out), "--embedder", FAKE, "--no-progress"]
    return _run(capsys, *argv, *extra)


def _tree(directory):
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*"))


# --out: a saved classifier is replaced whole, anything else is refused before training


def test_training_over_a_saved_classifier_replaces_it_whole(data, tmp_path, capsys):
    out = tmp_path / "models" / "m"
    code, _, err = _train(capsys, data, out, "--family", "knn", "--k", "3")
    assert code == 0, err
    assert "ids.json" in _tree(out)
    code, _, err = _train(capsys, data, out, "--family", "centroid")
    assert code == 0, err
    assert _tree(out) == ["centroids.safetensors", "manifest.json"]  # no stale knn files
    assert sorted(p.name for p in out.parent.iterdir()) == ["m"]  # no staging left beside it
    assert load_classifier(out).family == "centroid"


def test_a_failed_save_leaves_the_previous_classifier_untouched(tmp_path, monkeypatch):
    data = dataset_from_rows([{"text": t, "label": y} for t, y in ROWS])
    out = tmp_path / "m"
    train(data, family="centroid", embedder=FakeEmbedder(), progress=False).save(out)
    before = {name: (out / name).read_bytes() for name in _tree(out)}
    knn = train(data, family="knn", embedder=FakeEmbedder(), progress=False, k=3)

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("guardrails.classifiers.knn.write_manifest", fail)
    with pytest.raises(OSError, match="disk full"):
        knn.save(out)
    assert {name: (out / name).read_bytes() for name in _tree(out)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: (d / "notes.txt").write_text("mine"), "not a saved classifier"),
        (lambda d: (d / "manifest.json").write_text('{"name": "my-app"}'), "not a saved class"),
        (lambda d: (d / "manifest.json").write_text("not json"), "not a saved classifier"),
    ],
)
def test_out_directories_that_are_not_a_classifier_are_refused_first(
    tmp_path, capsys, setup, message
):
    out = tmp_path / "mine"
    out.mkdir()
    setup(out)
    before = {name: (out / name).read_bytes() for name in _tree(out)}
    code, out_text, err = _train(capsys, tmp_path / "no-data.jsonl", out)  # data never read
    assert code == 3 and out_text == ""
    assert f"--out {out}: " in err and message in err and err.count("\n") == 1
    assert {name: (out / name).read_bytes() for name in _tree(out)} == before


def test_a_classifier_directory_with_files_of_its_own_is_refused(data, tmp_path, capsys):
    out = tmp_path / "m"
    assert _train(capsys, data, out, "--family", "knn", "--k", "3")[0] == 0
    (out / "report").mkdir()
    (out / "report" / "metrics.json").write_text("{}")
    code, _, err = _train(capsys, data, out)
    assert code == 3 and "report/metrics.json" in err and err.count("\n") == 1
    assert (out / "report" / "metrics.json").exists() and (out / "ids.json").exists()


def test_an_empty_out_directory_is_used(data, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = _train(capsys, data, tmp_path / "empty")
    assert code == 0, err
    assert _tree(tmp_path / "empty") == ["centroids.safetensors", "manifest.json"]


def test_out_problems_are_usage_errors_before_the_data_is_read(tmp_path, capsys):
    regular = tmp_path / "model.txt"
    regular.write_text("x")
    missing_data = tmp_path / "no-data.jsonl"
    code, _, err = _train(capsys, missing_data, regular)
    assert code == 3 and f"--out {regular}: " in err and "not a directory" in err
    code, _, err = _train(capsys, missing_data, regular / "m")
    assert code == 3 and f"{regular} is not a directory" in err and err.count("\n") == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_parent_is_a_usage_error(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, _, err = _train(capsys, tmp_path / "no-data.jsonl", locked / "m")
    assert code == 3 and "cannot write" in err


# family options: checked for type and range before any work


@pytest.mark.parametrize(
    ("family", "argv", "message"),
    [
        ("knn", ["--option", 'k="ten"'], '--option k: expected a positive integer, got "ten"'),
        ("knn", ["--option", "k=ten"], '--option k: expected a positive integer, got "ten"'),
        ("knn", ["--option", "k=2.5"], "--option k: expected a positive integer, got 2.5"),
        ("knn", ["--option", "k=true"], "--option k: expected a positive integer, got true"),
        ("knn", ["--k", "0"], "--k: expected a positive integer, got 0"),
        ("knn", ["--M", "1"], "--M: expected an integer >= 2, got 1"),
        ("knn", ["--option", "search=fast"], "--option search: expected 'auto', 'exact' or "),
        ("knn", ["--option", "exact_below=null"], None),
        ("setfit", ["--option", "epochs=0"], "--option epochs: expected a positive number, got 0"),
        ("setfit", ["--option", "lp_ft=yes"], '--option lp_ft: expected true or false, got "yes"'),
        ("setfit", ["--option", "warmup=1"], "--option warmup: expected a number in [0, 1)"),
        ("setfit", ["--option", "train_layers=0"], "--option train_layers: expected"),
        ("setfit", ["--option", "min_steps=9", "--option", "max_steps=3"], "min_steps <= max"),
        ("centroid", ["--k", "3"], "unknown option(s) ['k'] for centroid"),
        ("centroid", ["--option", "kk=3"], "unknown option(s) ['kk'] for centroid"),
        ("centroid", ["--option", 'k="ten"'], "unknown option(s) ['k'] for centroid"),
    ],
)
def test_family_options_are_checked_before_the_data_is_read(
    tmp_path, capsys, family, argv, message
):
    missing_data = tmp_path / "no-data.jsonl"
    code, _, err = _train(capsys, missing_data, tmp_path / "m", "--family", family, *argv)
    if message is None:  # a valid option: the run goes on to the data
        assert code == 4 and "no-data.jsonl: no such file" in err
        return
    assert code == 3, err
    assert message in err and err.count("\n") == 1


def test_options_are_checked_by_the_python_api_too():
    data = dataset_from_rows([{"text": t, "label": y} for t, y in ROWS])
    with pytest.raises(ValueError, match=r'k must be a positive integer, got "ten"'):
        train(data, family="knn", embedder=FakeEmbedder(), progress=False, k="ten")


def test_every_trainer_option_has_a_rule():
    from guardrails.training.trainers import OPTIONS, TRAINERS

    for family, name in TRAINERS.items():
        accepted = set(inspect.signature(pkgutil.resolve_name(name)).parameters)
        assert accepted - {"embedder", "seed", "progress"} <= set(OPTIONS), family


def test_k_above_the_training_set_size_warns_and_is_clamped(data, tmp_path, capsys):
    code, _, err = _train(capsys, data, tmp_path / "m", "--family", "knn", "--k", "1000")
    assert code == 0
    assert "warning: k=1000 is more than the 6 training examples" in err
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["params"]["k"] == 6
    code, _, err = _train(capsys, data, tmp_path / "m", "--family", "knn", "--k", "3")
    assert code == 0 and "warning" not in err


# corrupt manifests: the file and the field are named, never a traceback


@pytest.fixture(params=["centroid", "knn"])
def saved(request, tmp_path):
    data = dataset_from_rows([{"text": t, "label": y} for t, y in ROWS])
    kwargs = {"k": 3} if request.param == "knn" else {}
    classifier = train(
        data, family=request.param, embedder=FakeEmbedder(), progress=False, **kwargs
    )
    return classifier.save(tmp_path / request.param)


def _edit(directory, change):
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def _set(field, value):
    def change(manifest):
        *parents, last = field.split(".")
        target = manifest
        for name in parents:
            target = target[name]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()

CORRUPTIONS = [
    ("both", "dimension", "384", "'dimension' must be a positive integer, got \"384\""),
    ("both", "files", _DELETE, "missing 'files'"),
    ("both", "files", {}, "'files' must"),
    ("both", "multi_label", "no", "'multi_label' must be true or false"),
    ("both", "labels", ["spam", "spam"], "'labels' must be"),
    ("both", "training", {"size": "six"}, "'training.size' must be"),
    ("both", "thresholds", {"spam": 0.5}, "'thresholds' must"),
    ("centroid", "params.temperature", "hot", "'params.temperature' must be a positive number"),
    ("centroid", "params.temperature", _DELETE, "missing 'params.temperature'"),
    ("knn", "params.search", "bogus", "'params.search' must be 'exact' or 'hnsw', got \"bogus\""),
    ("knn", "params.k", 2.5, "'params.k' must be a positive integer, got 2.5"),
    ("knn", "params.smoothing", 1.5, "'params.smoothing' must be a number in [0, 1)"),
]


@pytest.mark.parametrize(("family", "field", "value", "message"), CORRUPTIONS)
def test_a_corrupt_manifest_field_is_named(saved, family, field, value, message):
    if family not in ("both", saved.name):
        pytest.skip(f"a {family} field")
    _edit(saved, _set(field, value))
    with pytest.raises(ModelLoadError) as caught:
        load_classifier(saved, embedder=FakeEmbedder())
    assert str(caught.value).startswith(f"{saved / 'manifest.json'}: ")
    assert message in str(caught.value)


def test_a_corrupt_manifest_is_one_line_and_exit_4_in_the_cli(saved, data, capsys):
    if saved.name != "centroid":
        pytest.skip("one family is enough")
    _edit(saved, _set("params.temperature", "hot"))
    for argv in (
        ["eval", "--model", str(saved), "--data", str(data)],
        ["predict", "--model", str(saved), "cheap pills"],
    ):
        code, out, err = _run(capsys, *argv)
        assert code == 4 and out == ""
        assert "params.temperature" in err and err.count("\n") == 1


def test_the_shipped_manifests_are_still_valid():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "models"
    shipped = [p.parent for p in root.glob("*/manifest.json")]
    for directory in shipped:
        assert read_manifest(directory).labels


# file-level errors name no line and say what the path is


def test_a_missing_or_directory_data_file_names_no_line(tmp_path, capsys):
    with pytest.raises(DatasetError) as caught:
        load_dataset(tmp_path / "nope.jsonl")
    assert str(caught.value) == f"{tmp_path / 'nope.jsonl'}: no such file"
    with pytest.raises(DatasetError) as caught:
        load_dataset(tmp_path)
    assert str(caught.value) == f"{tmp_path}: is a directory, not a data file"
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DatasetError, match=r"empty\.jsonl: no rows"):
        load_dataset(tmp_path / "empty.jsonl")
    code, _, err = _train(capsys, tmp_path / "nope.jsonl", tmp_path / "m")
    assert code == 4 and f"{tmp_path / 'nope.jsonl'}: no such file" in err and ":0:" not in err


def test_a_model_path_that_is_a_file_is_said_to_be_one(data, capsys):
    code, _, err = _run(capsys, "eval", "--model", str(data), "--data", str(data))
    assert code == 4 and f"{data}: not a directory" in err and err.count("\n") == 1
    code, _, err = _run(capsys, "predict", "--model", str(data), "x")
    assert code == 4 and "not a directory" in err
