from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from guardrails import Engine


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


MIXED = r"""
version: 1
name: r
steps:
  - id: r
    kind: regex
    action: log
    patterns:
      - {label: ticket, pattern: 'TICKET-\d{4,}', case_sensitive: true}
      - {label: codename, pattern: '\bproject (?:falcon|osprey)\b'}
      - {label: price, pattern: '\$\d+(?:\.\d\d)?'}
      - {label: greek, pattern: 'λ+x'}
"""
SINGLES = [
    ("ticket", r"TICKET-\d{4,}", True),
    ("codename", r"\bproject (?:falcon|osprey)\b", False),
    ("price", r"\$\d+(?:\.\d\d)?", False),
    ("greek", "λ+x", False),
]


_MIXED_ENGINE = Engine.from_string(MIXED)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["TICKET-1234", "ticket-99999", "Project Falcon", "PROJECT osprey", "projectfalcon",
             "$12.50", "$7", "ΛΛx", "λx", "é", "🦓", " ", "\n", "a", "TICKET-", "$"]
        ),
        max_size=12,
    )
)  # fmt: skip
def test_one_set_pass_finds_what_each_pattern_finds_alone(pieces):
    """The prefilter is an optimisation only: findings equal a scan by every pattern alone."""
    from guardrails.rules.regex import compile_pattern

    text = "".join(pieces)
    engine = _MIXED_ENGINE
    expected = [
        (label, m.span())
        for label, pattern, case_sensitive in SINGLES
        for m in compile_pattern(pattern, case_sensitive).finditer(text)
    ]
    found = [(f.label, f.span) for f in engine.check(text).findings]
    assert found == expected
    assert all(text[a:b] for _, (a, b) in found)
