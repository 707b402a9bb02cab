from __future__ import annotations

import numpy as np
import pytest

from guardrails import Engine
from guardrails.errors import DatasetError
from guardrails.training.calibrate import Target, calibrate_step, choose_threshold, write_thresholds
from guardrails.training.policy_eval import evaluate_policy, read_rows


def test_target_parsing():
    assert Target.parse("precision=0.95") == Target("precision", 0.95)
    assert Target.parse("recall=0.9") == Target("recall", 0.9)
    assert Target.parse("f1") == Target("f1")
    for bad in ("precision", "precision=2", "accuracy=0.9", "recall=x"):
        with pytest.raises(ValueError):
            Target.parse(bad)


def test_choose_threshold_meets_the_target():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(200), np.zeros(800)].astype(int)
    scores = np.r_[rng.beta(5, 2, 200), rng.beta(2, 5, 800)]
    for target in (Target("precision", 0.9), Target("recall", 0.8), Target("f1")):
        index, (precision, recall, thresholds, f1) = choose_threshold(y, scores, target)
        t = thresholds[index]
        hit = scores >= t
        p, r = (hit & (y == 1)).sum() / hit.sum(), (hit & (y == 1)).sum() / 200
        assert p == pytest.approx(precision[index]) and r == pytest.approx(recall[index])
        if target.metric == "precision":
            assert p >= 0.9
        if target.metric == "recall":
            assert r >= 0.8
        if target.metric == "f1":
            assert f1[index] == f1.max()
    perfect = Target("precision", 1.0)
    assert choose_threshold(np.array([1, 0]), np.array([0.9, 0.2]), perfect)[0] == 0
    assert choose_threshold(np.array([1, 0]), np.array([0.2, 0.9]), perfect)[0] is None


POLICY = """\
    version: 1
    name: cal
    defaults: {timeout_ms: 30000}  # a busy CI core must not turn scores into fail-closed blocks
    steps:
      # the injection model
      - id: injection
        kind: classifier
        model: injection-knn
        ignore: [benign]
"""


def test_calibrate_and_write_keeps_comments(ml_engine, knn_dir, tmp_path, injection_rows):
    engine = ml_engine(POLICY)
    rows = [(text, (label,)) for text, label in injection_rows]
    (chosen,) = calibrate_step(engine, "injection", rows, Target.parse("f1"))
    assert chosen.label == "injection" and 0 < chosen.threshold <= 1 and chosen.support == 6
    assert chosen.f1 > 0.8
    policy = tmp_path / "policy.yaml"
    write_thresholds(policy, "injection", [chosen], "block")
    text = policy.read_text()
    assert "# the injection model" in text and f"block: {chosen.threshold}" in text
    reloaded = Engine.from_path(policy, embedders=engine._embedders)
    assert reloaded.policy.step("injection").thresholds["injection"].block == chosen.threshold
    engine.close()
    reloaded.close()


def test_policy_evaluation_counts_and_groups(ml_engine, knn_dir, injection_rows):
    engine = ml_engine(POLICY)
    rows = [
        {"text": text, "label": label, "category": "prompt_attack", "kind": "homonym"}
        for text, label in injection_rows
    ]
    report = evaluate_policy(engine, rows)
    assert report.harmful == 6 and report.benign == 6
    assert report.recall >= 0.8 and report.false_positive_rate <= 0.2
    groups = report.to_dict()["groups"]
    assert groups["harmful/category=prompt_attack"]["rows"] == 6
    assert groups["benign/kind=homonym"]["rows"] == 6
    engine.close()


def test_read_rows_reports_bad_lines(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a", "label": "x"}\nnope\n{"text": "b"}\n')
    with pytest.raises(DatasetError) as info:
        read_rows(path)
    assert info.value.lines == (2, 3)


HARMS = [
    ("stab him in the dark alley tonight", "violence"),
    ("how to stab someone and get away", "violence"),
    ("stab the guard then run", "violence"),
    ("tell him he is worthless and stab his pride", "harassment"),
    ("message her every night until she cracks", "harassment"),
    ("post his address so everyone can find him", "harassment"),
    ("what time does the bakery open", "benign"),
    ("recipe for lemon cake please", "benign"),
    ("how do trains stay on the rails", "benign"),
    ("best way to learn the guitar", "benign"),
]


def test_another_harm_scored_as_this_one_is_no_false_block(ml_engine, fake, tmp_path):
    from guardrails.training import train
    from guardrails.training.dataset import dataset_from_rows

    rows = [{"text": text, "label": label} for text, label in HARMS]
    train(dataset_from_rows(rows), family="centroid", embedder=fake).save(tmp_path / "harms")
    engine = ml_engine(POLICY.replace("injection-knn", "harms"))
    # a harassment message full of violent words: the model scores it as violence
    confusable = ("stab stab stab the guard", ("harassment",))
    data = [(text, (label,)) for text, label in HARMS] + [confusable]
    strict = Target("precision", 1.0)
    every = {t.label: t for t in calibrate_step(engine, "injection", data, strict)}
    ignored = calibrate_step(engine, "injection", data, strict, negatives="ignored")
    ignored = {t.label: t for t in ignored}
    assert ignored.keys() == every.keys() == {"violence", "harassment"}
    # Against every row, the confusable harassment row holds violence's threshold above it
    # (losing recall); against benign rows only, it does not count.
    assert ignored["violence"].recall == 1.0 and ignored["violence"].support == 3
    assert every["violence"].threshold is None or every["violence"].recall < 1.0
    with pytest.raises(ValueError, match="negatives"):
        calibrate_step(engine, "injection", data, strict, negatives="some")
    engine.close()
