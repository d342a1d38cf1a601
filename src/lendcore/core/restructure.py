"""Hardship restructures (展期 / 重新分期): re-plan what remains of a contract from a value date.

Two kinds (:class:`RestructureKind`), both over the contract's own rate and method:

- ``extension`` (展期) by ``k`` periods: the remaining installments keep their number, their due dates
  move ``k`` months out (a payment holiday of ``k`` months);
- ``re-amortisation`` (重新分期) over ``k`` more periods: the remaining principal is spread over the
  remaining installments plus ``k``, the first one due on the next due date.

The rules (:func:`plan_restructure`, pure; the fold's ``Restructure`` step and the offer shown to the
customer both call it, so the customer sees exactly what acceptance books):

- **Principal conserved to the fen**: every fen of principal still owed, overdue or not, is re-planned;
  the new rows' principal sums to it exactly (the last row absorbs rounding, as any schedule).
- **Arrears kept as due, never capitalised**: interest, penalty and fees of installments already due
  stay owed on those installments, as they are (the next payment meets them first, by the
  contract's waterfall); they bear no interest and no penalty from the restructure on, because the
  principal they were charged on has moved to the new plan. Interest accrued on the current period
  so far is carried into the first new installment (due on its due date). Nothing is posted: the
  receivables do not change, only when they fall due.
- The new plan is a :class:`~lendcore.core.schedule.Schedule` built from the value date by
  :func:`~lendcore.core.schedule.build_schedule`; its APR is :func:`~lendcore.core.apr.apr` of it
  (the interest the fold will accrue when every installment is paid on its due date).
- Product limits (:class:`HardshipLimits`, from the product file) are checked by
  :func:`check_limits` when a plan is proposed and accepted, not in the fold: a change of
  configuration never makes a booked history fail to replay.

Not supported (``RESTRUCTURE_NOT_SUPPORTED``): bullet and flat-fee contracts (a single row, or
scheduled fees that would have to be re-priced).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Final

from lendcore.core.accrual import accrue, forgive_within_grace
from lendcore.core.apr import AprMethod, apr
from lendcore.core.calendar import add_months
from lendcore.core.contract import InstallmentState, LoanState, Status
from lendcore.core.errors import BusinessRuleError, ValidationError
from lendcore.core.money import Fen
from lendcore.core.schedule import MAX_PERIODS, Method, Rate, Schedule, ScheduleTerms, build_schedule

#: Methods a restructure can re-plan (the new plan uses the contract's own method).
SUPPORTED_METHODS: Final = frozenset({Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL, Method.INTEREST_ONLY})


class RestructureKind(StrEnum):
    EXTENSION = "extension"  # 展期: due dates moved out by k periods
    REAMORTISATION = "re-amortisation"  # 重新分期: k more periods


@dataclass(frozen=True, slots=True)
class HardshipLimits:
    """A product's limits on hardship plans (``[hardship]`` in its TOML file)."""

    max_restructures: int = 0  # per contract; 0: the product offers none
    max_extra_periods: int = 0  # the k of either kind


#: A product without a ``[hardship]`` table offers no plans.
NO_HARDSHIP: Final = HardshipLimits()


@dataclass(frozen=True, slots=True)
class RestructurePlan:
    """What a restructure on ``on`` does to a contract: the new plan and the contract's rows after."""

    on: date
    kind: RestructureKind
    periods: int
    principal: Fen  # principal re-planned (all still owed)
    arrears: Fen  # interest, penalty and fees already due, kept as due
    carried_interest: Fen  # interest accrued on the current period, due with the first new row
    schedule: Schedule  # the new plan from ``on``, interest as if paid on every due date
    apr: Decimal  # APR of the new plan by ``apr_method``, display places
    rows: tuple[InstallmentState, ...]  # the contract's rows after the restructure
    apr_method: AprMethod = AprMethod.NOMINAL_IRR

    @property
    def total_interest(self) -> Fen:
        """Interest of the new plan, the carried interest included."""
        return self.schedule.total_interest + self.carried_interest

    @property
    def total_to_pay(self) -> Fen:
        """Everything the customer pays from ``on`` if each new installment is paid when due."""
        return self.arrears + self.carried_interest + self.schedule.total


