"""`guardrails calibrate` and `guardrails eval --policy`: their data is checked as training data
is, a target no label reaches is no success, and the policy file is written only when a
threshold changes."""

from __future__ import annotations

import json
import os

import pytest

from guardrails.cli import main
from guardrails.errors import DatasetError
from guardrails.training.policy_eval import read_rows

FAKE = '{"text": {"model": "fake:ngrams-256"}}'
TRAIN = [
    ("buy cheap pills now", "spam"),
    ("cheap watches for sale", "spam"),
    ("win a free prize now", "spam"),
    ("verify your bank password here", "phish"),
    ("your account is locked, log in here", "phish"),
    ("confirm your card number to continue", "phish"),
    ("see you at lunch tomorrow", "ham"),
    ("the meeting moved to friday", "ham"),
    ("can you send the report", "ham"),
]
POLICY = """\
version: 1
name: cal
steps:
  # the mail model
  - id: mail
    kind: classifier
    model: m
    ignore: [ham]
"""


@pytest.fixture(autouse=True)
def _fake(fake_embedders):
    """``fake:`` model names build a FakeEmbedder in every test here."""


def _write(path, rows):
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows))
    return path


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def policy(tmp_path, capsys):
    data = _write(tmp_path / "train.jsonl", TRAIN)
    train = ["train", "--family", "knn", "--k", "1", "--data", data, "--embedder", FAKE]
    assert _run(capsys, *train, "--out", tmp_path / "m", "--no-progress")[0] == 0
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def _calibrate(policy, *argv):
    return ["calibrate", "--policy", policy, "--step", "mail", *argv]


BAD_DATA = {
    "missing": (None, "no such file"),
    "folder": (None, ""),
    "latin-1": (b'{"text": "caf\xe9", "label": "spam"}\n', ":1: not valid UTF-8"),
    "mixed": (b'{"text": "a", "image_path": "x.png", "label": "spam"}\n', ":1: mixes inputs"),
    "empty text": (b'{"text": "", "label": "spam"}\n', ":1: text is empty"),
}


@pytest.fixture(params=sorted(BAD_DATA))
def bad_data(request, tmp_path):
    content, message = BAD_DATA[request.param]
    path = tmp_path / "bad.jsonl"
    if request.param == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    return path, message


def test_calibrate_rejects_bad_data_naming_the_file(policy, bad_data, capsys):
    path, message = bad_data
    code, out, err = _run(capsys, *_calibrate(policy, "--data", path))
    assert code == 4, err
    assert out == "" and f"{path}" in err and message in err and "Traceback" not in err


def test_eval_policy_rejects_bad_data_naming_the_file(policy, bad_data, capsys):
    path, message = bad_data
    code, out, err = _run(capsys, "eval", "--policy", policy, "--data", path)
    assert code == 4, err
    assert out == "" and f"{path}" in err and message in err and err.count("\n") == 1


def test_read_rows_keeps_the_fields_policy_evaluation_groups_by(tmp_path):
    path = tmp_path / "eval.jsonl"
    row = {"text": " hi ", "label": [" spam", "phish"], "category": "c", "kind": "homonym"}
    path.write_text(json.dumps(row) + "\n\n" + json.dumps({"text": "b", "label": "ham"}) + "\n")
    rows = read_rows(path)
    assert rows[0] == {**row, "label": ["phish", "spam"]}
    assert rows[1]["label"] == ["ham"]


def test_read_rows_wants_text_rows(tmp_path):
    from PIL import Image

    Image.new("RGB", (4, 4)).save(tmp_path / "cat.png")
    path = tmp_path / "pets.jsonl"
    path.write_text(json.dumps({"image_path": "cat.png", "label": "cat"}) + "\n")
    with pytest.raises(DatasetError, match=r"pets\.jsonl\b.*: image rows"):
        read_rows(path)


def test_unknown_labels_are_negatives_with_a_warning(policy, tmp_path, capsys):
    data = _write(tmp_path / "d.jsonl", [*TRAIN, ("eggs and ham", "eggs"), ("eggs", "eggs")])
    code, out, err = _run(capsys, *_calibrate(policy, "--data", data, "--target", "f1"))
    assert code == 0, err
    assert "no label eggs (2 rows)" in err and "count as negatives" in err
    assert "spam" in out


def test_unknown_labels_with_negatives_ignored_are_a_usage_error(policy, tmp_path, capsys):
    data = _write(tmp_path / "d.jsonl", [*TRAIN, ("eggs", "eggs"), ("spam eggs", ["spam", "x"])])
    argv = _calibrate(policy, "--data", data, "--negatives", "ignored")
    code, out, err = _run(capsys, *argv)
    assert code == 3 and out == ""
    assert "no label eggs (1 row), x (1 row)" in err and "1 of those rows" in err


def test_no_label_reaching_the_target_fails_and_leaves_the_policy_alone(policy, tmp_path, capsys):
    # each harmful text also appears as ham: no threshold separates them
    rows = [(t, y) for t, y in TRAIN if y != "ham"]
    data = _write(tmp_path / "d.jsonl", rows + [(t, "ham") for t, _ in rows])
    before = policy.read_bytes()
    argv = _calibrate(policy, "--data", data, "--target", "precision=0.9")
    code, out, err = _run(capsys, *argv, "--write")
    assert code == 1
    assert "no label reaches precision=0.9" in err and "wrote" not in err
    assert "spam: precision=0.9 not reachable" in err
    assert policy.read_bytes() == before
    code, out, err = _run(capsys, *argv)
    assert code == 1 and "thresholds:" not in out


def test_labels_that_reach_the_target_are_written_the_others_named(policy, tmp_path, capsys):
    spam = [(t, y) for t, y in TRAIN if y == "spam"]
    phish = [(t, y) for t, y in TRAIN if y == "phish"]
    ham = [(t, y) for t, y in TRAIN if y == "ham"] + [(t, "ham") for t, _ in phish]
    data = _write(tmp_path / "d.jsonl", spam + phish + ham)
    argv = _calibrate(policy, "--data", data, "--target", "precision=0.9")
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    assert "phish: precision=0.9 not reachable; its threshold is left unchanged" in err
    assert "  spam: {block:" in out and "  phish:" not in out

    code, _, err = _run(capsys, *argv, "--write")
    assert code == 0 and "wrote block thresholds of spam into" in err
    text = policy.read_text()
    assert "  # the mail model\n  - id: mail\n" in text  # comments and indentation kept
    assert "spam:" in text and "phish" not in text
    os.utime(policy, ns=(0, 0))
    code, _, err = _run(capsys, *argv, "--write")
    assert code == 0 and "already has these thresholds: not changed" in err
    assert policy.stat().st_mtime_ns == 0 and policy.read_text() == text


def test_plots_at_a_file_is_a_usage_error_before_any_scoring(policy, tmp_path, capsys, monkeypatch):
    def no_scoring(*args, **kwargs):
        raise AssertionError("scored rows before checking --plots")

    monkeypatch.setattr("guardrails.training.calibrate._scores", no_scoring)
    data = _write(tmp_path / "d.jsonl", TRAIN)
    taken = tmp_path / "taken.txt"
    taken.write_text("")
    for plots in (taken, taken / "sub"):
        code, out, err = _run(capsys, *_calibrate(policy, "--data", data, "--plots", plots))
        assert code == 3 and out == ""
        assert f"--plots {plots}: {taken} is a file, not a folder" in err
