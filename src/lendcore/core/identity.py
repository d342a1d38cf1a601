"""Onboarding validation: PRC resident ID, mainland mobile number, bank card, cardholder name.

Pure functions: no clock (the business date is an argument), no I/O beyond reading the shipped data
tables once (``lendcore/data/gb2260.csv`` and ``lendcore/data/card_bins.csv``). Every bad field raises
(or, in :func:`validate_onboarding`, reports) its own stable error code:

=========================  ===============================================================
code                       meaning
=========================  ===============================================================
``INVALID_ID_NUMBER``      not 17 digits + a digit or ``X``
``ID_CHECKSUM_MISMATCH``   the ISO 7064 MOD 11-2 check character (GB 11643-1999) is wrong
``ID_BIRTH_DATE_INVALID``  digits 7–14 are not a real date, are in the future or before 1900
``ID_REGION_UNKNOWN``      digits 1–2 are not a province-level code of GB/T 2260
``APPLICANT_UNDER_AGE``    younger than the minimum age (18) on the business date
``INVALID_NAME``           empty, too long, or characters a legal name cannot hold
``INVALID_PHONE``          not a mainland mobile number (``1[3-9]`` + 9 digits, optional +86)
``INVALID_CARD_NUMBER``    not 15–19 digits
``CARD_LUHN_MISMATCH``     the Luhn check digit is wrong
``CARD_BIN_UNKNOWN``       no issuer in the BIN table
``CARD_NOT_DEBIT``         a credit card where a debit card is required (disbursement/autopay)
``CARD_NAME_MISMATCH``     the cardholder name differs from the customer's name
=========================  ===============================================================
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, Final

from lendcore.core.errors import ValidationError

# --- codes --------------------------------------------------------------------------------------------
INVALID_ID_NUMBER: Final = "INVALID_ID_NUMBER"
ID_CHECKSUM_MISMATCH: Final = "ID_CHECKSUM_MISMATCH"
ID_BIRTH_DATE_INVALID: Final = "ID_BIRTH_DATE_INVALID"
ID_REGION_UNKNOWN: Final = "ID_REGION_UNKNOWN"
APPLICANT_UNDER_AGE: Final = "APPLICANT_UNDER_AGE"
INVALID_NAME: Final = "INVALID_NAME"
INVALID_PHONE: Final = "INVALID_PHONE"
INVALID_CARD_NUMBER: Final = "INVALID_CARD_NUMBER"
CARD_LUHN_MISMATCH: Final = "CARD_LUHN_MISMATCH"
CARD_BIN_UNKNOWN: Final = "CARD_BIN_UNKNOWN"
CARD_NOT_DEBIT: Final = "CARD_NOT_DEBIT"
CARD_NAME_MISMATCH: Final = "CARD_NAME_MISMATCH"
ONBOARDING_INVALID: Final = "ONBOARDING_INVALID"

MINIMUM_AGE: Final = 18

#: Province-level codes of GB/T 2260 (first two digits of a resident ID). 71/81/82 are listed by
#: GB/T 2260; 83 is the code the Taiwan residents' residence permit (台湾居民居住证) uses.
PROVINCES: Final[Mapping[str, str]] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省",
    "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区", "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
    "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区", "83": "台湾居民居住证",
}  # fmt: skip

_ID_RE: Final = re.compile(r"^\d{17}[\dX]$")
_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS: Final = "10X98765432"


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


def id_check_char(first17: str) -> str:
    """The GB 11643-1999 check character (ISO 7064 MOD 11-2) for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValidationError("need exactly 17 digits", code=INVALID_ID_NUMBER)
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def normalize_id_number(text: str) -> str:
    """Strip spaces and full-width characters, upper-case a trailing ``x``."""
    return unicodedata.normalize("NFKC", text).strip().replace(" ", "").upper()


