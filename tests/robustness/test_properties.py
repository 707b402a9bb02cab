"""Property-based robustness: the loader and the engine never fail in an unplanned way."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardrails import Decision, Engine, PolicyError, policy_from_string

ENGINE = Engine.from_path(
    __import__("pathlib").Path(__file__).resolve().parents[2] / "policies/chat.yaml"
)

yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20)
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
step_keys = st.sampled_from(
    ["id", "kind", "action", "applies_to", "words", "patterns", "entities", "max_chars", "allow",
     "thresholds", "model", "labels", "on_error", "enabled", "categories", "kinds"]
)  # fmt: skip
kinds = st.sampled_from(
    ["keywords", "regex", "pii", "secrets", "length", "invisible", "urls", "classifier",
     "semantic", "hf_classifier", "bogus"]
)  # fmt: skip
steps = st.lists(
    st.fixed_dictionaries({"id": st.text(max_size=8), "kind": kinds}).flatmap(
        lambda base: st.dictionaries(step_keys, yaml_values, max_size=3).map(
            lambda extra: {**extra, **base}
        )
    ),
    max_size=3,
)
documents = st.fixed_dictionaries(
    {"version": st.sampled_from([1, 2, "1"]), "name": st.text(max_size=8)},
    optional={"steps": steps, "defaults": yaml_values, "tests": yaml_values},
)


def loads_or_policy_error(text: str) -> None:
    try:
        policy_from_string(text)
    except PolicyError as exc:
        assert exc.problems and all(p.startswith("<string>:") for p in exc.problems)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_text_is_a_policy_or_a_policy_error(text):
    loads_or_policy_error(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_any_policy_shaped_document_is_a_policy_or_a_policy_error(document):
    loads_or_policy_error(yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=2000))
def test_any_string_gets_a_decision(text):
    for direction in ("input", "output"):
        decision = ENGINE.check(text, direction=direction, prompt=text[:50])
        assert isinstance(decision, Decision)
        for finding in decision.findings:
            if finding.span is not None:
                assert 0 <= finding.span[0] <= finding.span[1] <= len(text)


def test_hostile_strings_get_decisions():
    cases = [
        "\ud800\udfff lone surrogates \udc00",
        "\x00\x01\x02 control \x7f\x9f",
        "a" * 1_000_000,
        "مرحبا Привет 你好 שלום \u202e reversed \u2066 isolate",
        "🙂" * 10_000,
        "\U000e0041\U000e0042" * 500,
        "x\u200by\u200cz\u200d" * 1000,
        "",
    ]
    for text in cases:
        decision = ENGINE.check(text)
        assert isinstance(decision, Decision)
        if decision.redacted_text is not None:
            assert isinstance(decision.redacted_text, str)
