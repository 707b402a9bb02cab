from __future__ import annotations

import asyncio

import pytest

from guardrails import Action, Decision, Direction, Engine, InputError, Verdict
from guardrails.rules.regex import RegexCheck

POLICY = """\
    version: 1
    name: e
    steps:
      - {id: pii, kind: pii, action: redact, entities: [email]}
      - {id: banned, kind: keywords, words: [forbidden], action: block}
      - {id: watch, kind: keywords, words: [suspicious], action: flag}
      - {id: audit, kind: keywords, words: [invoice], action: log}
      - {id: answer-only, kind: keywords, words: [secretword], applies_to: [output]}
"""


@pytest.fixture
def engine(make_engine) -> Engine:
    return make_engine(POLICY)


def test_allow_carries_timings_and_no_findings(engine):
    decision = engine.check("hello there")
    assert decision.verdict is Verdict.ALLOW and decision.allowed
    assert decision.findings == () and decision.redacted_text is None
    assert set(decision.timings_ms) == {"pii", "banned", "watch", "audit"}


def test_block_short_circuits_and_names_skipped_steps(engine):
    decision = engine.check("forbidden and suspicious")
    assert decision.blocked
    assert decision.steps == ("banned",)
    assert decision.skipped == ("watch", "audit")


def test_flag_steps_are_skipped_once_flagged_but_log_and_redact_run(engine):
    decision = engine.check("x@example.com suspicious invoice")
    assert decision.flagged
    assert decision.steps == ("pii", "audit")
    assert decision.skipped == ("watch",)
    assert decision.redacted_text == "[EMAIL] suspicious invoice"
    (log,) = [f for f in decision.findings if f.step == "audit"]
    assert log.action is Action.LOG and log.verdict is Verdict.ALLOW


def test_run_all_collects_every_finding(make_engine):
    engine = make_engine(POLICY.replace("name: e", "name: e\n    defaults: {run_all: true}"))
    decision = engine.check("forbidden suspicious invoice")
    assert decision.blocked
    assert decision.steps == ("banned", "watch", "audit")
    assert decision.reasons == tuple(f for f in decision.findings if f.step == "banned")


def test_directions_are_told_apart(engine):
    assert engine.check("the secretword").allowed
    decision = engine.check("the secretword", direction="output", prompt="tell me")
    assert decision.blocked and decision.direction is Direction.OUTPUT


async def test_async_core_and_concurrent_calls(engine):
    decisions = await asyncio.gather(
        *(engine.acheck(t) for t in ["hello", "forbidden", "x@example.com"] * 20)
    )
    assert [d.verdict for d in decisions[:3]] == [Verdict.ALLOW, Verdict.BLOCK, Verdict.FLAG]
    assert all(isinstance(d, Decision) for d in decisions)


def test_decision_is_frozen_and_serialisable(engine):
    decision = engine.check("x@example.com")
    with pytest.raises(AttributeError):
        decision.verdict = Verdict.BLOCK  # type: ignore[misc]
    with pytest.raises(TypeError):
        decision.timings_ms["x"] = 1.0  # type: ignore[index]
    data = decision.to_dict()
    assert data["verdict"] == "flag" and data["findings"][0]["label"] == "email"
    assert data["redacted_text"] == "[EMAIL]"


def test_non_text_content_is_an_input_error(engine):
    with pytest.raises(InputError, match="must be str"):
        engine.check(42)  # type: ignore[arg-type]


def test_image_bytes_skip_text_rules(engine):
    decision = engine.check(b"\x89PNG\r\n\x1a\n forbidden")
    assert decision.allowed and decision.timings_ms == {} and decision.redacted_text is None


def test_disabled_steps_never_run(make_engine):
    engine = make_engine(POLICY.replace("action: block}", "action: block, enabled: false}"))
    assert "banned" not in engine.step_ids
    assert engine.check("forbidden").allowed


@pytest.mark.parametrize("mode, verdict", [("fail_closed", "block"), ("fail_open", "allow")])
def test_a_failing_check_follows_the_error_mode(make_engine, monkeypatch, caplog, mode, verdict):
    def broken(self, text, context):
        raise RuntimeError("pattern engine exploded")

    monkeypatch.setattr(RegexCheck, "scan", broken)
    engine = make_engine(
        f"""\
        version: 1
        name: e
        defaults: {{on_error: {mode}}}
        steps:
          - {{id: custom, kind: regex, patterns: {{x: 'x+'}}}}
        """
    )
    decision = engine.check("anything")
    assert decision.verdict.value == verdict
    (finding,) = decision.findings
    assert finding.label == "error" and "RuntimeError" in finding.detail and mode in finding.detail
    assert "exploded" not in finding.detail  # type only: a foreign message may quote content
    assert "custom" in caplog.text


def test_step_on_error_overrides_defaults(make_engine, monkeypatch):
    monkeypatch.setattr(RegexCheck, "scan", lambda self, text, ctx: 1 / 0)
    engine = make_engine(
        """\
        version: 1
        name: e
        steps:
          - {id: custom, kind: regex, on_error: fail_open, patterns: {x: 'x+'}}
        """
    )
    assert engine.check("x").allowed


