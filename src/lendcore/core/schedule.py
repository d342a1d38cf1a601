"""Repayment schedules (还款计划): one pure function from plain terms to immutable installment rows.

:func:`build_schedule` takes a :class:`ScheduleTerms` and returns a :class:`Schedule`. Nothing here
reads the clock or any file; the same terms always give the same schedule.

Rates (:class:`Rate`)
    A rate is a value plus its unit. ``Rate.daily(Decimal("0.0005"))`` is exactly 0.05 % a day, how
    Chinese consumer loans are priced; ``Rate.annual(Decimal("0.12"))`` and ``Rate.monthly(...)`` are
    nominal rates. A daily rate is never turned into an annual one behind the caller's back: with the
    ``days`` rule a daily rate is applied as given, whatever the day-count basis.

Interest rules (:class:`InterestRule`)
    ``days``: interest of a period = balance × rate × days over ``[start, due)`` (算头不算尾). For a daily
    rate that is ``balance × daily × days``; for an annual (or monthly × 12) rate it is
    ``balance × annual × year fraction`` with the basis: days/360, days/365, or actual/actual (each
    calendar day weighs 1/365 or 1/366 by its own year).
    ``period``: interest of a period = balance × the nominal monthly rate (annual ÷ 12; a daily rate is
    first made annual with the basis: × 360 or × 365, ``actual`` counts as 365). An irregular first
    period (first due date not one month after the start) is prorated: ``annual × days / basis``.

Methods (:class:`Method`)
    equal-installment (等额本息), equal-principal (等额本金), interest-only (先息后本),
    bullet (一次性还本付息: one installment at maturity), flat-fee (POS 分期: principal ÷ n plus a fee of
    ``fee_rate_per_period × principal`` every period). An interest-free plan (免息分期) is any method with a
    zero rate and no fee.

Level payment of equal-installment (:class:`LevelPayment`)
    ``exact`` (default): the installment solves the annuity over the actual per-period rates
    (``P / Σ_k Π_{j≤k} 1/(1+r_j)``), so with the days rule or an irregular first period every installment
    still comes out equal and only rounding is left for the last one. ``nominal``: the textbook
    formula with the nominal monthly rate, as many systems do; the last installment then also absorbs
    the difference between nominal and actual-day interest. ``thirty-day``: the textbook formula at the
    rate of a 30-day month (the daily rate × 30; an annual rate ÷ 360 or 365 × 30, ``actual`` counting
    365; under the ``period`` rule the nominal monthly rate), which is how Apache Fineract solves the
    equal installment of a loan with daily interest repaid monthly; interest still runs by actual days
    and the last installment absorbs the difference.

Rounding
    Each period's interest and fee is rounded to the fen once, with ``rounding`` (half-up by default).
    The level amount (the installment for equal-installment; the principal part for equal-principal
    and flat-fee) is rounded to ``installment_multiple`` fen (1 = to the fen, 100 = whole yuan). The last
    installment takes whatever principal is left, so principal always sums exactly to the amount lent.
    No period ever repays more principal than is outstanding, and no amount is negative.

Grace periods
    ``grace_periods`` leading periods are interest-only (本金宽限期); amortisation runs over the rest.

Due dates
    Due date k is ``first_due_date + (k-1) months`` on the first due date's day of month, clamped to
    month end (default first due date: one month after the start). With
    ``business_day_rule=following`` a due date on a non-working day moves to the next working day
    (Chinese official calendar); the period then ends (and the next one starts) on the moved date.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final, Protocol

from lendcore.core.calendar import BusinessDayRule, add_months, roll
from lendcore.core.errors import ValidationError
from lendcore.core.money import MAX_AMOUNT, Fen, Rounding, too_large
from lendcore.core.rates import MONTHS_PER_YEAR, DayCountBasis


class Method(StrEnum):
    """Repayment methods, named as on the CLI."""

    EQUAL_INSTALLMENT = "equal-installment"  # 等额本息 (annuity)
    EQUAL_PRINCIPAL = "equal-principal"  # 等额本金
    INTEREST_ONLY = "interest-only"  # 先息后本
    BULLET = "bullet"  # 一次性还本付息
    FLAT_FEE = "flat-fee"  # POS installments: principal ÷ n plus a fixed fee per period


class InterestRule(StrEnum):
    """How a period's interest is computed."""

    DAYS = "days"  # actual days × daily rate (日利率 × 天数), how Chinese consumer loans are priced
    PERIOD = "period"  # annual ÷ periods per year (the textbook annuity)


