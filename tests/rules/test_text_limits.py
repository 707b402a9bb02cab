"""length, invisible and urls: the small structural checks."""

from __future__ import annotations

import pytest


def test_length_limits(make_engine):
    engine = make_engine(
        """\
        version: 1
        name: l
        defaults: {run_all: true}
        steps:
          - {id: size, kind: length, max_chars: 10, max_bytes: 12, max_lines: 2}
        """
    )
    assert engine.check("short").allowed
    labels = {f.label for f in engine.check("é" * 11 + "\n\n").findings}
    assert labels == {"too_many_chars", "too_many_bytes", "too_many_lines"}
    assert {f.label for f in engine.check("ééééééé").findings} == {"too_many_bytes"}


@pytest.mark.parametrize(
    "text, label",
    [
        ("pass\u200bword", "zero_width"),
        ("if (a \u202e} else {\u2066", "bidi"),
        ("bell\x07", "control"),
        ("hi \U000e0069\U000e0067\U000e006e", "tag"),
    ],
)
def test_invisible_characters(make_engine, text, label):
    engine = make_engine(
        """\
        version: 1
        name: i
        steps:
          - {id: inv, kind: invisible}
        """
    )
    decision = engine.check(text)
    assert decision.blocked
    assert decision.findings[0].label == label


def test_invisible_redaction_removes_characters(make_engine):
    engine = make_engine(
        """\
        version: 1
        name: i
        steps:
          - {id: inv, kind: invisible, action: redact}
        """
    )
    assert engine.check("a\u200bb\u200c\u200dc\tok\n").redacted_text == "abc\tok\n"
    assert engine.check("plain ascii\ttext\r\n").allowed


def test_urls_allow_and_deny(make_engine):
    engine = make_engine(
        """\
        version: 1
        name: u
        defaults: {run_all: true}
        steps:
          - id: links
            kind: urls
            allow: [example.com, docs.python.org]
            deny: [evil.example.com]
            schemes: [https]
            ip_hosts: true
        """
    )
    assert engine.check("see https://example.com/a and https://www.example.com/b.").allowed
    assert engine.check("docs at https://docs.python.org/3/ ok").allowed
    cases = {
        "go to https://evil.example.com/x": "denied_domain",
        "go to https://example.org/x": "unlisted_domain",
        "go to http://example.com/x": "disallowed_scheme",
        "go to https://10.0.0.1/admin": "ip_host",
        "www.other.net is great": "unlisted_domain",
        "https://exаmple.com/login (Cyrillic a)": "unlisted_domain",
    }
    for text, label in cases.items():
        assert [f.label for f in engine.check(text).findings] == [label], text


def test_url_span_excludes_trailing_punctuation(make_engine):
    engine = make_engine(
        """\
        version: 1
        name: u
        steps:
          - {id: links, kind: urls, deny: [bad.io]}
        """
    )
    text = "(see https://bad.io/path?q=1)."
    (finding,) = engine.check(text).findings
    assert text[finding.span[0] : finding.span[1]] == "https://bad.io/path?q=1"
