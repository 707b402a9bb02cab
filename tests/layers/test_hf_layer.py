"""The hf_classifier step with a tiny randomly initialised BERT saved at test time."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_bert import save_tiny_bert

from guardrails import Engine, PolicyError
from guardrails.classifiers.hf import HfSequenceClassifier

pytestmark = pytest.mark.ml

WORDS = [
    "the",
    "a",
    "is",
    "how",
    "do",
    "i",
    "kill",
    "python",
    "process",
    "bomb",
    "make",
    "cake",
    "you",
    "are",
    "great",
    "idiot",
    "hello",
    "world",
]


def tiny_model(path, problem_type=None):
    return save_tiny_bert(
        path,
        WORDS,
        id2label={0: "safe", 1: "toxic", 2: "threat"},
        label2id={"safe": 0, "toxic": 1, "threat": 2},
        problem_type=problem_type,
    )


def test_softmax_windows_and_policy_step(tmp_path):
    model = tiny_model(tmp_path / "tiny")
    classifier = HfSequenceClassifier.load(str(model))
    assert classifier.labels == ("safe", "toxic", "threat") and not classifier.multi_label
    long_text = " ".join(WORDS * 10)  # far longer than the 32-token window
    proba = classifier.predict_proba(["hello world", long_text])
    assert proba.shape == (2, 3)
    np.testing.assert_allclose(proba[0].sum(), 1.0, rtol=1e-5)
    assert proba[1].sum() >= 1.0 - 1e-5  # per-label max over windows
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "version: 1\nname: hf\nsteps:\n  - id: tox\n    kind: hf_classifier\n"
        "    model: tiny\n    ignore: [safe]\n    default_threshold: {flag: 0.0}\n"
    )
    engine = Engine.from_path(policy)
    decision = engine.check("you are great")
    assert decision.flagged  # threshold 0: every non-ignored label flags
    assert {f.label for f in decision.findings} == {"toxic", "threat"}
    assert set(decision.scores["tox"]) == {"safe", "toxic", "threat"}
    engine.close()


def test_multi_label_uses_sigmoid(tmp_path):
    model = tiny_model(tmp_path / "multi", problem_type="multi_label_classification")
    classifier = HfSequenceClassifier.load(str(model))
    assert classifier.multi_label
    proba = classifier.predict_proba(["hello"])[0]
    assert np.all((proba > 0) & (proba < 1)) and not np.isclose(proba.sum(), 1.0)


def test_bad_label_and_missing_model(tmp_path):
    tiny_model(tmp_path / "tiny")
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "version: 1\nname: hf\nsteps:\n  - id: tox\n    kind: hf_classifier\n"
        "    model: tiny\n    thresholds:\n      toxik: {block: 0.5}\n"
    )
    with pytest.raises(PolicyError, match=r":8: step 'tox': labels \['toxik'\]"):
        Engine.from_path(policy)
    policy.write_text(
        "version: 1\nname: hf\nsteps:\n  - {id: tox, kind: hf_classifier, model: ./absent}\n"
    )
    with pytest.raises(PolicyError, match=r":4: step 'tox': cannot load"):
        Engine.from_path(policy)