class RateUnit(StrEnum):
    """What a :class:`Rate` value is a rate per."""

    DAILY = "daily"  # 日利率, exact as given
    MONTHLY = "monthly"  # 月利率, nominal (× 12 = annual)
    ANNUAL = "annual"  # 年利率, nominal simple annual rate (not the APR)


class LevelPayment(StrEnum):
    """How the equal installment (等额本息) is solved."""

    EXACT = "exact"  # over the actual per-period rates: all installments equal but the last's rounding
    NOMINAL = "nominal"  # textbook annuity at the nominal monthly rate
    THIRTY_DAY = "thirty-day"  # textbook annuity at a 30-day month's rate (Apache Fineract's level)


_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_D360: Final = Decimal(360)
_D365: Final = Decimal(365)
_D366: Final = Decimal(366)
_TWELVE: Final = Decimal(MONTHS_PER_YEAR)
_THIRTY: Final = Decimal(30)

#: Arithmetic context of every schedule computation, independent of the caller's context.
_CONTEXT: Final = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN, Emax=999999, Emin=-999999)


@dataclass(frozen=True, slots=True)
class Rate:
    """An interest rate: a non-negative ``Decimal`` fraction and the unit it is quoted in."""

    value: Decimal
    unit: RateUnit = RateUnit.DAILY

    def __post_init__(self) -> None:
        if not isinstance(self.value, Decimal) or not self.value.is_finite() or self.value < 0:
            raise ValidationError(
                f"rate must be a non-negative Decimal, got {self.value!r}", code="INVALID_RATE"
            )

    @classmethod
    def daily(cls, value: Decimal | str) -> Rate:
        return cls(Decimal(value), RateUnit.DAILY)

    @classmethod
    def monthly(cls, value: Decimal | str) -> Rate:
        return cls(Decimal(value), RateUnit.MONTHLY)

    @classmethod
    def annual(cls, value: Decimal | str) -> Rate:
        return cls(Decimal(value), RateUnit.ANNUAL)

    @classmethod
    def zero(cls) -> Rate:
        return cls(_ZERO, RateUnit.DAILY)

    @property
    def is_zero(self) -> bool:
        return self.value == 0

    def nominal_annual(self, basis: DayCountBasis) -> Decimal:
        """Simple nominal annual rate (daily × 360 or 365; ``actual`` counts 365). Not the APR."""
        if self.unit is RateUnit.ANNUAL:
            return self.value
        if self.unit is RateUnit.MONTHLY:
            return self.value * _TWELVE
        return self.value * (_D360 if basis is DayCountBasis.D360 else _D365)

    def nominal_monthly(self, basis: DayCountBasis) -> Decimal:
        """Nominal monthly rate: annual ÷ 12 (a monthly rate as given)."""
        if self.unit is RateUnit.MONTHLY:
            return self.value
        return self.nominal_annual(basis) / _TWELVE

    def daily_rate(self, basis: DayCountBasis) -> Decimal:
        """Daily rate (as given for a daily rate; annual ÷ 360 or 365 otherwise, ``actual`` → 365)."""
        if self.unit is RateUnit.DAILY:
            return self.value
        return self.nominal_annual(basis) / (_D360 if basis is DayCountBasis.D360 else _D365)

    def factor(self, start: date, end: date, basis: DayCountBasis) -> Decimal:
        """Interest per unit of principal over ``[start, end)`` under the days rule."""
        days = (end - start).days
        if self.unit is RateUnit.DAILY:
            return self.value * days
        annual = self.nominal_annual(basis)
        if basis is DayCountBasis.D360:
            return annual * days / _D360
        if basis is DayCountBasis.D365:
            return annual * days / _D365
        return annual * _actual_actual_fraction(start, end)


