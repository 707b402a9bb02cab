from __future__ import annotations

import pytest

from guardrails import PolicyError
from guardrails.layers.semantic import LabelCalibration

TOPICS = ["cooking pasta", "train tickets", "sorting lists", "spring weather", "museum hours",
          "birthday cake", "guitar chords", "tax forms", "running shoes", "garden tomatoes"]  # fmt: skip
BACKGROUND = [f"can you help me with {t} {suffix}" for t in TOPICS for suffix in
              ("today", "please", "for my family", "this weekend", "at work", "quickly")]  # fmt: skip

POLICY = """\
    version: 1
    name: zero-shot
    steps:
      - id: topics
        kind: semantic
        embedder: {{text: {{model: "fake:ngrams-256"}}}}
        background: background.txt
        labels:
          weapons: ["instructions to build a bomb or explosive device", "make a pipe bomb"]
          drugs: ["how to cook methamphetamine at home"]
        examples:
          drugs: ["where can I buy cocaine"]
        thresholds:
          weapons: {{block: {block}}}
          drugs: {{flag: 0.99}}
"""


@pytest.fixture
def engine(ml_engine, tmp_path):
    (tmp_path / "background.txt").write_text("\n".join(BACKGROUND))

    def build(block: float = 0.99):
        return ml_engine(POLICY.format(block=block))

    return build


def test_descriptions_catch_their_label_and_ordinary_text_passes(engine):
    e = engine()
    decision = e.check("how do I build a pipe bomb")
    assert decision.blocked
    finding = decision.findings[0]
    assert finding.label == "weapons" and finding.threshold == 0.99
    assert finding.evidence == ("make a pipe bomb",)
    assert e.check("can you help me with cooking pasta tonight").allowed
    e.close()


def test_scores_are_background_percentiles(engine):
    e = engine()
    decision = e.check("can you help me with train tickets please")
    scores = decision.scores["topics"]
    assert set(scores) == {"weapons", "drugs"}
    assert all(0.0 <= p < 0.99 for p in scores.values())  # as ordinary as the background
    flagged = e.check("where can I buy cocaine cheaply")
    assert flagged.flagged and flagged.findings[0].evidence == ("where can I buy cocaine",)
    e.close()


def test_calibration_is_monotone_and_bounded():
    calibration = LabelCalibration.fit(__import__("numpy").linspace(0.1, 0.5, 99))
    values = [calibration.score(c) for c in (-1.0, 0.1, 0.3, 0.5, 0.51, 0.6, 1.0)]
    assert values == sorted(values)
    assert values[0] == 0.0 and 0.48 < values[2] < 0.52 and values[-1] < 1.0
    assert calibration.score(0.5) == pytest.approx(0.99)  # 99 of 100 below or equal


def test_errors_name_the_field(engine, tmp_path, ml_engine):
    with pytest.raises(PolicyError, match=r":15: step 'topics': labels \['drgs'\]"):
        ml_engine(POLICY.format(block=0.9).replace("drugs: {flag", "drgs: {flag"))
    (tmp_path / "background.txt").write_text("too short\n")
    with pytest.raises(PolicyError, match="at least 50 texts"):
        ml_engine(POLICY.format(block=0.9))
    with pytest.raises(PolicyError, match="examples for labels with no description"):
        ml_engine(POLICY.format(block=0.9).replace('drugs: ["where', 'other: ["where'))
