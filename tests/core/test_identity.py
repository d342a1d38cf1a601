from __future__ import annotations

from datetime import date

import pytest

from lendcore.core.errors import ValidationError
from lendcore.core.identity import (
    CardInput,
    CardType,
    OnboardingRequest,
    Sex,
    card_bins,
    check_age,
    check_card_holder,
    id_check_char,
    lookup_bin,
    luhn_check_digit,
    luhn_valid,
    normalize_phone,
    parse_bank_card,
    parse_resident_id,
    validate_onboarding,
)

TODAY = date(2025, 6, 15)


def make_id(region: str, birth: date, seq: str = "123") -> str:
    """Build a valid ID by the GB 11643 algorithm (independent re-implementation)."""
    body = f"{region}{birth:%Y%m%d}{seq}"
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    check = (12 - sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11) % 11
    return body + ("X" if check == 10 else str(check))


def make_card(prefix: str, length: int = 19) -> str:
    payload = prefix + "1" * (length - len(prefix) - 1)
    return payload + luhn_check_digit(payload)


def code_of(fn, *a, **k) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as exc:
        fn(*a, **k)
    return exc.value.code


def test_gb11643_standard_example() -> None:
    rid = parse_resident_id("11010519491231002X", business_date=TODAY)
    assert rid.birth_date == date(1949, 12, 31)
    assert rid.sex is Sex.FEMALE
    assert rid.province == "北京市" and rid.region == "朝阳区"
    assert id_check_char("11010519491231002") == "X"


@pytest.mark.parametrize("number", ["11010519491231002X", "11010519491231002x", " 11010519491231002X "])
def test_known_valid_vectors(number: str) -> None:
    rid = parse_resident_id(number, business_date=TODAY)
    assert rid.number == "11010519491231002X"  # trimmed, check character upper-cased
    assert rid.birth_date == date(1949, 12, 31)
    assert rid.sex is Sex.FEMALE
    assert (rid.province, rid.region) == ("北京市", "朝阳区")


def test_generated_ids_agree_with_algorithm() -> None:
    for seq in range(100, 200):
        number = make_id("320102", date(1990, 1, 1), str(seq))
        assert id_check_char(number[:17]) == number[17]
        assert parse_resident_id(number, business_date=TODAY).sex is (Sex.MALE if seq % 2 else Sex.FEMALE)


def test_checksum_mismatch() -> None:
    assert code_of(parse_resident_id, "110105194912310021", business_date=TODAY) == "ID_CHECKSUM_MISMATCH"


@pytest.mark.parametrize("text", ["", "1101051949123100", "11010519491231002Y", "A1010519491231002X"])
def test_bad_format(text: str) -> None:
    assert code_of(parse_resident_id, text, business_date=TODAY) == "INVALID_ID_NUMBER"


def test_leap_day_birth_dates() -> None:
    assert parse_resident_id(make_id("110105", date(2000, 2, 29)), business_date=TODAY).birth_date == date(
        2000, 2, 29
    )
    bad = make_id("110105", date(2001, 2, 28)).replace("20010228", "20010229")
    bad = bad[:17] + id_check_char(bad[:17])
    assert code_of(parse_resident_id, bad, business_date=TODAY) == "ID_BIRTH_DATE_INVALID"


def test_future_birth_date() -> None:
    number = make_id("110105", date(2025, 6, 16))
    assert code_of(parse_resident_id, number, business_date=TODAY) == "ID_BIRTH_DATE_INVALID"


def test_unknown_region() -> None:
    assert code_of(parse_resident_id, make_id("990101", date(1990, 1, 1)), business_date=TODAY) == (
        "ID_REGION_UNKNOWN"
    )
    # a province that exists with a county code not in the table is accepted, region name None
    assert parse_resident_id(make_id("119999", date(1990, 1, 1)), business_date=TODAY).region is None


