"""How an hf_classifier step reads a model's id2label: one output is a sigmoid, and an id2label
that does not name every output (gaps, wrong size, transformers' LABEL_N placeholders) is a
policy error naming the model, not a KeyError or a step that blocks everything."""

from __future__ import annotations

import pytest
from tiny_bert import save_tiny_bert

from guardrails import Engine, PolicyError
from guardrails.cli import main

pytestmark = pytest.mark.ml

WORDS = ["hello", "world", "you", "are", "great", "idiot", "how", "do", "i", "bake", "a", "cake"]
TEXTS = ["hello world", "you are great", "you idiot", "how do i bake a cake"]


def tiny_model(path, config_json=None, **labels):
    """A random BERT saved to ``path``; ``config_json`` then overwrites keys of config.json."""
    return save_tiny_bert(path, WORDS, config_json=config_json, **labels)


def policy_file(tmp_path, step_options=""):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "version: 1\nname: hf\nsteps:\n"
        f"  - {{id: tox, kind: hf_classifier, model: tiny{step_options}}}\n"
    )
    return policy


def test_single_output_model_is_a_sigmoid_not_always_blocking(tmp_path):
    tiny_model(tmp_path / "tiny", id2label={0: "toxic"}, label2id={"toxic": 0})
    engine = Engine.from_path(policy_file(tmp_path, ", thresholds: {toxic: {block: 0.99}}"))
    try:
        for text in TEXTS:
            decision = engine.check(text)
            assert 0.0 < decision.scores["tox"]["toxic"] < 0.99  # softmax of one logit: 1.0
            assert decision.allowed, text
    finally:
        engine.close()


def test_multi_label_model_is_a_sigmoid_per_label(tmp_path):
    tiny_model(
        tmp_path / "tiny",
        id2label={0: "toxic", 1: "threat", 2: "insult"},
        label2id={"toxic": 0, "threat": 1, "insult": 2},
        problem_type="multi_label_classification",
    )
    engine = Engine.from_path(policy_file(tmp_path, ", default_threshold: {block: 0.99}"))
    try:
        for text in TEXTS:
            decision = engine.check(text)
            scores = decision.scores["tox"]
            assert all(0.0 < p < 0.99 for p in scores.values()) and decision.allowed
            assert sum(scores.values()) > 1.1  # three independent sigmoids, not a softmax
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("labels", "config_json", "message"),
    [
        # two outputs, ids 0 and 2: the second output has no label
        (
            {"id2label": {0: "a", 2: "b"}, "label2id": {"a": 0, "b": 2}},
            None,
            r"id2label ids \[0, 2\] are not the output indices 0\.\.1",
        ),
        # three outputs saved, id2label names 0 and 2
        (
            {"num_labels": 3},
            {"id2label": {"0": "a", "2": "b"}, "label2id": {"a": 0, "b": 2}},
            r"id2label ids \[0, 2\] are not the output indices 0\.\.1",
        ),
        # three outputs saved, id2label names two of them
        (
            {"num_labels": 3},
            {"id2label": {"0": "a", "1": "b"}, "label2id": {"a": 0, "b": 1}},
            r"weights do not fit its config; the classification head must have one output per"
            r" id2label entry \(2\)",
        ),
        (
            {"id2label": {0: "a", 1: "a"}, "label2id": {"a": 1}},
            None,
            r"id2label names \['a'\] more than once",
        ),
    ],
    ids=["gap", "gap-3-outputs", "too-few-labels", "repeated-name"],
)
def test_id2label_not_naming_each_output_is_a_policy_error(tmp_path, labels, config_json, message):
    model = tiny_model(tmp_path / "tiny", config_json, **labels)
    policy = policy_file(tmp_path)
    with pytest.raises(PolicyError, match=rf"p\.yaml:4: step 'tox': .*{model}.*{message}"):
        Engine.from_path(policy)


@pytest.mark.parametrize(
    ("labels", "config_json"),
    [
        ({"num_labels": 2}, None),  # no id2label at all
        ({"num_labels": 1}, None),
        ({"num_labels": 3}, {"num_labels": 3, "id2label": {"0": "a", "1": "b"}}),  # replaced
    ],
    ids=["two-outputs", "one-output", "size-differs-from-num_labels"],
)
def test_placeholder_label_names_are_refused(tmp_path, labels, config_json):
    model = tiny_model(tmp_path / "tiny", config_json, **labels)
    with pytest.raises(PolicyError, match=rf":4: step 'tox': '{model}' has no id2label") as info:
        Engine.from_path(policy_file(tmp_path))
    assert "LABEL_0" in str(info.value)


def test_cli_exits_4_with_the_model_problem(tmp_path, capsys):
    tiny_model(tmp_path / "tiny", id2label={0: "a", 2: "b"}, label2id={"a": 0, "b": 2})
    policy = policy_file(tmp_path)
    assert main(["check", "-p", str(policy), "hello"]) == 4
    err = capsys.readouterr().err
    assert f"{policy}:4: step 'tox'" in err and "id2label ids [0, 2]" in err
    assert "Traceback" not in err
