"""Money is an ``int`` number of fen (分, 1/100 yuan), end to end.

Parsing and formatting happen only at the edges (CLI, HTTP). Inside, amounts are plain ints, sums are
exact, and every conversion from a ``Decimal`` computation to fen goes through :func:`to_fen` with an
explicit :class:`Rounding` mode: 四舍五入 (half-up) by default, banker's (half-even) when a product says so.

Every amount that enters from outside is bounded by :data:`MAX_AMOUNT` (¥100,000,000.00 = 10^10 fen,
``AMOUNT_TOO_LARGE``), or by a lower ``maximum`` the caller passes: a single amount at the cap is six
orders of magnitude below the largest BIGINT (9.2 × 10^18), so sums of up to ~9 × 10^8 such amounts
(a ledger's totals, a trial balance) can never overflow the database's integer columns.
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

#: The largest amount lendcore accepts from outside (¥100,000,000.00). See the module docstring.
MAX_AMOUNT: Final[Fen] = 10**10


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


# ASCII digits only: ``\d`` would also accept Arabic-Indic or full-width digits.
_AMOUNT_RE: Final = re.compile(
    r"^(?P<sign>[-+]?)(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<frac>[0-9]*))?$"
)
_CURRENCY_PREFIXES: Final = ("¥", "￥", "CNY", "RMB")
#: How much of a rejected input an error message repeats (inputs may be arbitrarily long).
_SHOWN_CHARS: Final = 40


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def too_large(amount: object, maximum: Fen, what: str = "amount") -> ValidationError:
    """The ``AMOUNT_TOO_LARGE`` refusal of ``amount`` above ``maximum``."""
    return ValidationError(
        f"{what} is above the maximum {format_fen(maximum)}: {_shown(amount)}",
        code="AMOUNT_TOO_LARGE",
        maximum=maximum,
    )


def _without_currency(text: str) -> str:
    """``text`` with its currency mark and spaces removed, its sign kept in front. A sign may stand
    before the currency mark ("-¥0.01", as format_fen writes it) or after it, not both."""
    cleaned = text.strip()
    sign = ""
    if cleaned[:1] in ("-", "+"):
        sign, cleaned = cleaned[0], cleaned[1:].lstrip()
    for prefix in _CURRENCY_PREFIXES:
        if cleaned[: len(prefix)].upper() == prefix:
            cleaned = cleaned[len(prefix) :].strip()
            break
    if sign:
        if cleaned[:1] in ("-", "+"):
            raise ValidationError(
                f"not an amount of money: {_shown(text)}", code="INVALID_AMOUNT", value=text
            )
        cleaned = sign + cleaned
    return cleaned.replace("\u00a0", "").replace(" ", "")


def parse_amount(
    text: str, *, allow_negative: bool = False, allow_zero: bool = True, maximum: Fen = MAX_AMOUNT
) -> Fen:
    """Parse a yuan amount such as ``"1234.56"``, ``"¥1,234.56"`` or ``"CNY 12"`` into fen.

    Rejects (``INVALID_AMOUNT``) anything that is not a number written with ASCII digits, has more
    than two decimals or misplaced thousands separators; rejects amounts whose magnitude is above
    ``maximum`` fen (``AMOUNT_TOO_LARGE``; default :data:`MAX_AMOUNT`), negatives
    (``NEGATIVE_AMOUNT``) and zero (``ZERO_AMOUNT``) unless allowed. Never raises anything else.
    """
    if not isinstance(text, str):
        raise ValidationError(f"amount must be text, got {type(text).__name__}", code="INVALID_AMOUNT")
    match = _AMOUNT_RE.match(_without_currency(text))
    if match is None:
        raise ValidationError(f"not an amount of money: {_shown(text)}", code="INVALID_AMOUNT", value=text)
    frac = match["frac"] or ""
    if len(frac) > 2:
        raise ValidationError(
            f"amount has more than two decimals (smaller than one fen): {_shown(text)}",
            code="INVALID_AMOUNT",
            value=text,
        )
    digits = match["int"].replace(",", "").lstrip("0")
    # Refuse by length before int(): a very long digit string is too large, and int() of more than
    # 4,300 digits raises (CPython's integer string limit).
    if len(digits) > len(str(maximum // FEN_PER_YUAN)) + 1:
        raise too_large(text, maximum)
    fen = int(digits or "0") * FEN_PER_YUAN + int(frac.ljust(2, "0"))
    if match["sign"] == "-":
        fen = -fen
    if abs(fen) > maximum:
        raise too_large(text, maximum)
    if fen < 0 and not allow_negative:
        raise ValidationError(
            f"amount must not be negative: {_shown(text)}", code="NEGATIVE_AMOUNT", value=text
        )
    if fen == 0 and not allow_zero:
        raise ValidationError(
            f"amount must be greater than zero: {_shown(text)}", code="ZERO_AMOUNT", value=text
        )
    return fen


def parse_fen(value: str | int, *, maximum: Fen = MAX_AMOUNT) -> Fen:
    """Parse an integer number of fen (API and JSON inputs carry fen as integers).

    ``INVALID_AMOUNT`` for anything but an integer (or its ASCII decimal text); ``AMOUNT_TOO_LARGE``
    when its magnitude is above ``maximum``. The sign is the caller's to check."""
    if isinstance(value, bool):
        raise ValidationError("amount in fen must be an integer", code="INVALID_AMOUNT", value=value)
    if isinstance(value, int):
        fen = value
    elif isinstance(value, str) and re.fullmatch(r"[-+]?[0-9]{1,20}", value.strip()):
        fen = int(value.strip())
    else:
        raise ValidationError(
            f"amount in fen must be an integer: {_shown(value)}", code="INVALID_AMOUNT", value=value
        )
    if abs(fen) > maximum:
        raise too_large(value, maximum, "amount in fen")
    return fen


def check_fen(value: object, *, what: str = "amount", maximum: Fen = MAX_AMOUNT) -> Fen:
    """``value`` if it is a positive int of fen not above ``maximum`` (for fen handed to a use case).

    ``AMOUNT_NOT_POSITIVE`` for anything but a positive int (bools included), ``AMOUNT_TOO_LARGE``
    above ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(f"{what} must be a positive amount of fen", code="AMOUNT_NOT_POSITIVE")
    if value > maximum:
        raise too_large(value, maximum, what)
    return value


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
