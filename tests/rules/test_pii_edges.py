"""Edge cases of the pii step: entities beside a near miss, phone look-alikes, non-ASCII digits."""

from __future__ import annotations

import pytest

from guardrails import Engine

POLICY = """\
version: 1
name: p
steps:
  - id: pii
    kind: pii
    action: redact
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_string(POLICY)


def phones_only(regions: str) -> Engine:
    return Engine.from_string(POLICY + f"    entities: [phone]\n    phone_regions: [{regions}]\n")


@pytest.mark.parametrize(
    "text, redacted",
    [
        ("card 4111 1111 1111 1111 123", "card [CREDIT_CARD] 123"),
        ("pay 2 4111 1111 1111 1111", "pay 2 [CREDIT_CARD]"),
        ("card 4111 1111 1111 1111 4", "card [CREDIT_CARD] 4"),
        ("cards 4111 1111 1111 1111 5500 0000 0000 0004", "cards [CREDIT_CARD] [CREDIT_CARD]"),
        ("numbers: 555-123-4567 555-987-6543", "numbers: [PHONE] [PHONE]"),
        ("Room 12 415-555-2671", "Room 12 [PHONE]"),
        ("IBAN DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX", "IBAN [IBAN] BIC COBADEFFXXX"),
        ("IBAN: DE89 3704 0044 0532 0130 00 EUR", "IBAN: [IBAN] EUR"),
        ("IBAN DE89 3704 0044 0532 0130 00 GB82 WEST 1234 5698 7654 32", "IBAN [IBAN] [IBAN]"),
    ],
)
def test_entity_beside_a_near_miss_is_found(engine, text, redacted):
    assert engine.check(text).redacted_text == redacted


@pytest.mark.parametrize(
    "text",
    [
        "iban DE89 3704 0044 0532 0130 01",  # no card or phone picked out of a bad IBAN
        "IBAN de89 3704 0044 0532 0130 00",
        "ids 1234 5678 9012 3456 7890 1234 5678",  # a figure table is not searched piecemeal
    ],
)
def test_no_entity_is_picked_out_of_a_long_number(engine, text):
    assert engine.check(text).allowed, engine.check(text).findings


@pytest.mark.parametrize("regions", ["US", "GB", "DE", "FR", "US, GB, DE, FR"])
@pytest.mark.parametrize(
    "text",
    [
        "Meeting 2024-03-05 14:30 in room 4",
        "date 2024-01-15 12:00",
        "from 2019-2023",
        "zip 90210-1234",
        "arXiv 2301.12345",
        "0.5 0.25 0.125",
        "ISO 9001:2015",
    ],
)
def test_dates_ranges_and_numbers_are_not_phones(regions, text):
    assert phones_only(regions).check(text).allowed, text


def test_phone_next_to_a_time_is_still_found():
    decision = phones_only("US").check("at 14:30 call 415-555-2671")
    assert decision.redacted_text == "at 14:30 call [PHONE]"


@pytest.mark.parametrize(
    "text, value",
    [
        ("card ４１１１ １１１１ １１１１ １１１１ ok", "４１１１ １１１１ １１１１ １１１１"),
        ("card ٤١١١١١١١١١١١١١١١ ok", "٤١١١١١١١١١١١١١١١"),
        ("card ４１１１ １１１１ １１１１ １１１１ １２３", "４１１１ １１１１ １１１１ １１１１"),
    ],
)
def test_non_ascii_digit_cards_are_redacted_with_exact_spans(engine, text, value):
    decision = engine.check(text)
    (finding,) = decision.findings
    assert finding.label == "credit_card"
    assert text[finding.span[0] : finding.span[1]] == value
    assert decision.redacted_text == text.replace(value, "[CREDIT_CARD]")


@pytest.mark.parametrize(
    "text", ["ref ４１１１ １１１１ １１１１ １１１２", "ref ٤١١١١١١١١١١١١١١٢"]
)
def test_non_ascii_digit_luhn_failures_are_not_cards(engine, text):
    assert engine.check(text).allowed


def test_default_policy_redacts_card_followed_by_cvv():
    decision = Engine.from_path("policies/default.yaml").check("card 4111 1111 1111 1111 123")
    assert decision.redacted_text == "card [CREDIT_CARD] 123"


def test_a_phone_after_a_long_run_of_numbers_is_found(engine):
    # 30,000 characters of short numbers: the search inside a failed run is capped per window
    text = " ".join(f"{n % 97:02d}" for n in range(10_000)) + " call 415-555-2671"
    decision = engine.check(text)
    assert decision.redacted_text.endswith(" call [PHONE]")
