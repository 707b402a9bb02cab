"""Datasets: JSONL and CSV rows of one modality, every bad row reported with its line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from guardrails.embedders.base import Modality
from guardrails.errors import DatasetError
from guardrails.training.dataset import Dataset, dataset_from_rows, load_dataset, load_datasets


def _write_jsonl(path: Path, rows: list) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _labelled(counts: dict[str, int]) -> Dataset:
    rows = [
        {"text": f"{label} {i}", "label": label} for label, n in counts.items() for i in range(n)
    ]
    return dataset_from_rows(rows)


def test_text_jsonl_with_blank_lines_ids_and_extra_keys(tmp_path):
    path = _write_jsonl(
        tmp_path / "train.jsonl",
        [
            {"text": "buy cheap pills", "label": "spam", "id": 7, "source": "sms"},
            "",
            {"text": "see you at lunch", "label": "ham"},
            "   ",
            {"text": "win a prize now", "label": "spam", "id": "x-1"},
        ],
    )
    data = load_dataset(path)
    assert len(data) == 3 and data.modality is Modality.TEXT and not data.multi_label
    assert data.labels == ("ham", "spam") and data.source == str(path)
    assert [e.line for e in data.examples] == [1, 3, 5]
    assert [e.id for e in data.examples] == ["7", None, "x-1"]
    assert data.inputs()[1] == "see you at lunch"
    assert data.targets() == ["spam", "ham", "spam"]
    np.testing.assert_array_equal(data.label_matrix(), [[0, 1], [1, 0], [0, 1]])
    assert data.label_matrix().dtype == np.float32
    assert len(data.sha256) == 64


def test_every_bad_row_is_reported_with_its_line(tmp_path):
    (tmp_path / "cat.png").write_bytes(b"")
    path = _write_jsonl(
        tmp_path / "bad.jsonl",
        [
            {"text": "fine", "label": "ok"},  # 1
            {"text": "two inputs", "image_path": "cat.png", "label": "ok"},  # 2
            {"label": "ok"},  # 3: no input
            {"text": "no label"},  # 4
            {"text": "empty label", "label": "  "},  # 5
            {"text": 42, "label": "ok"},  # 6
            '{"text": "broken", "label": ',  # 7
            {"image_path": "missing.png", "label": "ok"},  # 8
            {"text": "empty list", "label": []},  # 9
            ["not", "an", "object"],  # 10
            {"text": "fine again", "label": ["a", ""]},  # 11
        ],
    )
    with pytest.raises(DatasetError) as caught:
        load_dataset(path)
    error = caught.value
    assert error.lines == (2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
    message = str(error)
    assert f"{path}:2: mixes inputs text and image_path" in message
    assert ":3: no input" in message and ":4: no label" in message
    assert ":5: empty label" in message and ":6: text must be a string" in message
    assert ":7: invalid JSON" in message
    assert f":8: image not found: {tmp_path / 'missing.png'}" in message


def test_one_modality_per_dataset(tmp_path):
    (tmp_path / "a.png").write_bytes(b"png")
    rows = [{"text": "t1", "label": "x"}, {"image_path": "a.png", "label": "x"}]
    rows += [{"text": "t2", "label": "y"}]
    with pytest.raises(DatasetError, match=r"<rows>:2: image row in a text dataset") as caught:
        dataset_from_rows(rows, base_dir=tmp_path)
    assert caught.value.lines == (2,)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_an_empty_file_is_an_error(tmp_path, content):
    path = tmp_path / "empty.jsonl"
    path.write_text(content)
    with pytest.raises(DatasetError, match="empty"):
        load_dataset(path)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset(tmp_path / "nope.jsonl")
    other = tmp_path / "data.parquet"
    other.write_bytes(b"PAR1")
    with pytest.raises(DatasetError, match=r"use \.jsonl or \.csv"):
        load_dataset(other)


def test_csv_with_quoted_newlines_and_line_numbers(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text(
        'text,label,id\n"hello,\nworld",greeting,1\n\nbye,farewell,2\n"no label",,3\n',
        encoding="utf-8",
    )
    with pytest.raises(DatasetError) as caught:
        load_dataset(path)
    assert caught.value.problems == ((6, "no label"),)

    path.write_text('text,label\n"hello,\nworld",greeting\n\nbye,farewell\n', encoding="utf-8")
    data = load_dataset(path)
    assert data.inputs() == ["hello,\nworld", "bye"] and data.labels == ("farewell", "greeting")
    assert [e.line for e in data.examples] == [2, 5]

    path.write_text("sentence,category\nhi,x\n")
    with pytest.raises(DatasetError, match="needs a 'label' column"):
        load_dataset(path)


def test_multi_label_rows(tmp_path):
    rows = [
        {"text": "you idiot, I will hurt you", "label": ["threat", "insult"]},
        {"text": "have a nice day", "label": "ok"},
        {"text": "idiot", "label": ["insult"]},
    ]
    data = load_dataset(_write_jsonl(tmp_path / "multi.jsonl", rows))
    assert data.multi_label and data.labels == ("insult", "ok", "threat")
    assert data.examples[0].labels == ("insult", "threat")
    np.testing.assert_array_equal(data.label_matrix(), [[1, 0, 1], [0, 1, 0], [1, 0, 0]])
    with pytest.raises(ValueError, match="label_matrix"):
        data.targets()


def test_media_paths_resolve_against_the_files_folder(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    (folder / "imgs").mkdir(parents=True)
    (folder / "imgs" / "cat.jpg").write_bytes(b"jpeg")
    (folder / "clip.wav").write_bytes(b"RIFF")
    _write_jsonl(folder / "images.jsonl", [{"image_path": "imgs/cat.jpg", "label": "cat"}])
    _write_jsonl(folder / "audio.jsonl", [{"audio_path": "clip.wav", "label": "speech"}])
    monkeypatch.chdir(tmp_path)  # not the file's folder

    images = load_dataset("data/images.jsonl")
    assert images.modality is Modality.IMAGE
    assert images.inputs() == [str((folder / "imgs" / "cat.jpg").resolve())]
    assert load_dataset(folder / "audio.jsonl").modality is Modality.AUDIO

    moved = tmp_path / "elsewhere"
    shutil.copytree(folder, moved)
    assert load_dataset(moved / "images.jsonl").sha256 == images.sha256


def test_hash_follows_inputs_and_labels_only():
    base = dataset_from_rows([{"text": "a", "label": "x"}, {"text": "b", "label": "y"}])
    same = dataset_from_rows([{"text": "a", "label": "x", "id": 1}, {"text": "b", "label": "y"}])
    other = dataset_from_rows([{"text": "a", "label": "x"}, {"text": "b", "label": "x"}])
    assert base.sha256 == same.sha256 != other.sha256


def test_stratified_split_is_deterministic_and_disjoint():
    data = _labelled({"a": 10, "b": 20, "rare": 1})
    train, test = data.split(0.3, seed=3)
    assert test.label_counts() == {"a": 3, "b": 6, "rare": 0}
    assert train.label_counts() == {"a": 7, "b": 14, "rare": 1}
    assert set(train.inputs()).isdisjoint(test.inputs())
    assert len(train) + len(test) == len(data)
    assert train.labels == test.labels == data.labels
    assert data.split(0.3, seed=3)[1].inputs() == test.inputs()
    assert data.split(0.3, seed=4)[1].inputs() != test.inputs()
    with pytest.raises(ValueError):
        data.split(1.0)


def test_sample_per_class():
    data = _labelled({"a": 10, "b": 20, "rare": 2})
    sample = data.sample_per_class(4, seed=0)
    assert sample.label_counts() == {"a": 4, "b": 4, "rare": 2}
    assert sample.inputs() == data.sample_per_class(4, seed=0).inputs()
    lines = [e.line for e in sample.examples]
    assert lines == sorted(lines) and sample.sha256 != data.sha256


def test_the_shared_cats_and_dogs_file_loads(shared_data):
    data = load_dataset(shared_data / "jsonl" / "catsdogs.jsonl")
    assert len(data) == 300 and data.modality is Modality.IMAGE
    assert data.label_counts() == {"cat": 150, "dog": 150}
    assert all(Path(path).is_file() for path in data.inputs())


def test_several_files_are_one_dataset_whose_rows_remember_their_file(tmp_path):
    first, second = tmp_path / "public.jsonl", tmp_path / "ours.jsonl"
    first.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n')
    second.write_text('\n{"text": "c", "label": "z"}\n')
    data = load_datasets([first, second])
    assert data.inputs() == ["a", "b", "c"] and data.labels == ("x", "y", "z")
    assert [(e.part, e.line) for e in data] == [(0, 1), (0, 2), (1, 2)]
    assert [source for source, _ in data.parts] == [str(first), str(second)]
    assert data.parts[1][1] == load_dataset(second).sha256
    assert data.rows_at([2], part=1).inputs() == ["c"]
    assert data.rows_at([2]).inputs() == ["b"]

    image = tmp_path / "images.jsonl"
    (tmp_path / "cat.png").write_bytes(b"")
    image.write_text('{"image_path": "cat.png", "label": "cat"}\n')
    with pytest.raises(DatasetError, match="mix modalities"):
        load_datasets([first, image])
    second.write_text('{"text": "c"}\n')
    with pytest.raises(DatasetError, match=r"ours.jsonl:1: no label"):
        load_datasets([first, second])


def test_holdout_records_the_held_rows_of_each_file(tmp_path):
    files = []
    for name, label in (("one", "x"), ("two", "y")):
        path = tmp_path / f"{name}.jsonl"
        path.write_text(
            "".join(f'{{"text": "{name} {i}", "label": "{label}"}}\n' for i in range(10))
        )
        files.append(path)
    train, held = load_datasets(files).holdout(0.3, seed=1)
    record = train.held_out
    assert record["fraction"] == 0.3 and record["seed"] == 1
    assert [s["sha256"] for s in record["sources"]] == [load_dataset(f).sha256 for f in files]
    assert [len(s["lines"]) for s in record["sources"]] == [3, 3]
    sources = zip(files, record["sources"], strict=True)
    again = [row for f, s in sources for row in load_dataset(f).rows_at(s["lines"]).inputs()]
    assert sorted(again) == sorted(held.inputs())
    assert set(held.inputs()).isdisjoint(train.inputs())
