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
    assert finding.label == "error" and "exploded" in finding.detail and mode in finding.detail
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
