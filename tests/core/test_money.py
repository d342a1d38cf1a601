"""Specification of money: int fen, parsing and formatting at the edges, explicit rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.errors import ValidationError
from lendcore.core.money import (
    MAX_AMOUNT,
    Rounding,
    check_fen,
    fen_to_decimal_yuan,
    format_fen,
    parse_amount,
    parse_fen,
    round_to_multiple,
    to_fen,
)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("1234.56", 123_456),
        ("¥1,234.56", 123_456),
        ("￥1,234.5", 123_450),
        ("CNY 12", 1_200),
        ("0.01", 1),
        ("1,000,000", 100_000_000),
        (" 7. ", 700),
    ],
)
def test_parse_amount_accepts_yuan_text(text: str, fen: int) -> None:
    assert parse_amount(text) == fen


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("1.234", "INVALID_AMOUNT"),  # finer than a fen
        ("abc", "INVALID_AMOUNT"),
        ("1,23.00", "INVALID_AMOUNT"),  # misplaced thousands separator
        ("", "INVALID_AMOUNT"),
        ("1e3", "INVALID_AMOUNT"),
        ("-5", "NEGATIVE_AMOUNT"),
    ],
)
def test_parse_amount_rejects_with_a_code(text: str, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_amount(text)
    assert caught.value.code == code


def test_negatives_and_zero_only_when_allowed() -> None:
    assert parse_amount("-5", allow_negative=True) == -500
    with pytest.raises(ValidationError) as caught:
        parse_amount("0.00", allow_zero=False)
    assert caught.value.code == "ZERO_AMOUNT"


def test_format_fen() -> None:
    assert format_fen(123_456) == "¥1,234.56"
    assert format_fen(-5) == "-¥0.05"
    assert format_fen(100, symbol=False) == "1.00"


@given(st.integers(0, MAX_AMOUNT))
def test_format_then_parse_round_trips(fen: int) -> None:
    assert parse_amount(format_fen(fen)) == fen
    assert fen_to_decimal_yuan(fen) * 100 == fen


def test_negative_formatted_amount_parses_back() -> None:
    assert parse_amount(format_fen(-1), allow_negative=True) == -1
    assert parse_amount("¥-12.30", allow_negative=True) == -1230


def test_a_doubled_sign_is_not_an_amount() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_amount("--¥1", allow_negative=True)
    assert caught.value.code == "INVALID_AMOUNT"


def test_to_fen_rounding_modes() -> None:
    assert to_fen(Decimal("2.5")) == 3  # 四舍五入
    assert to_fen(Decimal("2.5"), Rounding.HALF_EVEN) == 2
    assert to_fen(Decimal("3.5"), Rounding.HALF_EVEN) == 4
    assert to_fen(Decimal("2.1"), Rounding.UP) == 3
    assert to_fen(Decimal("2.9"), Rounding.DOWN) == 2


def test_round_to_multiple() -> None:
    assert round_to_multiple(36_062, 100) == 36_100
    assert round_to_multiple(36_049, 100) == 36_000
    assert round_to_multiple(12_345, 1) == 12_345
    with pytest.raises(ValidationError):
        round_to_multiple(1, 0)


def test_parse_fen() -> None:
    assert parse_fen("42") == 42 and parse_fen(7) == 7
    for bad in ("4.2", True):
        with pytest.raises(ValidationError):
            parse_fen(bad)  # type: ignore[arg-type]


# --- the upper bound: no amount above MAX_AMOUNT enters, whatever the text ---------------------------

#: Every code parse_amount may refuse with; anything else (another code, another exception) is a bug.
PARSE_CODES = {"INVALID_AMOUNT", "NEGATIVE_AMOUNT", "ZERO_AMOUNT", "AMOUNT_TOO_LARGE"}

_amount_like = st.one_of(
    st.text(),  # anything at all, unicode digits included
    st.from_regex(r"\A[-+]?[¥￥]?[0-9]{1,40}(\.[0-9]{0,6})?\Z"),  # huge numbers, many decimals
    st.from_regex(r"\A[-+]?[0-9]{1,3}(,[0-9]{3}){0,12}(\.[0-9]{1,2})?\Z"),  # thousands separators
    st.sampled_from(
        [
            "1e5",
            "1E+5",
            "NaN",
            "nan",
            "Infinity",
            "-inf",
            "0x10",
            "１２３",
            "٣",
            "¥１",
            "￥1,000.00",
            "92233720368547758.07",
            "99999999999999999999",
            "9" * 5000,
            "0" * 5000 + "1",
            "1_000",
            "--1",
        ]
    ),
)


@given(_amount_like)
def test_an_amount_is_a_fen_int_within_the_cap_or_a_validation_error_with_a_stable_code(text: str) -> None:
    try:
        fen = parse_amount(text, allow_negative=True)
    except ValidationError as error:
        assert error.code in PARSE_CODES
        assert len(error.message) < 200  # the input is shown shortened, never whole
    else:
        assert type(fen) is int and -MAX_AMOUNT <= fen <= MAX_AMOUNT


@given(st.integers(MAX_AMOUNT + 1, 10**40))
def test_an_amount_above_the_cap_is_refused_as_too_large(fen: int) -> None:
    for text in (format_fen(fen), format_fen(fen, symbol=False).replace(",", ""), format_fen(-fen)):
        with pytest.raises(ValidationError) as caught:
            parse_amount(text, allow_negative=True)
        assert caught.value.code == "AMOUNT_TOO_LARGE"


def test_the_cap_is_one_hundred_million_yuan_and_configurable() -> None:
    assert parse_amount("100,000,000.00") == MAX_AMOUNT == 10**10
    with pytest.raises(ValidationError) as caught:
        parse_amount("100,000,000.01")
    assert caught.value.code == "AMOUNT_TOO_LARGE"
    assert parse_amount("500", maximum=500_00) == 500_00
    with pytest.raises(ValidationError) as caught:
        parse_amount("500.01", maximum=500_00)
    assert caught.value.code == "AMOUNT_TOO_LARGE"


@pytest.mark.parametrize("text", ["１２３", "٣", "¥１,０００", "1e5", "NaN", "Infinity"])
def test_only_ascii_digits_make_an_amount(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_amount(text)
    assert caught.value.code == "INVALID_AMOUNT"


@given(st.one_of(st.integers(-(10**30), 10**30), st.text(max_size=30), st.booleans(), st.none()))
def test_fen_from_outside_is_a_positive_int_within_the_cap(value: object) -> None:
    try:
        fen = check_fen(value)
    except ValidationError as error:
        assert error.code in ("AMOUNT_NOT_POSITIVE", "AMOUNT_TOO_LARGE")
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_AMOUNT:
            assert error.code == "AMOUNT_TOO_LARGE"
    else:
        assert type(fen) is int and 0 < fen <= MAX_AMOUNT


@given(st.one_of(st.integers(-(10**30), 10**30), st.text(max_size=30)))
def test_parse_fen_is_an_int_within_the_cap_or_a_validation_error(value: object) -> None:
    try:
        fen = parse_fen(value)  # type: ignore[arg-type]
    except ValidationError as error:
        assert error.code in ("INVALID_AMOUNT", "AMOUNT_TOO_LARGE")
    else:
        assert type(fen) is int and abs(fen) <= MAX_AMOUNT