@cache
def _regions() -> Mapping[str, str]:
    path = resources.files("lendcore").joinpath("data/gb2260.csv")
    with path.open("r", encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {row["code"]: row["name"] for row in rows}


def region_name(code: str) -> str | None:
    """Name of a 6-digit GB/T 2260 code (current or withdrawn since 1980), or None if not listed."""
    return _regions().get(code)


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A validated 18-digit resident ID number."""

    number: str
    region_code: str
    province: str
    region: str | None  # county-level name when the 6-digit code is in the shipped table
    birth_date: date
    sex: Sex

    def age_on(self, on: date) -> int:
        return age_on(self.birth_date, on)


def age_on(birth: date, on: date) -> int:
    """Whole years completed on ``on``; a 29 February birthday completes a year on 1 March."""
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def parse_resident_id(text: str, *, business_date: date) -> ResidentId:
    """Validate an 18-digit resident ID (format, region, birth date, checksum) and decode it.

    The order of checks is format → checksum → birth date → region, so a mistyped digit (the most
    common error) reports the checksum. Age is not checked here (see :func:`check_age`).
    """
    number = normalize_id_number(text)
    if not _ID_RE.match(number):
        raise ValidationError(
            "resident ID must be 17 digits followed by a digit or X", code=INVALID_ID_NUMBER
        )
    if id_check_char(number[:17]) != number[17]:
        raise ValidationError("resident ID check character does not match", code=ID_CHECKSUM_MISMATCH)
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(
            "birth date in the resident ID is not a date", code=ID_BIRTH_DATE_INVALID
        ) from None
    if birth > business_date or birth.year < 1900:
        raise ValidationError("birth date in the resident ID is out of range", code=ID_BIRTH_DATE_INVALID)
    region_code = number[:6]
    province = PROVINCES.get(number[:2])
    if province is None:
        raise ValidationError("resident ID region code is not a known province", code=ID_REGION_UNKNOWN)
    sex = Sex.MALE if int(number[16]) % 2 == 1 else Sex.FEMALE
    return ResidentId(number, region_code, province, region_name(region_code), birth, sex)


def check_age(resident_id: ResidentId, business_date: date, minimum_age: int = MINIMUM_AGE) -> int:
    """Return the applicant's age; ``APPLICANT_UNDER_AGE`` if below ``minimum_age``."""
    age = resident_id.age_on(business_date)
    if age < minimum_age:
        raise ValidationError(
            f"applicant must be at least {minimum_age}", code=APPLICANT_UNDER_AGE, minimum_age=minimum_age
        )
    return age


# --- names --------------------------------------------------------------------------------------------
_NAME_RE: Final = re.compile(r"^[\u3400-\u9fff\uf900-\ufaffA-Za-z·•\-' ]{1,50}$")


def normalize_name(text: str) -> str:
    """NFKC, trimmed, inner whitespace collapsed; middle dots (·, •, ．) unified to ``·``."""
    name = unicodedata.normalize("NFKC", text).strip()
    name = re.sub(r"\s+", " ", name)
    for dot in ("•", "．", "・", "."):
        name = name.replace(dot, "·")
    return name


def validate_name(text: str) -> str:
    name = normalize_name(text)
    if not name or not _NAME_RE.match(name):
        raise ValidationError("name is empty or holds characters a name cannot hold", code=INVALID_NAME)
    return name


def names_match(a: str, b: str) -> bool:
    """Same person name after normalisation (case-insensitive for Latin letters, spaces ignored)."""
    return normalize_name(a).replace(" ", "").casefold() == normalize_name(b).replace(" ", "").casefold()


# --- phone --------------------------------------------------------------------------------------------
_PHONE_RE: Final = re.compile(r"^1[3-9]\d{9}$")


def normalize_phone(text: str) -> str:
    """Return the 11-digit mainland mobile number; accepts ``+86``/``0086``/``86`` and separators."""
    cleaned = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", text))
    for prefix in ("+86", "0086"):
        if cleaned.startswith(prefix):
            cleaned = cleaned[len(prefix) :]
            break
    else:
        if len(cleaned) == 13 and cleaned.startswith("86"):
            cleaned = cleaned[2:]
    if not _PHONE_RE.match(cleaned):
        raise ValidationError("not a mainland mobile number", code=INVALID_PHONE)
    return cleaned


# --- bank cards ---------------------------------------------------------------------------------------
class CardType(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


@dataclass(frozen=True, slots=True)
class CardBin:
    prefix: str
    bank: str
    card_type: CardType


@dataclass(frozen=True, slots=True)
class BankCard:
    number: str
    bank: str
    card_type: CardType
    bin_prefix: str


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The digit to append to ``payload`` so the whole passes the Luhn check."""
    for d in "0123456789":
        if luhn_valid(payload + d):
            return d
    raise AssertionError("unreachable")  # pragma: no cover


@cache
def card_bins() -> tuple[CardBin, ...]:
    """The shipped BIN table, longest prefixes first."""
    path = resources.files("lendcore").joinpath("data/card_bins.csv")
    with path.open("r", encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        bins = [CardBin(r["bin"], r["bank"], CardType(r["card_type"])) for r in rows]
    return tuple(sorted(bins, key=lambda b: (-len(b.prefix), b.prefix)))


def lookup_bin(number: str, bins: tuple[CardBin, ...] | None = None) -> CardBin | None:
    """Longest-prefix match of ``number`` in the BIN table."""
    for entry in card_bins() if bins is None else sorted(bins, key=lambda b: -len(b.prefix)):
        if number.startswith(entry.prefix):
            return entry
    return None


def parse_bank_card(
    text: str, *, require_debit: bool = False, bins: tuple[CardBin, ...] | None = None
) -> BankCard:
    """Validate a card number (15–19 digits, Luhn, known BIN, optionally debit only)."""
    number = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", text))
    if not number.isdigit() or not 15 <= len(number) <= 19:
        raise ValidationError("card number must be 15-19 digits", code=INVALID_CARD_NUMBER)
    if not luhn_valid(number):
        raise ValidationError("card number check digit does not match", code=CARD_LUHN_MISMATCH)
    entry = lookup_bin(number, bins)
    if entry is None:
        raise ValidationError("card issuer not recognised", code=CARD_BIN_UNKNOWN)
    if require_debit and entry.card_type is not CardType.DEBIT:
        raise ValidationError("a debit card is required", code=CARD_NOT_DEBIT, bank=entry.bank)
    return BankCard(number, entry.bank, entry.card_type, entry.prefix)


def check_card_holder(card_holder_name: str, customer_name: str) -> None:
    """``CARD_NAME_MISMATCH`` unless the cardholder is the customer."""
    if not names_match(card_holder_name, customer_name):
        raise ValidationError("the card must be in the customer's own name", code=CARD_NAME_MISMATCH)


# --- whole request ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CardInput:
    number: str
    holder_name: str


@dataclass(frozen=True, slots=True)
class OnboardingRequest:
    """What the applicant types in (raw text, before validation)."""

    name: str
    id_number: str
    phone: str
    cards: tuple[CardInput, ...]


@dataclass(frozen=True, slots=True)
class ValidatedOnboarding:
    name: str
    resident_id: ResidentId
    age: int
    phone: str
    cards: tuple[BankCard, ...]


def validate_onboarding(
    request: OnboardingRequest,
    *,
    business_date: date,
    minimum_age: int = MINIMUM_AGE,
    require_debit: bool = True,
) -> ValidatedOnboarding:
    """Validate a whole onboarding request and report every bad field at once.

    Raises one :class:`ValidationError` (code ``ONBOARDING_INVALID``) whose ``details["errors"]`` is a
    list of ``{"field": ..., "code": ..., "message": ...}``, one per bad field (cards as
    ``cards[0].number``, ``cards[0].holder_name``). At least one card is required (``cards`` /
    ``CARD_REQUIRED``).
    """
    errors: list[dict[str, Any]] = []

    def fail(field: str, exc: ValidationError) -> None:
        errors.append({"field": field, "code": exc.code, "message": exc.message})

    name: str | None = None
    try:
        name = validate_name(request.name)
    except ValidationError as exc:
        fail("name", exc)
    rid: ResidentId | None = None
    age = 0
    try:
        rid = parse_resident_id(request.id_number, business_date=business_date)
        age = check_age(rid, business_date, minimum_age)
    except ValidationError as exc:
        fail("id_number", exc)
    phone = ""
    try:
        phone = normalize_phone(request.phone)
    except ValidationError as exc:
        fail("phone", exc)
    cards: list[BankCard] = []
    if not request.cards:
        errors.append({"field": "cards", "code": "CARD_REQUIRED", "message": "bind at least one bank card"})
    for i, card in enumerate(request.cards):
        try:
            cards.append(parse_bank_card(card.number, require_debit=require_debit))
        except ValidationError as exc:
            fail(f"cards[{i}].number", exc)
        if name is not None:
            try:
                check_card_holder(card.holder_name, name)
            except ValidationError as exc:
                fail(f"cards[{i}].holder_name", exc)
    if errors or name is None or rid is None:
        raise ValidationError(
            f"{len(errors)} field(s) failed validation", code=ONBOARDING_INVALID, errors=errors
        )
    return ValidatedOnboarding(name, rid, age, phone, tuple(cards))
