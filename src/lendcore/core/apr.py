"""APR (年化利率) by the IRR method over the real cash flows, and the comprehensive-cost cap.

PBoC announcement 2021 No. 3 requires lenders to show the annualised rate computed by the internal rate
of return (内部收益率法, IRR) over every cash flow of the loan: what the customer actually receives
and everything they pay (interest and every loan-related fee), not ``daily rate × 365``. Two variants
are computed, with clear names; a product's configuration chooses the one disclosed:

``nominal-irr`` (:func:`nominal_apr`)
    The formula as the announcement writes it: treat the installments as equally spaced periods, solve
    the periodic IRR ``r`` of ``[-received, pay_1, …, pay_n]`` and disclose ``r × periods per year``.
    For a monthly schedule periods per year is 12; for a bullet loan over ``m`` months it is ``12 / m``.
``effective-xirr`` (:func:`effective_apr`)
    The effective annual rate over the actual dates (XIRR, a 365-day year):
    ``Σ CF_i / (1 + r)^(days_i / 365) = 0``. It compounds, so it is normally above the nominal variant
    (not always: over long 31-day months the actual time is longer than the nominal 1/12 year).

Solving uses floats (Newton's method, with a bisection fallback when Newton leaves the bracket or
stalls); results are returned as ``Decimal``. :func:`apr` rounds half-up to ``places`` decimals (4 by
default: ``Decimal("0.1200")`` is 12.00 %) for display; the cap check compares unrounded values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Final

from lendcore.core.errors import BusinessRuleError, ValidationError
from lendcore.core.money import Fen
from lendcore.core.schedule import Schedule

#: Default comprehensive-cost cap: 24 % a year, all charges together (courts cut anything above).
DEFAULT_COST_CAP: Final = Decimal("0.24")
#: Decimals of a displayed APR fraction: 4 gives "0.1825" = 18.25 %.
DISPLAY_PLACES: Final = 4
DAYS_PER_YEAR: Final = 365

_TOLERANCE: Final = 1e-13
_MAX_ITERATIONS: Final = 100


class AprMethod(StrEnum):
    """Which APR variant a product discloses."""

    NOMINAL_IRR = "nominal-irr"  # periodic IRR × periods per year (the PBoC formula)
    EFFECTIVE_XIRR = "effective-xirr"  # effective annual rate over actual dates


@dataclass(frozen=True, slots=True)
class CashFlow:
    """One dated cash flow from the lender's side: negative = paid to the customer, positive = received."""

    when: date
    amount: Fen


def schedule_cash_flows(schedule: Schedule, *, upfront_fee: Fen = 0) -> tuple[CashFlow, ...]:
    """Cash flows of a schedule: the principal actually held (net of any fee taken at disbursement)
    paid out on the start date, then every installment's total (principal + interest + fee)."""
    if not schedule.installments:
        raise ValidationError("an empty schedule has no APR", code="INVALID_CASH_FLOWS")
    principal = schedule.total_principal
    flows = [CashFlow(schedule.start_date, -(principal - upfront_fee))]
    flows.extend(CashFlow(i.due_date, i.total) for i in schedule.installments)
    return tuple(flows)


def _solve(value: Callable[[float], float], slope: Callable[[float], float], guess: float) -> float:
    """Root of ``value`` on (-1, ∞): Newton from ``guess``, bisection on a bracket if Newton fails."""
    r = guess
    for _ in range(_MAX_ITERATIONS):
        f = value(r)
        if abs(f) < _TOLERANCE:
            return r
        d = slope(r)
        if d == 0 or not math.isfinite(d):
            break
        step = f / d
        nxt = r - step
        if not math.isfinite(nxt) or nxt <= -1:
            break
        if abs(step) < _TOLERANCE * max(1.0, abs(nxt)):
            return nxt
        r = nxt
    # Bisection: f is decreasing in r for a loan (money out first, back later); find a sign change.
    lo, hi = -0.999999, 1.0
    f_lo = value(lo)
    f_hi = value(hi)
    while f_lo * f_hi > 0 and hi < 1e6:
        hi *= 4
        f_hi = value(hi)
    if f_lo * f_hi > 0:
        raise ValidationError("these cash flows have no internal rate of return", code="NO_IRR")
    for _ in range(400):
        mid = (lo + hi) / 2
        f_mid = value(mid)
        if f_mid == 0 or (hi - lo) < _TOLERANCE:
            return mid
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return (lo + hi) / 2


def _check_flows(amounts: Sequence[int | float]) -> None:
    if len(amounts) < 2 or not any(a < 0 for a in amounts) or not any(a > 0 for a in amounts):
        raise ValidationError(
            "an IRR needs at least one outgoing and one incoming cash flow", code="INVALID_CASH_FLOWS"
        )


def irr(amounts: Sequence[int | float], guess: float = 0.01) -> float:
    """Periodic IRR of equally spaced amounts (``amounts[0]`` at time 0): ``Σ a_t / (1 + r)^t = 0``."""
    _check_flows(amounts)
    values = [float(a) for a in amounts]
    if sum(values) == 0:
        return 0.0

    def value(r: float) -> float:
        v = 1.0 / (1.0 + r)
        total = 0.0
        factor = 1.0
        for a in values:
            total += a * factor
            factor *= v
        return total

    def slope(r: float) -> float:
        v = 1.0 / (1.0 + r)
        total = 0.0
        factor = v
        for t, a in enumerate(values):
            total -= t * a * factor
            factor *= v
        return total

    return _solve_in_range(value, slope, guess)