#: The rate of an interest-free plan (免息).
ZERO_RATE: Final = Rate(_ZERO, RateUnit.DAILY)


def _actual_actual_fraction(start: date, end: date) -> Decimal:
    """Year fraction of ``[start, end)`` where each day weighs 1/365 or 1/366 by its own year."""
    total = _ZERO
    cursor = start
    while cursor < end:
        year_end = date(cursor.year + 1, 1, 1)
        segment_end = min(end, year_end)
        days_in_year = _D366 if (year_end - date(cursor.year, 1, 1)).days == 366 else _D365
        total += Decimal((segment_end - cursor).days) / days_in_year
        cursor = segment_end
    return total


@dataclass(frozen=True, slots=True)
class ScheduleTerms:
    """Everything a schedule depends on. Amounts in fen; rates as :class:`Rate` / ``Decimal``.

    ``term`` is the number of monthly periods (for ``bullet``, the months to maturity; the schedule then
    has a single installment).
    """

    principal: Fen
    term: int
    method: Method
    start_date: date
    rate: Rate = ZERO_RATE
    interest_rule: InterestRule = InterestRule.DAYS
    day_count: DayCountBasis = DayCountBasis.D365
    rounding: Rounding = Rounding.HALF_UP
    installment_multiple: Fen = 1
    first_due_date: date | None = None
    grace_periods: int = 0
    fee_rate_per_period: Decimal = _ZERO
    level_payment: LevelPayment = LevelPayment.EXACT
    business_day_rule: BusinessDayRule = BusinessDayRule.NONE


@dataclass(frozen=True, slots=True)
class Installment:
    """One period (期) of a schedule. Amounts in fen; interest covers [start_date, due_date)."""

    period: int  # 1-based
    start_date: date
    due_date: date
    days: int
    principal: Fen
    interest: Fen
    fee: Fen
    total: Fen  # principal + interest + fee
    remaining_principal: Fen  # principal still owed after this installment is paid


@dataclass(frozen=True, slots=True)
class Schedule:
    installments: tuple[Installment, ...]

    @property
    def total_principal(self) -> Fen:
        return sum(i.principal for i in self.installments)

    @property
    def total_interest(self) -> Fen:
        return sum(i.interest for i in self.installments)

    @property
    def total_fee(self) -> Fen:
        return sum(i.fee for i in self.installments)

    @property
    def total(self) -> Fen:
        return sum(i.total for i in self.installments)

    @property
    def start_date(self) -> date:
        """Disbursement date: the start of the first period."""
        return self.installments[0].start_date

    @property
    def maturity_date(self) -> date:
        return self.installments[-1].due_date


def _invalid(message: str, **details: object) -> ValidationError:
    return ValidationError(message, code="INVALID_TERMS", **details)


#: The most periods a schedule may have (50 years of monthly installments).
MAX_PERIODS: Final = 600

#: The last due date a schedule may have: two calendar years before ``date.max``, so that a
#: business-day roll, accrual and penalty after maturity and the actual/actual day count (which looks
#: at the next 1 January) all stay inside the calendar.
LATEST_DUE_DATE: Final = date(date.max.year - 2, 12, 31)


def _month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def _check_dates_fit(terms: ScheduleTerms) -> None:
    """``DATE_OUT_OF_RANGE`` unless the last due date falls on or before :data:`LATEST_DUE_DATE`.

    Computed on month numbers, so no date past ``date.max`` is ever constructed."""
    if terms.first_due_date is not None:  # monthly or bullet: the first due date + term - 1 months
        last_month = _month_index(terms.first_due_date) + terms.term - 1
    else:  # the start date + term months
        last_month = _month_index(terms.start_date) + terms.term
    if last_month > _month_index(LATEST_DUE_DATE):
        raise ValidationError(
            f"the schedule would run past {LATEST_DUE_DATE.isoformat()}: start {terms.start_date}, "
            f"{terms.term} period(s)",
            code="DATE_OUT_OF_RANGE",
        )


