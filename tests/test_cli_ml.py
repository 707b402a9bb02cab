"""`guardrails train | eval | predict`: JSON on stdout, one-line errors, exit codes 3 and 4."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from guardrails.cli import main

FAKE = '{"text": {"model": "fake:ngrams-256"}}'
TRAIN = [
    ("buy cheap pills now", "spam"),
    ("cheap watches for sale", "spam"),
    ("win a free prize now", "spam"),
    ("see you at lunch tomorrow", "ham"),
    ("the meeting moved to friday", "ham"),
    ("can you send the report", "ham"),
]
TEST = [("cheap pills for sale", "spam"), ("lunch on friday", "ham")]


@pytest.fixture(autouse=True)
def _fake(fake_embedders):
    """``fake:`` model names build a FakeEmbedder in every test here."""


def _write(path, rows):
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows))
    return path


@pytest.fixture
def files(tmp_path):
    return _write(tmp_path / "train.jsonl", TRAIN), _write(tmp_path / "test.jsonl", TEST)


@pytest.fixture
def model(files, tmp_path, capsys):
    code = main(
        [
            "train",
            "--family",
            "knn",
            "--data",
            str(files[0]),
            "--out",
            str(tmp_path / "m"),
            "--embedder",
            FAKE,
            "--k",
            "3",
            "--no-progress",
        ]
    )
    assert code == 0
    capsys.readouterr()
    return tmp_path / "m"


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_prints_a_summary_and_records_the_command(files, tmp_path, capsys):
    code, out, err = _run(
        capsys,
        "train",
        "--family",
        "centroid",
        "--data",
        str(files[0]),
        "--out",
        str(tmp_path / "c"),
        "--embedder",
        FAKE,
        "--seed",
        "3",
        "--no-progress",
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["family"] == "centroid" and summary["labels"] == ["ham", "spam"]
    assert summary["size"] == 6 and "loo_accuracy" in summary["metrics"]
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["training"]["command"].startswith("guardrails train --family centroid")
    assert manifest["training"]["seed"] == 3


def test_eval_prints_metrics_and_writes_a_report(model, files, tmp_path, capsys):
    report = tmp_path / "report"
    code, out, err = _run(
        capsys, "eval", "--model", str(model), "--data", str(files[1]), "--report", str(report)
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["accuracy"] == 1.0 and result["macro_f1"] == 1.0
    assert result["confusion_matrix"] == [[1, 0], [0, 1]]
    assert {"precision", "recall", "f1", "roc_auc"} <= set(result["per_label"]["spam"])
    assert sorted(p.name for p in report.iterdir()) == [
        "confusion_matrix.png",
        "metrics.json",
        "precision_recall.png",
    ]
    code, out, _ = _run(
        capsys, "eval", "--model", str(model), "--data", str(files[1]), "--format", "text"
    )
    assert code == 0 and "macro-F1 1.000" in out


def test_predict_prints_top_k_labels_and_evidence(model, capsys):
    code, out, err = _run(capsys, "predict", "--model", str(model), "cheap pills", "--top-k", "2")
    assert code == 0, err
    [row] = json.loads(out)["predictions"]
    assert row["input"] == "cheap pills"
    assert row["labels"][0]["label"] == "spam" and len(row["labels"]) == 2
    assert all(0 <= x["probability"] <= 1 for x in row["labels"])
    assert len(row["evidence"]) == 3


def test_predict_several_texts(model, capsys):
    assert main(["predict", "--model", str(model), "free prize", "lunch on friday"]) == 0
    rows = json.loads(capsys.readouterr().out)["predictions"]
    assert [row["labels"][0]["label"] for row in rows] == ["spam", "ham"]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["predict", "--model", "{model}"], 3, "give one or more TEXT"),
        (["predict", "--model", "{model}", "x", "--top-k", "0"], 3, "--top-k must be"),
        (["predict", "--model", "{tmp}/nowhere", "x"], 4, "no such classifier directory"),
        (["predict", "--model", "{model}", "--image", "{tmp}/cat.png"], 4, "is image but"),
        (["predict", "--model", "{model}", "--image", "{tmp}/none.png"], 4, "no such image"),
        (["train", "--data", "{train}", "--out", "{tmp}/x", "--embedder", "{{bad"], 3, "JSON"),
        (["train", "--data", "{train}", "--out", "{tmp}/x", "--k", "3"], 3, "unknown option"),
        (["eval", "--data", "{train}"], 3, "give --model"),
        (["eval", "--model", "{model}", "--data", "{bad}"], 4, "bad.jsonl:1:"),
    ],
)
def test_errors_are_one_line_with_exit_codes(model, files, tmp_path, capsys, argv, code, message):
    from PIL import Image

    Image.new("RGB", (4, 4)).save(tmp_path / "cat.png")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x"}\n{"label": "y"}\n')
    names = {"model": model, "tmp": tmp_path, "train": files[0], "bad": bad}
    result, out, err = _run(capsys, *[a.format(**names) for a in argv])
    assert result == code
    assert out == ""
    assert message in err and err.count("\n") == 1


def test_argparse_usage_errors_exit_3(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["train", "--family", "centroid"])
    assert caught.value.code == 3


def test_importing_the_cli_does_not_import_torch():
    code = "import sys, guardrails.cli_ml; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


CALIBRATION_POLICY = """\
version: 1
name: cal
steps:
  - id: spam
    kind: classifier
    model: m
    ignore: [ham]
