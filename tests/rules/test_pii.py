from __future__ import annotations

import pytest

POLICY = """\
    version: 1
    name: p
    steps:
      - id: pii
        kind: pii
        action: redact
"""


@pytest.fixture
def engine(make_engine):
    return make_engine(POLICY)


@pytest.mark.parametrize(
    "text, label, value",
    [
        ("mail me at a.b@example.com", "email", "a.b@example.com"),
        ("write to first.last+tag@sub.example.co.uk now", "email", "first.last+tag@sub.example.co.uk"),
        ("call +44 20 7946 0958", "phone", "+44 20 7946 0958"),
        ("call (415) 555-2671 today", "phone", "(415) 555-2671"),
        ("ruf an: 030 901820", "phone", "030 901820"),
        ("appelle 06 12 34 56 78", "phone", "06 12 34 56 78"),
        ("card 4111 1111 1111 1111 thanks", "credit_card", "4111 1111 1111 1111"),
        ("amex 3782-822463-10005", "credit_card", "3782-822463-10005"),
        ("IBAN DE89 3704 0044 0532 0130 00", "iban", "DE89 3704 0044 0532 0130 00"),
        ("iban GB82WEST12345698765432", "iban", "GB82WEST12345698765432"),
        ("ssn 078-05-1120", "us_ssn", "078-05-1120"),
        ("host 192.168.10.1 is down", "ipv4", "192.168.10.1"),
        ("host 2001:db8::8a2e:370:7334 is up", "ipv6", "2001:db8::8a2e:370:7334"),
    ],
)  # fmt: skip
def test_entities_found_with_spans(engine, text, label, value):
    decision = engine.check(text)
    assert decision.flagged
    (finding,) = decision.findings
    assert finding.label == label
    assert text[finding.span[0] : finding.span[1]] == value
    assert decision.redacted_text == text.replace(value, f"[{label.upper()}]")


@pytest.mark.parametrize(
    "text",
    [
        "order 4111 1111 1111 1112 shipped",  # Luhn-invalid
        "ref 0000 0000 0000 0000",  # all one digit
        "iban DE89 3704 0044 0532 0130 01",  # bad check digits
        "ssn 000-12-3456",  # area 000 is never issued
        "version 1.2.3 and 10.0.0.300",  # a version number; an octet over 255
        "order 12345678 on 2024-05-01 for 19.99",
        "use std::vector and a::b",
        "room 101, 3 people, 2 hours",
    ],
)
def test_lookalikes_are_not_reported(engine, text):
    assert engine.check(text).allowed, engine.check(text).findings


def test_entities_can_be_restricted(make_engine):
    engine = make_engine(POLICY + "        entities: [email]\n")
    assert engine.check("call (415) 555-2671").allowed
    assert engine.check("a@example.org").flagged


def test_several_entities_redacted_in_one_text(engine):
    text = "I'm jo@example.com, card 4111111111111111, phone +1 415 555 2671."
    decision = engine.check(text)
    assert decision.redacted_text == "I'm [EMAIL], card [CREDIT_CARD], phone [PHONE]."