def test_age_boundary() -> None:
    rid = parse_resident_id(make_id("110105", date(2007, 6, 15)), business_date=TODAY)
    assert check_age(rid, TODAY) == 18
    assert code_of(check_age, rid, date(2025, 6, 14)) == "APPLICANT_UNDER_AGE"


def test_leap_day_birthday_age() -> None:
    rid = parse_resident_id(make_id("110105", date(2004, 2, 29)), business_date=TODAY)
    assert code_of(check_age, rid, date(2022, 2, 28)) == "APPLICANT_UNDER_AGE"
    assert check_age(rid, date(2022, 3, 1)) == 18


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("008619912345678", "19912345678"),
    ],
)
def test_phone_ok(text: str, expected: str) -> None:
    assert normalize_phone(text) == expected


@pytest.mark.parametrize("text", ["12812345678", "1381234567", "138123456789", "abc", "+1 13812345678"])
def test_phone_bad(text: str) -> None:
    assert code_of(normalize_phone, text) == "INVALID_PHONE"


def test_card_ok_and_longest_prefix() -> None:
    card = parse_bank_card(make_card("622202"))
    assert card.bank == "中国工商银行" and card.card_type is CardType.DEBIT
    assert luhn_valid(make_card("6858001", 19))
    assert lookup_bin(make_card("6858001")).prefix == "6858001"  # type: ignore[union-attr]
    assert len(card_bins()) > 150


def test_card_errors() -> None:
    good = make_card("622202")
    bad_luhn = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert code_of(parse_bank_card, "62220212345") == "INVALID_CARD_NUMBER"
    assert code_of(parse_bank_card, "62220212345678901234") == "INVALID_CARD_NUMBER"
    assert code_of(parse_bank_card, bad_luhn) == "CARD_LUHN_MISMATCH"
    assert code_of(parse_bank_card, make_card("999999")) == "CARD_BIN_UNKNOWN"
    assert code_of(parse_bank_card, make_card("625330", 16), require_debit=True) == "CARD_NOT_DEBIT"


def test_card_holder_name() -> None:
    check_card_holder(" 张三 ", "张三")
    check_card_holder("买买提•艾力", "买买提·艾力")
    assert code_of(check_card_holder, "李四", "张三") == "CARD_NAME_MISMATCH"


def test_whole_request_reports_every_error() -> None:
    req = OnboardingRequest(
        name="张三",
        id_number="110105194912310021",
        phone="12345",
        cards=(CardInput(make_card("622202")[:-1] + "0", "李四"),),
    )
    with pytest.raises(ValidationError) as exc:
        validate_onboarding(req, business_date=TODAY)
    assert exc.value.code == "ONBOARDING_INVALID"
    got = {(e["field"], e["code"]) for e in exc.value.details["errors"]}
    card_code = "CARD_LUHN_MISMATCH" if not luhn_valid(make_card("622202")[:-1] + "0") else None
    expected = {
        ("id_number", "ID_CHECKSUM_MISMATCH"),
        ("phone", "INVALID_PHONE"),
        ("cards[0].holder_name", "CARD_NAME_MISMATCH"),
    }
    if card_code:
        expected.add(("cards[0].number", card_code))
    assert got == expected
    assert "110105194912310021" not in str(exc.value.to_dict())


def test_whole_request_ok() -> None:
    req = OnboardingRequest(
        "张三",
        make_id("310101", date(1995, 3, 3)),
        "+8613912345678",
        (CardInput(make_card("621700"), "张三"),),
    )
    ok = validate_onboarding(req, business_date=TODAY)
    assert ok.age == 30 and ok.phone == "13912345678" and ok.cards[0].bank == "中国建设银行"


def test_no_card() -> None:
    req = OnboardingRequest("张三", make_id("310101", date(1995, 3, 3)), "13912345678", ())
    with pytest.raises(ValidationError) as exc:
        validate_onboarding(req, business_date=TODAY)
    assert [e["code"] for e in exc.value.details["errors"]] == ["CARD_REQUIRED"]