def check_periods(periods: object) -> int:
    if isinstance(periods, bool) or not isinstance(periods, int) or not 1 <= periods <= MAX_PERIODS:
        raise ValidationError(
            f"a restructure moves or adds 1..{MAX_PERIODS} periods, got {periods!r}",
            code="INVALID_RESTRUCTURE_PERIODS",
        )
    return periods


def check_limits(state: LoanState, periods: int, limits: HardshipLimits) -> None:
    """The product's limits: ``HARDSHIP_NOT_OFFERED``, ``RESTRUCTURE_LIMIT_REACHED``,
    ``RESTRUCTURE_PERIODS_EXCEEDED``."""
    if limits.max_restructures <= 0:
        raise BusinessRuleError(
            f"product {state.terms.product_code} offers no hardship plans", code="HARDSHIP_NOT_OFFERED"
        )
    if state.restructures >= limits.max_restructures:
        raise BusinessRuleError(
            f"the contract has had {state.restructures} restructure(s), the most its product allows",
            code="RESTRUCTURE_LIMIT_REACHED",
            restructures=state.restructures,
            limit=limits.max_restructures,
        )
    if periods > limits.max_extra_periods:
        raise BusinessRuleError(
            f"{periods} extra period(s) is more than the {limits.max_extra_periods} the product allows",
            code="RESTRUCTURE_PERIODS_EXCEEDED",
            limit=limits.max_extra_periods,
        )


def _refuse(message: str) -> BusinessRuleError:
    return BusinessRuleError(message, code="RESTRUCTURE_NOT_SUPPORTED")


def _check_restructurable(state: LoanState, replaced: tuple[InstallmentState, ...]) -> Fen:
    if state.status is not Status.ACTIVE:
        raise BusinessRuleError(
            f"only an active contract can be restructured (it is {state.status.value})",
            code="CONTRACT_NOT_ACTIVE",
        )
    terms = state.terms
    if terms.method not in SUPPORTED_METHODS:
        raise _refuse(f"a {terms.method.value} contract cannot be restructured")
    if any(r.scheduled_fee and r.settled_on is None for r in replaced):
        raise _refuse("installments with scheduled fees cannot be re-planned")
    principal = state.principal_outstanding
    if principal == 0:
        raise BusinessRuleError("no principal is left to re-plan", code="NOTHING_TO_RESTRUCTURE")
    return principal


def _first_due(state: LoanState, on: date, replaced: tuple[InstallmentState, ...]) -> date:
    """The next due date after ``on`` on the contract's day of month (the first replaced row's)."""
    if replaced:
        return replaced[0].due_date
    anchor = state.terms.schedule[0].due_date.day
    last = state.rows[-1].due_date
    k = 1
    while (due := add_months(last, k, anchor_day=anchor)) <= on:
        k += 1
    return due


def _new_schedule(state: LoanState, on: date, principal: Fen, first_due: date, count: int) -> Schedule:
    terms = state.terms
    method = terms.method
    return build_schedule(
        ScheduleTerms(
            principal=principal,
            term=count,
            method=method,
            start_date=on,
            rate=Rate.daily(terms.daily_rate),
            rounding=terms.rounding,
            installment_multiple=1 if method is Method.INTEREST_ONLY else terms.installment_multiple,
            first_due_date=first_due,
        )
    )


