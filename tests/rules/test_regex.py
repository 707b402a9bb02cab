from __future__ import annotations


def test_patterns_match_with_labels_and_spans(make_engine):
    engine = make_engine(
        r"""
        version: 1
        name: r
        steps:
          - id: ids
            kind: regex
            action: flag
            patterns:
              ticket: 'TICKET-\d{4,}'
              codename: '\bproject (?:falcon|osprey)\b'
        """
    )
    text = "see ticket-12345 about Project Osprey"
    decision = engine.check(text)
    assert decision.flagged
    assert [(f.label, text[f.span[0] : f.span[1]]) for f in decision.findings] == [
        ("ticket", "ticket-12345"),
        ("codename", "Project Osprey"),
    ]


def test_case_sensitive_pattern(make_engine):
    engine = make_engine(
        """
        version: 1
        name: r
        steps:
          - id: r
            kind: regex
            patterns: [{label: shout, pattern: 'STOP', case_sensitive: true}]
        """
    )
    assert engine.check("STOP").blocked
    assert engine.check("stop").allowed


def test_catastrophic_backtracking_pattern_runs_in_linear_time(make_engine):
    # (a+)+$ takes exponential time in a backtracking engine on "aaaa...!"; RE2 is linear.
    engine = make_engine(
        """
        version: 1
        name: r
        steps:
          - {id: r, kind: regex, patterns: {evil: '(a+)+$'}}
        """
    )
    assert engine.check("a" * 50_000 + "!").allowed
    assert engine.check("b" + "a" * 50_000).blocked


def test_spans_are_character_offsets_with_non_ascii_text(make_engine):
    engine = make_engine(
        """
        version: 1
        name: r
        steps:
          - {id: r, kind: regex, patterns: {word: 'zebra'}}
        """
    )
    text = "ünïcödé 🦓 zebra"
    (finding,) = engine.check(text).findings
    assert text[finding.span[0] : finding.span[1]] == "zebra"
