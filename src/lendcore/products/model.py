"""The product model: plain frozen data that servicing, origination and quotes read.

Nothing about a product is a constant in code: :mod:`lendcore.products.reader` builds these from the
TOML files of the catalog (:mod:`lendcore.products.catalog`), and :func:`check_product_cap` refuses a
product priced above its comprehensive-cost cap anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Final

from lendcore.core.allocation import WATERFALLS as CORE_WATERFALLS
from lendcore.core.apr import AprMethod, max_apr
from lendcore.core.calendar import BusinessDayRule
from lendcore.core.contract import ProductClass
from lendcore.core.errors import ConfigurationError, NotFoundError, ValidationError
from lendcore.core.money import Fen, Rounding, format_fen
from lendcore.core.rates import DayCountBasis
from lendcore.core.restructure import NO_HARDSHIP, HardshipLimits
from lendcore.core.schedule import (
    InterestRule,
    LevelPayment,
    Method,
    Rate,
    ScheduleTerms,
    build_schedule,
)

#: Fixed, arbitrary start date of the representative schedules of the load-time cap check.
CAP_CHECK_START: Final = date(2026, 1, 1)
CAP_CHECK_AMOUNT: Final = 1_000_000  # 10,000 yuan


class DisbursementTarget(StrEnum):
    CUSTOMER_CARD = "customer-card"  # the customer's bound bank card
    MERCHANT = "merchant"  # POS: the merchant is paid, never the customer


class PrepaymentRecompute(StrEnum):
    """What a partial prepayment changes in the rest of the schedule."""

    REDUCE_INSTALLMENT = "reduce-installment"  # same dates, smaller installments
    REDUCE_TERM = "reduce-term"  # same installment, fewer periods


#: Allocation waterfalls: exactly the ones servicing knows (one list, in the core).
WATERFALLS: Final = frozenset(CORE_WATERFALLS)


@dataclass(frozen=True, slots=True)
class PriceBand:
    """Daily rate for terms ``min_term..max_term`` (months, inclusive) before the grade adjustment."""

    min_term: int
    max_term: int
    daily_rate: Decimal


@dataclass(frozen=True, slots=True)
class Pricing:
    """Pricing table by tenor and risk grade. Rates are exact daily rates (日利率)."""

    bands: tuple[PriceBand, ...]
    grade_adjustments: tuple[tuple[str, Decimal], ...]  # grade → added to the band's daily rate
    min_daily_rate: Decimal
    max_daily_rate: Decimal

    @property
    def grades(self) -> tuple[str, ...]:
        return tuple(g for g, _ in self.grade_adjustments)

    def daily_rate(self, term: int, grade: str) -> Decimal:
        """Daily rate for a term and grade: band rate + grade adjustment, clamped to [min, max]."""
        adjustment = dict(self.grade_adjustments).get(grade)
        if adjustment is None:
            raise ValidationError(
                f"unknown risk grade {grade!r}; grades: {', '.join(self.grades)}", code="UNKNOWN_GRADE"
            )
        for band in self.bands:
            if band.min_term <= term <= band.max_term:
                return min(self.max_daily_rate, max(self.min_daily_rate, band.daily_rate + adjustment))
        raise ValidationError(f"no price for a {term}-month term", code="TERM_NOT_ALLOWED")


@dataclass(frozen=True, slots=True)
class Penalty:
    """Penalty interest (罚息) on overdue principal."""

    multiplier: Decimal  # × the contract daily rate (1.5 by default)
    on_overdue_interest: bool  # also charge penalty on overdue interest (复利); off unless lawful
    grace_days: int  # days after the due date without penalty if paid within them (宽限期)
    base_daily_rate: Decimal  # base for contracts whose own rate is 0 (interest-free plans)


@dataclass(frozen=True, slots=True)
class InstallmentPlan:
    """A POS installment plan (小米分期): fee per period, and the merchant's subsidy if interest-free."""

    term: int
    fee_rate_per_period: Decimal  # fraction of the amount financed, every period
    merchant_subsidy_rate: Decimal  # fraction of the amount the merchant pays (免息 plans)

    @property
    def interest_free(self) -> bool:
        return self.fee_rate_per_period == 0


