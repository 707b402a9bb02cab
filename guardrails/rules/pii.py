"""Personal data: emails, phone numbers, payment cards, IBANs, US SSNs, IP addresses.

Candidates are found with regexes and then validated, so a random 16-digit number is not a card
(Luhn), a random code is not an IBAN (mod-97 and the country's length), and a phone number must
be a valid number for its region (Google's libphonenumber, via ``phonenumbers``). A candidate
that fails is retried on its own digit groups (``pii_spans``), so a card followed by its CVV, or
two phone numbers side by side, are still found.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

import phonenumbers

from guardrails.policy.steps import PiiStep
from guardrails.rules.base import CheckContext, Detection
from guardrails.rules.pii_spans import valid_ranges

__all__ = ["PiiCheck", "iban_valid", "luhn_valid"]

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}"  # local part
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b"  # domain
)
# Candidates are whole runs of groups; validation then picks the entity out of the run.
_CARD = re.compile(r"(?<![\d-])\d+(?:[ -]\d+)*")  # digit groups joined by one space or hyphen
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9])+\b")
_IBAN_START = re.compile(r"[A-Z]{2}\d{2}")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])"
)
_PHONE = re.compile(
    r"(?<![\w+.-])(?:\+\d{1,3}[ .-]?)?"  # country code
    r"(?:\(\d{1,5}\)[ .-]?)?"  # (area code)
    r"\d+(?:[ .-]\d+)*"  # digit groups
)
_TOKEN = re.compile(r"[^ ]+")  # a run's space-separated tokens
_ANY_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"\w")
_DOTTED = re.compile(r"\d{1,3}(?:\.\d{1,3}){2,}")  # IP addresses and version numbers
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")
# Tokens that are never part of a phone: dates, year ranges (2019-2023), ZIP+4 (90210-1234),
# decimals (0.25, arXiv 2301.12345), versions and IP addresses.
_NOT_PHONE = re.compile(
    _DATE.pattern + r"|(?:1[89]|20)\d\d-(?:1[89]|20)\d\d|\d{5}-\d{4}|\d+\.\d+|" + _DOTTED.pattern
)
_BARS_LAST = re.compile(r":\d|\w")  # 14:30, the hour of a time; or a token glued to a word
_MAX_PHONE_GROUPS = 8  # +33 6 12 34 56 78 is six
_PHONE_BUDGET = 24  # libphonenumber calls per window of a run that failed as a whole
_MAX_LEFTOVER = 4  # digits a run may hold beside the cards or phones found in it (CVV, room)

# ISO 13616 IBAN lengths per country.
_IBAN_LENGTHS = dict(
    AD=24, AE=23, AL=28, AT=20, AZ=28, BA=20, BE=16, BG=22, BH=22, BR=29, BY=28, CH=21, CR=22,
    CY=28, CZ=24, DE=22, DK=18, DO=28, EE=20, EG=29, ES=24, FI=18, FO=18, FR=27, GB=22, GE=22,
    GI=23, GL=18, GR=27, GT=28, HR=21, HU=28, IE=22, IL=23, IQ=23, IS=26, IT=27, JO=30, KW=30,
    KZ=20, LB=28, LC=32, LI=21, LT=20, LU=20, LV=21, MC=27, MD=24, ME=22, MK=19, MR=27, MT=31,
    MU=30, NL=18, NO=15, PK=24, PL=28, PS=29, PT=25, QA=29, RO=24, RS=22, SA=24, SC=31, SE=24,
    SI=19, SK=24, SM=27, ST=25, SV=28, TL=23, TN=24, TR=26, UA=29, VA=22, VG=24, XK=20,
)  # fmt: skip


def _ascii_digits(text: str) -> str:
    """The decimal digits of ``text`` as ASCII: fullwidth ``４`` and Arabic-Indic ``٤`` are 4.
    One character in, at most one out, so spans found on the original text stay right."""
    if text.isascii():
        return "".join(c for c in text if "0" <= c <= "9")
    return "".join(str(unicodedata.decimal(c, "")) for c in text)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies (any script's decimal digits)."""
    if not digits.isascii():
        digits = _ascii_digits(digits)
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616: the country's length and the mod-97 check digits."""
    iban = iban.replace(" ", "").upper()
    if _IBAN_LENGTHS.get(iban[:2]) != len(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _join(groups: list[tuple[int, int]], i: int, j: int) -> tuple[int, int]:
    """The span from group ``i`` to group ``j``, inclusive."""
    return groups[i][0], groups[j][1]


def _slice(groups: list[tuple[int, int]], i: int, j: int) -> slice:
    return slice(groups[i][0], groups[j][1])


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


class PiiCheck:
    kind: ClassVar[str] = "pii"

    def __init__(self, entities: Sequence[str], phone_regions: Sequence[str] = ("US",)) -> None:
        self.entities = frozenset(entities)
        self.phone_regions = tuple(phone_regions) or ("US",)

    @classmethod
    def from_config(cls, config: PiiStep, base_dir: Path) -> PiiCheck:
        return cls(config.entities, config.phone_regions)

    def scan(self, text: str, context: CheckContext) -> Sequence[Detection]:
        found: list[Detection] = []
        taken: list[tuple[int, int]] = []

        def add(label: str, span: tuple[int, int]) -> None:
            if not _overlaps(span, taken):
                taken.append(span)
                found.append(Detection._trusted(label, span))

        has_at = "@" in text
        if "email" in self.entities and has_at:
            for m in _EMAIL.finditer(text):
                add("email", m.span())
        if _ANY_DIGIT.search(text) is None:
            return found
        if "credit_card" in self.entities:
            for m in _CARD.finditer(text):
                self._cards(m, add)
        if "iban" in self.entities:
            for m in _IBAN.finditer(text):
                self._ibans(m, add)
        if "us_ssn" in self.entities:
            for m in _SSN.finditer(text):
                add("us_ssn", m.span())
        if "ipv4" in self.entities:
            for m in _IPV4.finditer(text):
                if all(int(octet) <= 255 for octet in m.group().split(".")):
                    add("ipv4", m.span())
        if "ipv6" in self.entities and ("::" in text or text.count(":") >= 7):
            self._ipv6(text, add)
        if "phone" in self.entities:
            self._phones(text, add)
        found.sort(key=lambda d: d.span or (0, 0))
        return found

    @staticmethod
    def _cards(m: re.Match[str], add: Callable[[str, tuple[int, int]], None]) -> None:
        """The run if it is a card, else the cards among its space-separated groups."""

        def valid(span: tuple[int, int]) -> bool:
            digits = _ascii_digits(m.string[span[0] : span[1]])
            return 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits)

        if valid(m.span()):
            add("credit_card", m.span())
            return
        if m.start() and _WORD.match(m.string, m.start() - 1):
            return  # glued to a word (the digits of DE89 3704 ...): an identifier, not searched
        groups = [g.span() for g in _TOKEN.finditer(m.string, m.start(), m.end())]
        if len(groups) < 2:
            return
        weights = [sum(c.isdigit() for c in m.string[start:end]) for start, end in groups]
        spans = valid_ranges(
            weights, 13, 19, 8, lambda i, j: valid(_join(groups, i, j)), max_gap=_MAX_LEFTOVER
        )
        for i, j in spans:
            add("credit_card", _join(groups, i, j))

    @staticmethod
    def _ibans(m: re.Match[str], add: Callable[[str, tuple[int, int]], None]) -> None:
        """The run if it is an IBAN, else the IBANs starting at one of its space-separated groups
        (``DE89 ... 00 BIC COBADEFFXXX``, two IBANs in a row)."""
        if iban_valid(m.group()):
            add("iban", m.span())
            return
        text = m.string
        groups = [g.span() for g in _TOKEN.finditer(text, m.start(), m.end())]
        if len(groups) < 2:
            return

        def valid(i: int, j: int) -> bool:
            start = _IBAN_START.match(text, groups[i][0])
            return start is not None and iban_valid(text[_slice(groups, i, j)])

        weights = [end - start for start, end in groups]
        for i, j in valid_ranges(weights, 15, 34, 10, valid):
            add("iban", _join(groups, i, j))

    def _ipv6(self, text: str, add: Callable[[str, tuple[int, int]], None]) -> None:
        for m in _IPV6.finditer(text):
            candidate = m.group()
            if candidate.count(":") < 2 or candidate.strip(":") == "":
                continue
            try:
                ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            add("ipv6", m.span())

    def _phones(self, text: str, add: Callable[[str, tuple[int, int]], None]) -> None:
        """Phone-shaped runs, each kept only if libphonenumber finds it valid in one of the
        regions (any region for +international numbers); a run that fails is retried on its
        space-separated tokens. A bare run of digits needs 10 or more, so order numbers and years
        are not phones; dates, times, year ranges, ZIP+4 codes, decimals and versions never are."""
        for m in _PHONE.finditer(text):
            for span in self._phone_run(m):
                add("phone", span)

    def _phone_run(self, m: re.Match[str]) -> list[tuple[int, int]]:
        text = m.string
        tokens = [t.span() for t in _TOKEN.finditer(text, m.start(), m.end())]
        barred = [_NOT_PHONE.fullmatch(text, start, end) is not None for start, end in tokens]
        if _BARS_LAST.match(text, m.end()):
            barred[-1] = True
        if m.start() and text[m.start() - 1] == ":":
            barred[0] = True  # 12:30, the minutes of a time

        def valid(i: int, j: int) -> bool:
            return not any(barred[i : j + 1]) and self._phone_valid(text[_slice(tokens, i, j)])

        if valid(0, len(tokens) - 1):
            return [m.span()]
        if len(tokens) < 2:
            return []
        weights = [sum(c.isdigit() for c in text[start:end]) for start, end in tokens]
        spans = valid_ranges(
            weights, 7, 15, _MAX_PHONE_GROUPS, valid, _PHONE_BUDGET, max_gap=_MAX_LEFTOVER
        )
        return [_join(tokens, i, j) for i, j in spans]

    def _phone_valid(self, candidate: str) -> bool:
        digits = sum(c.isdigit() for c in candidate)
        if not 7 <= digits <= 15 or _DATE.fullmatch(candidate) or _DOTTED.fullmatch(candidate):
            return False
        if candidate.isdigit() and digits < 10:
            return False
        international = candidate.startswith("+")
        for region in (None,) if international else self.phone_regions:
            try:
                number = phonenumbers.parse(candidate, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                return True
        return False