"""


def test_calibrate_on_the_rows_training_held_out(files, tmp_path, capsys):
    train = ["train", "--family", "knn", "--k", "3", "--data", str(files[0]), "--embedder", FAKE]
    model = str(tmp_path / "m")
    code, out, _ = _run(capsys, *train, "--out", model, "--holdout", "0.34")
    assert code == 0 and json.loads(out)["held_out"] == 2  # one row of each label
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert [len(s["lines"]) for s in manifest["training"]["held_out"]["sources"]] == [2]
    assert manifest["training"]["size"] == len(TRAIN) - 2
    assert "--holdout 0.34" in manifest["training"]["command"]
    (tmp_path / "policy.yaml").write_text(CALIBRATION_POLICY)
    calibrate = ["calibrate", "--policy", str(tmp_path / "policy.yaml"), "--step", "spam"]
    code, out, _ = _run(capsys, *calibrate, "--data", str(files[0]), "--held-out", "--target", "f1")
    assert code == 0
    row = out.splitlines()[1].split()
    assert row[0] == "spam" and row[-1] == "1"  # one held-out spam row

    other = _write(tmp_path / "other.jsonl", [(t, "junk" if y == "spam" else y) for t, y in TRAIN])
    code, _, err = _run(capsys, *calibrate, "--data", str(other), "--held-out")
    assert code == 3 and "which no --data file is" in err
    assert _run(capsys, *train, "--out", model)[0] == 0
    code, _, err = _run(capsys, *calibrate, "--data", str(files[0]), "--held-out")
    assert code == 3 and "every row" in err


def test_train_on_two_files_and_calibrate_on_what_each_held_out(files, tmp_path, capsys):
    ours = _write(
        tmp_path / "ours.jsonl", [("free money click here", "spam"), ("lunch?", "ham")] * 2
    )
    train = ["train", "--family", "knn", "--k", "3", "--embedder", FAKE, "--holdout", "0.4"]
    data = ["--data", str(files[0]), "--data", str(ours)]
    code, out, _ = _run(capsys, *train, *data, "--out", str(tmp_path / "m"))
    assert code == 0
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    training = manifest["training"]
    assert training["size"] + json.loads(out)["held_out"] == len(TRAIN) + 4
    assert [s["source"] for s in training["held_out"]["sources"]] == [str(files[0]), str(ours)]
    assert f"--data {files[0]} --data {ours}" in training["command"]
    sources = training["sources"]  # each file with its own hash and the rows training used
    assert [s["source"] for s in sources] == [str(files[0]), str(ours)]
    assert [s["sha256"] for s in sources] == [s["sha256"] for s in training["held_out"]["sources"]]
    assert len({s["sha256"] for s in sources} | {training["sha256"]}) == 3
    assert sum(s["rows"] for s in sources) == training["size"]

    code, _, _ = _run(capsys, *train[:-2], *data, "--out", str(tmp_path / "whole"))
    whole = json.loads((tmp_path / "whole" / "manifest.json").read_text())["training"]
    assert whole["held_out"] is None  # no --holdout: every row of each file, each recorded
    assert [(s["source"], s["sha256"]) for s in whole["sources"]] == [
        (s["source"], s["sha256"]) for s in sources
    ]
    assert [s["rows"] for s in whole["sources"]] == [len(TRAIN), 4]
    (tmp_path / "policy.yaml").write_text(CALIBRATION_POLICY)
    calibrate = ["calibrate", "--policy", str(tmp_path / "policy.yaml"), "--step", "spam"]
    code, out, _ = _run(capsys, *calibrate, *data, "--held-out", "--target", "f1")
    assert code == 0 and out.splitlines()[1].split()[0] == "spam"
    code, _, err = _run(capsys, *calibrate, "--data", str(files[0]), "--held-out")
    assert code == 3 and f"held rows out of {ours}" in err