@dataclass(frozen=True, slots=True)
class Product:
    """One product of the catalog. Amounts in fen, rates as ``Decimal`` fractions."""

    code: str  # stable identifier, e.g. "quick"
    name: str  # Chinese display name
    name_en: str
    revolving: bool  # a credit line drawn many times (随借随还)
    product_class: ProductClass  # cash loan or purchase installment: the order repayments meet them
    purpose: str  # "consumption" | "business"
    disbursement_target: DisbursementTarget
    min_amount: Fen
    max_amount: Fen
    terms: tuple[int, ...]  # allowed numbers of monthly periods
    methods: tuple[Method, ...]
    default_method: Method
    interest_rule: InterestRule
    day_count: DayCountBasis
    rounding: Rounding
    installment_multiple: Fen
    pricing: Pricing
    penalty: Penalty
    allocation_waterfall: str  # e.g. "penalty-fee-interest-principal"
    prepayment_fee_rate: Decimal  # fraction of the principal prepaid; 0 on quick loans
    prepayment_recompute: PrepaymentRecompute
    write_off_dpd: int  # days past due at which a contract is written off (核销)
    disclosed_apr: AprMethod
    cost_cap: Decimal  # comprehensive-cost cap, APR fraction (0.24)
    plans: tuple[InstallmentPlan, ...] = ()  # POS plans, one per term
    business_day_rule: BusinessDayRule = BusinessDayRule.NONE
    #: How the equal installment (等额本息) is solved: ``exact`` over the actual period rates, or
    #: ``thirty-day`` (Apache Fineract's level) / ``nominal`` at one periodic rate.
    level_payment: LevelPayment = LevelPayment.EXACT
    #: Hardship plans (``[hardship]``): restructures per contract and extra periods; none by default.
    hardship: HardshipLimits = NO_HARDSHIP

    def daily_rate(self, term: int, grade: str) -> Decimal:
        return self.pricing.daily_rate(term, grade)

    def plan(self, term: int) -> InstallmentPlan | None:
        for plan in self.plans:
            if plan.term == term:
                return plan
        return None

    def penalty_daily_rate(self, contract_daily_rate: Decimal) -> Decimal:
        """Penalty daily rate: multiplier × contract rate (or the base rate for a 0% contract), capped
        so that the overdue all-in rate stays within the cost cap (cap ÷ 365 a day)."""
        base = contract_daily_rate if contract_daily_rate > 0 else self.penalty.base_daily_rate
        ceiling = (self.cost_cap / 365).quantize(Decimal("1e-8"), rounding=ROUND_FLOOR)
        return min(base * self.penalty.multiplier, ceiling)

    def schedule_terms(
        self,
        *,
        amount: Fen,
        term: int,
        start: date,
        grade: str,
        method: Method | None = None,
        first_due_date: date | None = None,
    ) -> ScheduleTerms:
        """The :class:`ScheduleTerms` of a drawdown on this product, after checking it is allowed."""
        chosen = method or self.default_method
        if chosen not in self.methods:
            offered = ", ".join(m.value for m in self.methods)
            raise ValidationError(
                f"{self.code} does not offer {chosen.value}; methods: {offered}",
                code="METHOD_NOT_ALLOWED",
            )
        if term not in self.terms:
            raise ValidationError(
                f"{self.code} does not offer a {term}-month term; terms: {', '.join(map(str, self.terms))}",
                code="TERM_NOT_ALLOWED",
            )
        if not self.min_amount <= amount <= self.max_amount:
            raise ValidationError(
                f"{self.code} lends {format_fen(self.min_amount)} to {format_fen(self.max_amount)}, "
                f"not {format_fen(amount)}",
                code="AMOUNT_OUT_OF_RANGE",
            )
        daily = self.daily_rate(term, grade)
        plan = self.plan(term)
        fee_rate = (
            plan.fee_rate_per_period if (plan is not None and chosen is Method.FLAT_FEE) else Decimal(0)
        )
        return ScheduleTerms(
            principal=amount,
            term=term,
            method=chosen,
            start_date=start,
            rate=Rate.daily(daily),
            interest_rule=self.interest_rule,
            day_count=self.day_count,
            rounding=self.rounding,
            installment_multiple=self.installment_multiple,
            first_due_date=first_due_date,
            fee_rate_per_period=fee_rate,
            level_payment=self.level_payment,
            business_day_rule=self.business_day_rule,
        )


@dataclass(frozen=True, slots=True)
class Catalog:
    products: tuple[Product, ...]

    def get(self, code: str) -> Product:
        for product in self.products:
            if product.code == code:
                return product
        raise NotFoundError(
            f"no product {code!r}; products: {', '.join(self.codes)}", code="UNKNOWN_PRODUCT", product=code
        )

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.products)

    def __iter__(self) -> Iterator[Product]:
        return iter(self.products)

    def __len__(self) -> int:
        return len(self.products)


def check_product_cap(product: Product) -> None:
    """Refuse (``PRODUCT_APR_CAP_EXCEEDED``) a product whose price breaks its cost cap anywhere."""
    amount = min(max(CAP_CHECK_AMOUNT, product.min_amount), product.max_amount)
    for term in product.terms:
        for grade in product.pricing.grades:
            for method in product.methods:
                terms = product.schedule_terms(
                    amount=amount, term=term, start=CAP_CHECK_START, grade=grade, method=method
                )
                value = max_apr(build_schedule(terms))
                if value > product.cost_cap:
                    raise ConfigurationError(
                        f"product {product.code}: {term} months, grade {grade}, {method.value} has an APR of "
                        f"{(value * 100).quantize(Decimal('0.01'))}%, above the cap of "
                        f"{(product.cost_cap * 100).quantize(Decimal('0.01'))}%",
                        code="PRODUCT_APR_CAP_EXCEEDED",
                        product=product.code,
                        term=term,
                        grade=grade,
                        method=method.value,
                        apr=str(value),
                    )
