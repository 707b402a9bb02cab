from __future__ import annotations

import pytest

WORDS = """\
    version: 1
    name: k
    steps:
      - id: words
        kind: keywords
        words: [hate, "bad guy"]
        match: {match}
        action: block
"""


@pytest.mark.parametrize(
    "text",
    ["I hate it", "I h@te it", "I ＨＡＴＥ it", "I ha\u200bte it", "I hаte it", "I HÂTE it",
     "I 𝐡𝐚𝐭𝐞 it", "what a b@d guy", "I h4t3 it"],
)  # fmt: skip
def test_obfuscated_forms_match(make_engine, text):
    decision = make_engine(WORDS.format(match="word")).check(text)
    assert decision.blocked
    (finding,) = decision.findings
    assert finding.step == "words" and finding.label == "keyword"


def test_word_mode_respects_boundaries_substring_does_not(make_engine):
    word = make_engine(WORDS.format(match="word"))
    assert word.check("whatever hateful Scunthorpe").allowed
    substring = make_engine(WORDS.format(match="substring"))
    assert substring.check("so hateful").blocked


def test_span_points_into_the_original_text(make_engine):
    text = "ok ＨＡ\u200bＴＥ!"
    (finding,) = make_engine(WORDS.format(match="word")).check(text).findings
    start, end = finding.span
    assert text[start:end] == "ＨＡ\u200bＴＥ"
    assert "hate" in finding.detail


def test_labelled_lists_and_redaction(make_engine):
    engine = make_engine(
        """\
        version: 1
        name: k
        steps:
          - id: topics
            kind: keywords
            words: {weapons: [rifle, grenade], drugs: [heroin]}
            action: redact
        """
    )
    decision = engine.check("a Rifle and some heroin")
    assert decision.flagged
    assert sorted(f.label for f in decision.findings) == ["drugs", "weapons"]
    assert decision.redacted_text == "a [WEAPONS] and some [DRUGS]"


def test_fold_off_keeps_leetspeak_distinct(make_engine):
    engine = make_engine(
        """\
        version: 1
        name: k
        steps:
          - {id: w, kind: keywords, words: [hate], fold: false}
        """
    )
    assert engine.check("HATE").blocked  # case is still folded
    assert engine.check("h@te").allowed


def test_ten_thousand_words(make_engine, tmp_path):
    words = [f"term{i:05d}x" for i in range(10_000)] + ["needle"]
    (tmp_path / "many.txt").write_text("\n".join(words))
    engine = make_engine(
        """\
        version: 1
        name: k
        steps:
          - {id: w, kind: keywords, words_file: many.txt}
        """
    )
    text = "lorem ipsum " * 800 + " a needle here and term04242x there"
    labels = [f.detail for f in engine.check(text).findings]
    assert labels == ["matched 'needle'", "matched 'term04242x'"]