def _merged(replaced: tuple[InstallmentState, ...]) -> InstallmentState | None:
    """The replaced rows' counters summed (what was accrued and paid on them moves to row one)."""
    if not replaced:
        return None
    head = replaced[0]
    total = replace(head, settled_on=None)
    for r in replaced[1:]:
        total = replace(
            total,
            principal_paid=total.principal_paid + r.principal_paid,
            interest_exact=total.interest_exact + r.interest_exact,
            interest_accrued=total.interest_accrued + r.interest_accrued,
            interest_paid=total.interest_paid + r.interest_paid,
            interest_waived=total.interest_waived + r.interest_waived,
            fee_charged=total.fee_charged + r.fee_charged,
            fee_paid=total.fee_paid + r.fee_paid,
            fee_waived=total.fee_waived + r.fee_waived,
            penalty_exact=total.penalty_exact + r.penalty_exact,
            penalty_accrued=total.penalty_accrued + r.penalty_accrued,
            penalty_paid=total.penalty_paid + r.penalty_paid,
            penalty_waived=total.penalty_waived + r.penalty_waived,
        )
    # what was booked carries, its sub-fen remainder does not: the first new row's interest is then
    # the booked carry plus its own period's interest rounded once, as the offered schedule has it
    return replace(
        total,
        interest_exact=Decimal(total.interest_accrued),
        penalty_exact=Decimal(total.penalty_accrued),
    )


def _rows_after(
    state: LoanState, kept: tuple[InstallmentState, ...], replaced: tuple[InstallmentState, ...],
    schedule: Schedule,
) -> tuple[InstallmentState, ...]:  # fmt: skip
    # kept rows (due on or before the value date) give their unpaid principal to the plan and keep
    # everything else they owe
    rows = [replace(r, principal=r.principal_paid) for r in kept]
    start = kept[-1].due_date if kept else state.terms.start_date
    period = kept[-1].period if kept else 0
    merged = _merged(replaced)
    for k, inst in enumerate(schedule.installments):
        period += 1
        if k == 0 and merged is not None:
            rows.append(
                replace(
                    merged,
                    period=period,
                    start_date=start,
                    due_date=inst.due_date,
                    principal=inst.principal + merged.principal_paid,
                    scheduled_fee=0,
                )
            )
        else:
            rows.append(
                InstallmentState(period, start if k == 0 else inst.start_date, inst.due_date, inst.principal)
            )
    return tuple(rows)


def plan_restructure(
    state: LoanState, on: date, kind: RestructureKind, periods: int,
    apr_method: AprMethod = AprMethod.NOMINAL_IRR,
) -> RestructurePlan:  # fmt: skip
    """The restructure of ``state`` on ``on`` (see the module docstring), its APR by ``apr_method``
    (the product's disclosed one). Pure; the state is first accrued to ``on`` (a no-op when it
    already is)."""
    check_periods(periods)
    kind = RestructureKind(kind)
    state, _ = accrue(state, on)
    split = next((i for i, r in enumerate(state.rows) if r.due_date > on), len(state.rows))
    kept, replaced = state.rows[:split], state.rows[split:]
    principal = _check_restructurable(state, replaced)
    first_due = _first_due(state, on, replaced)
    remaining = max(len(replaced), 1)
    if kind is RestructureKind.EXTENSION:
        anchor = state.terms.schedule[0].due_date.day
        first_due, count = add_months(first_due, periods, anchor_day=anchor), remaining
    else:
        count = (len(replaced) or 0) + periods
    schedule = _new_schedule(state, on, principal, first_due, count)
    rows = _rows_after(state, kept, replaced, schedule)
    arrears = sum(r.interest_outstanding + r.penalty_outstanding + r.fee_outstanding for r in kept)
    merged = _merged(replaced)
    carried = 0 if merged is None else merged.interest_outstanding
    shown = apr(schedule, apr_method)
    return RestructurePlan(on, kind, periods, principal, arrears, carried, schedule, shown, rows, apr_method)


def restructured_state(state: LoanState, on: date, kind: RestructureKind, periods: int) -> LoanState:
    """``state`` after the restructure: the plan's rows, one more restructure counted. The state
    must already be accrued to ``on`` (the fold's step accrues and posts first)."""
    plan = plan_restructure(state, on, kind, periods)
    after = replace(state, rows=plan.rows, restructures=state.restructures + 1)
    return forgive_within_grace(after, on)
