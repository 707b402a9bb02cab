"""Personal data: emails, phone numbers, payment cards, IBANs, US SSNs, IP addresses.

Candidates are found with regexes and then validated, so a random 16-digit number is not a card
(Luhn), a random code is not an IBAN (mod-97 and the country's length), and a phone number must
be a valid number for its region (Google's libphonenumber, via ``phonenumbers``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

import phonenumbers

from guardrails.policy.steps import PiiStep
from guardrails.rules.base import CheckContext, Detection

__all__ = ["PiiCheck", "iban_valid", "luhn_valid"]

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}"  # local part
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b"  # domain
)
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])"
)
_PHONE = re.compile(
    r"(?<![\w+.-])(?:\+\d{1,3}[ .-]?)?"  # country code
    r"(?:\(\d{1,5}\)[ .-]?)?"  # (area code)
    r"\d{1,5}(?:[ .-]?\d{1,5}){1,6}(?![\w]|[.-]\d)"  # digit groups
)
_ANY_DIGIT = re.compile(r"\d")
_DOTTED = re.compile(r"\d{1,3}(?:\.\d{1,3}){2,}")  # IP addresses and version numbers
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")

# ISO 13616 IBAN lengths per country.
_IBAN_LENGTHS = dict(
    AD=24, AE=23, AL=28, AT=20, AZ=28, BA=20, BE=16, BG=22, BH=22, BR=29, BY=28, CH=21, CR=22,
    CY=28, CZ=24, DE=22, DK=18, DO=28, EE=20, EG=29, ES=24, FI=18, FO=18, FR=27, GB=22, GE=22,
    GI=23, GL=18, GR=27, GT=28, HR=21, HU=28, IE=22, IL=23, IQ=23, IS=26, IT=27, JO=30, KW=30,
    KZ=20, LB=28, LC=32, LI=21, LT=20, LU=20, LV=21, MC=27, MD=24, ME=22, MK=19, MR=27, MT=31,
    MU=30, NL=18, NO=15, PK=24, PL=28, PS=29, PT=25, QA=29, RO=24, RS=22, SA=24, SC=31, SE=24,
    SI=19, SK=24, SM=27, ST=25, SV=28, TL=23, TN=24, TR=26, UA=29, VA=22, VG=24, XK=20,
)  # fmt: skip


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
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
                digits = re.sub(r"\D", "", m.group())
                if 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits):
                    add("credit_card", m.span())
        if "iban" in self.entities:
            for m in _IBAN.finditer(text):
                if iban_valid(m.group()):
                    add("iban", m.span())
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
        """Phone-shaped candidates, each kept only if libphonenumber finds it valid in one of the
        regions (any region for +international numbers). A bare run of digits needs 10 or more,
        so order numbers and years are not phones; dates never are."""
        for m in _PHONE.finditer(text):
            candidate = m.group()
            digits = sum(c.isdigit() for c in candidate)
            international = candidate.startswith("+")
            if not 7 <= digits <= 15 or _DATE.fullmatch(candidate) or _DOTTED.fullmatch(candidate):
                continue
            if candidate.isdigit() and digits < 10:
                continue
            for region in (None,) if international else self.phone_regions:
                try:
                    number = phonenumbers.parse(candidate, region)
                except phonenumbers.NumberParseException:
                    continue
                if phonenumbers.is_valid_number(number):
                    add("phone", m.span())
                    break
