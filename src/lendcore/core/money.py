"""Money is an ``int`` number of fen (分, 1/100 yuan), end to end.

Parsing and formatting happen only at the edges (CLI, HTTP). Inside, amounts are plain ints, sums are
exact, and every conversion from a ``Decimal`` computation to fen goes through :func:`to_fen` with an
explicit :class:`Rounding` mode: 四舍五入 (half-up) by default, banker's (half-even) when a product says so.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Final

from lendcore.core.errors import ValidationError

#: Type alias documenting that an ``int`` is an amount of money in fen.
Fen = int

FEN_PER_YUAN: Final = 100


class Rounding(StrEnum):
    """How a fractional fen becomes a whole fen."""

    HALF_UP = "half-up"  # 四舍五入: 0.5 fen rounds away from zero
    HALF_EVEN = "half-even"  # banker's rounding: 0.5 fen rounds to the even fen
    DOWN = "down"  # toward negative infinity (floor)
    UP = "up"  # toward positive infinity (ceiling)

    @property
    def decimal_mode(self) -> str:
        return _DECIMAL_MODES[self]


_DECIMAL_MODES: Final = {
    Rounding.HALF_UP: ROUND_HALF_UP,
    Rounding.HALF_EVEN: ROUND_HALF_EVEN,
    Rounding.DOWN: ROUND_FLOOR,
    Rounding.UP: ROUND_CEILING,
}

_ONE: Final = Decimal(1)


def to_fen(amount_in_fen: Decimal, rounding: Rounding = Rounding.HALF_UP) -> Fen:
    """Round a fractional number of fen to a whole fen with the given mode."""
    return int(amount_in_fen.quantize(_ONE, rounding=rounding.decimal_mode))


def round_to_multiple(amount: Fen, multiple: Fen, rounding: Rounding = Rounding.HALF_UP) -> Fen:
    """Round ``amount`` (fen) to a multiple of ``multiple`` fen, e.g. 100 for whole yuan."""
    if multiple <= 0:
        raise ValidationError("rounding multiple must be a positive number of fen", code="INVALID_MULTIPLE")
    if multiple == 1:
        return amount
    return to_fen(Decimal(amount) / multiple, rounding) * multiple


_AMOUNT_RE: Final = re.compile(r"^(?P<sign>[-+]?)(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d*))?$")


def parse_amount(text: str, *, allow_negative: bool = False, allow_zero: bool = True) -> Fen:
    """Parse a yuan amount such as ``"1234.56"``, ``"¥1,234.56"`` or ``"CNY 12"`` into fen.

    Rejects (``INVALID_AMOUNT``) anything that is not a number, has more than two decimals or
    misplaced thousands separators; rejects negatives (``NEGATIVE_AMOUNT``) and zero
    (``ZERO_AMOUNT``) unless allowed.
    """
    if not isinstance(text, str):
        raise ValidationError(f"amount must be text, got {type(text).__name__}", code="INVALID_AMOUNT")
    cleaned = text.strip()
    # A sign may stand before the currency mark ("-¥0.01", as format_fen writes it) or after it.
    sign = ""
    if cleaned[:1] in ("-", "+"):
        sign, cleaned = cleaned[0], cleaned[1:].lstrip()
    for prefix in ("¥", "￥", "CNY", "RMB"):
        if cleaned.upper().startswith(prefix):
            cleaned = cleaned[len(prefix) :].strip()
            break
    if sign:
        if cleaned[:1] in ("-", "+"):
            raise ValidationError(f"not an amount of money: {text!r}", code="INVALID_AMOUNT", value=text)
        cleaned = sign + cleaned
    cleaned = cleaned.replace("\u00a0", "").replace(" ", "")
    match = _AMOUNT_RE.match(cleaned)
    if match is None:
        raise ValidationError(f"not an amount of money: {text!r}", code="INVALID_AMOUNT", value=text)
    frac = match["frac"] or ""
    if len(frac) > 2:
        raise ValidationError(
            f"amount has more than two decimals (smaller than one fen): {text!r}",
            code="INVALID_AMOUNT",
            value=text,
        )
    whole = int(match["int"].replace(",", ""))
    fen = whole * FEN_PER_YUAN + int(frac.ljust(2, "0") or "0")
    if match["sign"] == "-":
        fen = -fen
    if fen < 0 and not allow_negative:
        raise ValidationError(f"amount must not be negative: {text!r}", code="NEGATIVE_AMOUNT", value=text)
    if fen == 0 and not allow_zero:
        raise ValidationError(f"amount must be greater than zero: {text!r}", code="ZERO_AMOUNT", value=text)
    return fen


def parse_fen(value: str | int) -> Fen:
    """Parse an integer number of fen (API and JSON inputs carry fen as integers)."""
    if isinstance(value, bool):
        raise ValidationError("amount in fen must be an integer", code="INVALID_AMOUNT", value=value)
    if isinstance(value, int):
        return value
    try:
        return int(value.strip())
    except (ValueError, AttributeError):
        raise ValidationError(
            f"amount in fen must be an integer: {value!r}", code="INVALID_AMOUNT", value=value
        ) from None


def format_fen(amount: Fen, *, symbol: bool = True) -> str:
    """Format fen as ``¥1,234.56`` (or ``-¥1,234.56``); the only place fen become yuan text."""
    sign = "-" if amount < 0 else ""
    yuan, fen = divmod(abs(amount), FEN_PER_YUAN)
    return f"{sign}{'¥' if symbol else ''}{yuan:,}.{fen:02d}"


def fen_to_decimal_yuan(amount: Fen) -> Decimal:
    """Exact yuan value of an amount in fen (for reports and external files)."""
    return Decimal(amount).scaleb(-2)


def parse_decimal(text: str, *, what: str, code: str) -> Decimal:
    """Parse a decimal number, raising a ValidationError with ``code`` on failure."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise ValidationError(f"{what} is not a number: {text!r}", code=code, value=text) from None
    if not value.is_finite():
        raise ValidationError(f"{what} is not a finite number: {text!r}", code=code, value=text)
    return value