def validate_terms(terms: ScheduleTerms) -> None:
    """Raise :class:`ValidationError` (``INVALID_TERMS``) unless the terms can build a schedule."""
    if isinstance(terms.principal, bool) or not isinstance(terms.principal, int) or terms.principal <= 0:
        raise _invalid(f"principal must be a positive number of fen, got {terms.principal!r}")
    if isinstance(terms.term, bool) or not isinstance(terms.term, int) or not 1 <= terms.term <= MAX_PERIODS:
        raise _invalid(f"term must be 1..{MAX_PERIODS} periods, got {terms.term!r}")
    if terms.installment_multiple < 1:
        raise ValidationError("installment multiple must be at least 1 fen", code="INVALID_MULTIPLE")
    if terms.installment_multiple != 1 and terms.method in (Method.INTEREST_ONLY, Method.BULLET):
        raise ValidationError(
            f"an installment multiple applies to level amounts only, not to {terms.method.value}",
            code="INVALID_MULTIPLE",
        )
    if not 0 <= terms.grace_periods < terms.term:
        raise _invalid(f"grace periods must be 0..{terms.term - 1}, got {terms.grace_periods}")
    if terms.grace_periods and terms.method in (Method.BULLET, Method.INTEREST_ONLY):
        raise _invalid(f"grace periods do not apply to {terms.method.value}")
    if not terms.fee_rate_per_period.is_finite() or terms.fee_rate_per_period < 0:
        raise _invalid("fee rate per period must be a non-negative number")
    if terms.fee_rate_per_period and terms.method is not Method.FLAT_FEE:
        raise _invalid("a fee rate per period applies to the flat-fee method only")
    if terms.principal > MAX_AMOUNT:
        raise too_large(terms.principal, MAX_AMOUNT, "principal")
    if terms.installment_multiple > MAX_AMOUNT:
        raise ValidationError("installment multiple is above the maximum amount", code="INVALID_MULTIPLE")
    if terms.first_due_date is not None and terms.first_due_date <= terms.start_date:
        raise _invalid("the first due date must be after the start date")
    _check_dates_fit(terms)


_MONTH_DAYS: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _monthly_dates(first: date, count: int) -> tuple[date, ...]:
    """``first`` and the next ``count - 1`` monthly dates on its day, clamped to month end.

    Same result as :func:`lendcore.core.calendar.add_months` with ``anchor_day=first.day`` (a test
    checks it), inlined because it is the hot loop of schedule building.
    """
    anchor = first.day
    year = first.year
    month = first.month
    out = [first]
    for _ in range(count - 1):
        month += 1
        if month == 13:
            month = 1
            year += 1
        last = _MONTH_DAYS[month - 1]
        if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
            last = 29
        out.append(date(year, month, anchor if anchor <= last else last))
    return tuple(out)


def due_dates(terms: ScheduleTerms) -> tuple[date, ...]:
    """Due dates of the schedule (before any business-day roll)."""
    if terms.method is Method.BULLET:
        if terms.first_due_date is None:
            return (add_months(terms.start_date, terms.term),)
        first = terms.first_due_date
        return (add_months(first, terms.term - 1, anchor_day=first.day),)
    first = terms.first_due_date or add_months(terms.start_date, 1)
    return _monthly_dates(first, terms.term)


