"""Specification of money: int fen, parsing and formatting at the edges, explicit rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.errors import ValidationError
from lendcore.core.money import (
    Rounding,
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


@given(st.integers(0, 10**15))
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