def xirr(flows: Sequence[CashFlow], guess: float = 0.1) -> float:
    """Effective annual IRR of dated flows on a 365-day year: ``Σ CF / (1 + r)^(days / 365) = 0``."""
    _check_flows([f.amount for f in flows])
    origin = min(f.when for f in flows)
    times = [(f.when - origin).days / DAYS_PER_YEAR for f in flows]
    values = [float(f.amount) for f in flows]
    if sum(values) == 0:
        return 0.0

    def value(r: float) -> float:
        base = 1.0 + r
        return float(sum(a * base**-t for a, t in zip(values, times, strict=True)))

    def slope(r: float) -> float:
        base = 1.0 + r
        return float(sum(-t * a * base ** (-t - 1) for a, t in zip(values, times, strict=True)))

    return _solve_in_range(value, slope, guess)


def periods_per_year(schedule: Schedule) -> Decimal:
    """Installments per year of a schedule, counting whole months from start to maturity.

    12 for a monthly schedule (whatever its first period's length), ``12 / m`` for a single
    installment after ``m`` months; a schedule shorter than half a month counts days (365-day year).
    """
    start, end = schedule.start_date, schedule.maturity_date
    n = len(schedule.installments)
    months = (end.year - start.year) * 12 + (end.month - start.month) + (end.day - start.day) / 30
    whole = round(months)
    if whole >= 1:
        return Decimal(12 * n) / Decimal(whole)
    return Decimal(DAYS_PER_YEAR * n) / Decimal(max(1, (end - start).days))


#: The largest rate an APR is computed to (10^15 = 10^17 %): beyond it the cash flows describe no
#: loan anyone could sign, and the 12-decimal Decimal would not hold it.
_MAX_RATE: Final = 1e15


def _out_of_range() -> ValidationError:
    return ValidationError(
        "the APR of these cash flows is beyond any computable rate", code="APR_OUT_OF_RANGE"
    )


def _to_decimal(x: float) -> Decimal:
    if not math.isfinite(x) or abs(x) >= _MAX_RATE:
        raise _out_of_range()
    return Decimal(repr(x)).quantize(Decimal("1e-12"), rounding=ROUND_HALF_UP) + 0


def _solve_in_range(value: Callable[[float], float], slope: Callable[[float], float], guess: float) -> float:
    """:func:`_solve`, with float overflow (astronomic rates) as ``APR_OUT_OF_RANGE``."""
    try:
        return _solve(value, slope, guess)
    except (OverflowError, ZeroDivisionError):
        raise _out_of_range() from None


def nominal_apr(schedule: Schedule, *, upfront_fee: Fen = 0) -> Decimal:
    """Periodic IRR × periods per year (unrounded to 12 decimals): the PBoC-formula APR."""
    flows = schedule_cash_flows(schedule, upfront_fee=upfront_fee)
    periodic = irr([f.amount for f in flows])
    return _to_decimal(periodic) * periods_per_year(schedule)


def effective_apr(schedule: Schedule, *, upfront_fee: Fen = 0) -> Decimal:
    """Effective annual rate (XIRR over the actual dates, 365-day year), unrounded to 12 decimals."""
    return _to_decimal(xirr(schedule_cash_flows(schedule, upfront_fee=upfront_fee)))


def round_apr(value: Decimal, places: int = DISPLAY_PLACES) -> Decimal:
    """Round an APR fraction half-up for display: 0.182499… → ``Decimal("0.1825")`` with 4 places."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP) + 0


def apr(
    schedule: Schedule,
    method: AprMethod = AprMethod.NOMINAL_IRR,
    *,
    upfront_fee: Fen = 0,
    places: int = DISPLAY_PLACES,
) -> Decimal:
    """The disclosed APR of a schedule, by ``method``, rounded for display (``Decimal("0.1200")``)."""
    exact = (
        nominal_apr(schedule, upfront_fee=upfront_fee)
        if method is AprMethod.NOMINAL_IRR
        else effective_apr(schedule, upfront_fee=upfront_fee)
    )
    return round_apr(exact, places)


def within_cost_cap(value: Decimal, cap: Decimal = DEFAULT_COST_CAP) -> bool:
    """True if an APR does not exceed the comprehensive-cost cap."""
    return value <= cap


def check_cost_cap(value: Decimal, cap: Decimal = DEFAULT_COST_CAP, *, what: str = "loan") -> None:
    """Raise :class:`BusinessRuleError` ``APR_CAP_EXCEEDED`` if ``value`` is above ``cap``."""
    if not within_cost_cap(value, cap):
        raise BusinessRuleError(
            f"{what}: APR {round_apr(value * 100, 2)}% exceeds the comprehensive-cost cap of "
            f"{round_apr(cap * 100, 2)}%",
            code="APR_CAP_EXCEEDED",
            apr=str(value),
            cap=str(cap),
        )


def max_apr(schedule: Schedule, *, upfront_fee: Fen = 0) -> Decimal:
    """The higher of the two APR variants: what a conservative cap check compares."""
    return max(
        nominal_apr(schedule, upfront_fee=upfront_fee), effective_apr(schedule, upfront_fee=upfront_fee)
    )