def _period_factors(terms: ScheduleTerms, starts: Sequence[date], ends: Sequence[date]) -> list[Decimal]:
    """Interest per unit of outstanding principal for each period."""
    rate = terms.rate
    if rate.is_zero:
        return [_ZERO] * len(starts)
    basis = terms.day_count
    if terms.interest_rule is InterestRule.DAYS:
        if rate.unit is RateUnit.DAILY:
            daily = rate.value
            return [daily * (e - s).days for s, e in zip(starts, ends, strict=True)]
        return [rate.factor(s, e, basis) for s, e in zip(starts, ends, strict=True)]
    # Period rule: the nominal monthly rate per whole month; an irregular period is prorated by days.
    monthly = rate.nominal_monthly(basis)
    annual = monthly * _TWELVE
    year_days = _D360 if basis is DayCountBasis.D360 else _D365
    factors: list[Decimal] = []
    for s, e in zip(starts, ends, strict=True):
        months = _whole_months(s, e)
        if months is not None:
            factors.append(monthly * months)
        else:
            factors.append(annual * (e - s).days / year_days)
    return factors


def _whole_months(start: date, end: date) -> int | None:
    """Number of months if ``end`` is a whole number of months after ``start`` (month-end aware)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if months <= 0:
        return None
    if add_months(start, months) == end:
        return months
    # Anchored on a late day (e.g. the 31st) a schedule passes through shorter months: Feb 28 → Mar 31.
    if end.day >= start.day and add_months(start, months, anchor_day=end.day) == end:
        next_day = start + timedelta(days=1)
        if next_day.month != start.month:  # start is a month end
            return months
    return None


def _level_payment(balance: Fen, factors: Sequence[Decimal]) -> Decimal:
    """Installment that amortises ``balance`` over periods with the given per-period rates."""
    discount = _ONE
    annuity = _ZERO
    for f in factors:
        discount = discount / (_ONE + f)
        annuity += discount
    return Decimal(balance) / annuity


def _level_rate(terms: ScheduleTerms) -> Decimal | None:
    """The one periodic rate the level payment is solved at, or None to solve over the actual rates."""
    if terms.level_payment is LevelPayment.EXACT or terms.rate.is_zero:
        return None
    if terms.level_payment is LevelPayment.THIRTY_DAY and terms.interest_rule is InterestRule.DAYS:
        return terms.rate.daily_rate(terms.day_count) * _THIRTY
    return terms.rate.nominal_monthly(terms.day_count)


def _round(amount: Decimal, multiple: Fen, mode: str) -> Fen:
    if multiple == 1:
        return int(amount.quantize(_ONE, rounding=mode))
    return int((amount / multiple).quantize(_ONE, rounding=mode)) * multiple


def build_schedule(terms: ScheduleTerms) -> Schedule:
    """Build the repayment schedule of ``terms``. Pure; raises :class:`ValidationError` on bad terms."""
    validate_terms(terms)
    with decimal.localcontext(_CONTEXT):
        return _build(terms)


def _build(terms: ScheduleTerms) -> Schedule:
    mode = terms.rounding.decimal_mode
    principal = terms.principal
    raw_dues = due_dates(terms)
    if terms.business_day_rule is BusinessDayRule.NONE:
        dues: Sequence[date] = raw_dues
    else:
        dues = [roll(d, terms.business_day_rule) for d in raw_dues]
    starts = [terms.start_date, *dues[:-1]]
    n = len(dues)
    factors = _period_factors(terms, starts, dues)
    grace = terms.grace_periods
    method = terms.method
    multiple = terms.installment_multiple

    # Principal part of each period, decided up front where it does not depend on interest.
    level_principal: Fen = 0
    installment: Fen = 0
    if method is Method.EQUAL_INSTALLMENT:
        amortising = factors[grace:]
        level_rate = _level_rate(terms)
        if level_rate is not None:
            amortising = [level_rate] * len(amortising)
        installment = _round(_level_payment(principal, amortising), multiple, mode)
    elif method in (Method.EQUAL_PRINCIPAL, Method.FLAT_FEE):
        level_principal = _round(Decimal(principal) / (n - grace), multiple, mode)
    fee: Fen = 0
    if method is Method.FLAT_FEE and terms.fee_rate_per_period:
        fee_num, fee_den = terms.fee_rate_per_period.as_integer_ratio()
        fee = _DIVIDE[terms.rounding](fee_num * principal, fee_den)

    ratios = [f.as_integer_ratio() for f in factors]
    divide = _DIVIDE[terms.rounding]
    rows: list[Installment] = []
    remaining = principal
    last = n - 1
    no_principal_yet = method in (Method.INTEREST_ONLY, Method.BULLET)
    for k in range(n):
        start = starts[k]
        due = dues[k]
        num, den = ratios[k]
        interest = divide(num * remaining, den) if remaining and num else 0
        if k == last:
            part = remaining
        elif k < grace or no_principal_yet:
            part = 0
        elif method is Method.EQUAL_INSTALLMENT:
            part = installment - interest
        else:
            part = level_principal
        if part < 0:
            part = 0
        elif part > remaining:
            part = remaining
        remaining -= part
        rows.append(
            _installment(
                k + 1, start, due, (due - start).days, part, interest, fee, part + interest + fee, remaining
            )
        )
    return Schedule(tuple(rows))


def _half_up(x: int, d: int) -> int:
    return (2 * x + d) // (2 * d)


def _half_even(x: int, d: int) -> int:
    q, r = divmod(x, d)
    twice = 2 * r
    if twice > d or (twice == d and q & 1):
        return q + 1
    return q


def _floor(x: int, d: int) -> int:
    return x // d


def _ceiling(x: int, d: int) -> int:
    return -(-x // d)


#: Exact integer rounding of a non-negative ``x / d`` to a whole fen, per rounding mode.
_DIVIDE: Final = {
    Rounding.HALF_UP: _half_up,
    Rounding.HALF_EVEN: _half_even,
    Rounding.DOWN: _floor,
    Rounding.UP: _ceiling,
}

_INSTALLMENT_SETTERS: Final = tuple(getattr(Installment, name).__set__ for name in Installment.__slots__)


def _installment(
    period: int,
    start_date: date,
    due_date: date,
    days: int,
    principal: Fen,
    interest: Fen,
    fee: Fen,
    total: Fen,
    remaining_principal: Fen,
) -> Installment:
    """Build an :class:`Installment` exactly as its constructor would, about 3× faster.

    A frozen dataclass's ``__init__`` goes through ``object.__setattr__`` per field; writing the slots
    directly gives an identical (equal, immutable) object. This is the hot path of batch schedule
    building; a test checks the two agree.
    """
    row: Installment = object.__new__(Installment)
    s0, s1, s2, s3, s4, s5, s6, s7, s8 = _INSTALLMENT_SETTERS
    s0(row, period)
    s1(row, start_date)
    s2(row, due_date)
    s3(row, days)
    s4(row, principal)
    s5(row, interest)
    s6(row, fee)
    s7(row, total)
    s8(row, remaining_principal)
    return row


class InstallmentLike(Protocol):
    """Anything shaped like an :class:`Installment` (the stored ``ScheduleRow`` is)."""

    @property
    def period(self) -> int: ...
    @property
    def start_date(self) -> date: ...
    @property
    def due_date(self) -> date: ...
    @property
    def days(self) -> int: ...
    @property
    def principal(self) -> Fen: ...
    @property
    def interest(self) -> Fen: ...
    @property
    def fee(self) -> Fen: ...
    @property
    def total(self) -> Fen: ...
    @property
    def remaining_principal(self) -> Fen: ...


def installment_to_json(row: InstallmentLike) -> dict[str, int | str]:
    """One installment as JSON: dates ISO, every amount integer fen (the quote and API shape)."""
    return {
        "period": row.period,
        "start_date": row.start_date.isoformat(),
        "due_date": row.due_date.isoformat(),
        "days": row.days,
        "principal": row.principal,
        "interest": row.interest,
        "fee": row.fee,
        "total": row.total,
        "remaining_principal": row.remaining_principal,
    }