def test_overlapping_redactions_merge(make_engine):
    engine = make_engine(
        """\
        version: 1
        name: e
        defaults: {run_all: true}
        steps:
          - {id: pii, kind: pii, action: redact, entities: [email]}
          - {id: names, kind: keywords, words: [alice], action: redact, match: substring}
        """
    )
    assert engine.check("write alice@example.com").redacted_text == "write [EMAIL]"


def test_a_text_seen_again_is_answered_from_the_memo(engine):
    first = engine.check("x@example.com suspicious invoice")
    again = engine.check("x@example.com suspicious invoice")
    assert again.verdict is first.verdict and again.findings == first.findings
    assert again.redacted_text == first.redacted_text and again.skipped == first.skipped
    assert first.timings_ms and again.timings_ms == {}  # no step ran for the memo's answer
    assert engine.check("x@example.com suspicious invoice", direction="output").timings_ms
    other = engine.check("y@example.com suspicious invoice")
    assert other.timings_ms and other.redacted_text == "[EMAIL] suspicious invoice"


def test_the_memo_is_bounded_and_can_be_turned_off(make_engine):
    policy = make_engine(POLICY).policy
    small = Engine(policy, memo_size=4)
    for i in range(10):
        small.check(f"text {i}")
    assert small.check("text 0").timings_ms  # long forgotten: checked again
    assert not small.check("text 9").timings_ms
    chat = Engine(policy, memo_size=4)  # a system prompt sent with every turn stays in it
    assert chat.check("be brief").timings_ms
    for i in range(20):
        assert not chat.check("be brief").timings_ms
        assert chat.check(f"question {i}").timings_ms
    off = Engine(policy, memo_size=0)
    off.check("hello")
    assert off.check("hello").timings_ms


def test_the_memo_is_safe_across_threads(make_engine):
    from concurrent.futures import ThreadPoolExecutor

    engine = Engine(make_engine(POLICY).policy, memo_size=8)
    texts = [f"text {i % 20} {'forbidden' if i % 3 == 0 else 'fine'}" for i in range(2000)]
    with ThreadPoolExecutor(8) as pool:
        verdicts = list(pool.map(lambda t: engine.check(t).verdict, texts))
    assert verdicts == [Verdict.BLOCK if "forbidden" in t else Verdict.ALLOW for t in texts]


def test_a_failed_check_is_not_remembered(make_engine, monkeypatch):
    calls = []

    def flaky(self, text, context):
        calls.append(text)
        if len(calls) == 1:
            raise RuntimeError("transient")
        return []

    monkeypatch.setattr(RegexCheck, "scan", flaky)
    engine = make_engine(
        "version: 1\nname: e\nsteps:\n  - {id: custom, kind: regex, patterns: {x: 'x+'}}\n"
    )
    assert engine.check("anything").blocked  # fail_closed
    assert engine.check("anything").allowed  # checked again, not answered from the memo
    assert engine.check("anything").allowed and len(calls) == 2


def test_output_checks_with_a_prompt_are_not_remembered(engine):
    engine.check("the secretword", direction="output", prompt="what is it?")
    again = engine.check("the secretword", direction="output", prompt="something else")
    assert again.blocked and again.timings_ms


def test_the_engines_fast_finding_equals_one_built_as_usual():
    from dataclasses import astuple

    from guardrails.decision import Finding

    usual = Finding("s", "regex", "ticket", Action.FLAG, 0.5, 0.4, (1, 5), "d", ("e",))
    fast = Finding._trusted(*astuple(usual))
    assert fast == usual and hash(fast) == hash(usual) and fast.verdict is usual.verdict


def test_what_a_redaction_rebuilds_is_checked_too(root):
    engine = Engine.from_path(root / "policies" / "default.yaml")
    hidden = "use AKIA\u200bIOSFODNN7EXAMPLE for the bucket"
    decision = engine.check(hidden)
    assert decision.verdict is Verdict.BLOCK  # the key, once the zero-width space is gone
    key = next(f for f in decision.findings if f.label == "aws_access_key")
    assert hidden[slice(*key.span)] == "AKIA\u200bIOSFODNN7EXAMPLE"  # all of it, in the original

    mail = "write to a\u200b.b@example.com or a.b@example.com today"
    decision = engine.check(mail)
    assert decision.verdict is Verdict.FLAG
    assert decision.redacted_text == "write to [EMAIL] or [EMAIL] today"
    spans = sorted(f.span for f in decision.findings if f.label == "email")
    assert [mail[slice(*s)] for s in spans] == ["a\u200b.b@example.com", "a.b@example.com"]

    assert engine.check("pass\u200bword").redacted_text == "password"  # nothing rebuilt


def test_redaction_maps_spans_back_onto_the_original():
    from guardrails.redaction import redact_with_map, to_original

    text = "ab\u200bcd mail x@y.io end"
    at = text.index("x@")
    redacted, segments = redact_with_map(text, [((2, 3), ""), ((at, at + 6), "[EMAIL]")])
    assert redacted == "abcd mail [EMAIL] end"
    assert to_original((0, 4), segments) == (0, 5)  # across the removed character
    inside = redacted.index("[EMAIL]") + 2
    assert to_original((inside, inside + 1), segments) == (at, at + 6)  # the whole of it
    tail = redacted.index(" end")
    assert text[slice(*to_original((tail, tail + 4), segments))] == " end"
