"""The product catalog: TOML files shipped in ``lendcore/products/catalog/``, validated at load.

A :class:`Product` is plain frozen data that servicing, origination and quotes read; nothing about a
product is a constant in code. Loading refuses (with a :class:`ConfigurationError` and a stable code)
any file that is malformed, incomplete or priced above its comprehensive-cost cap:

=============================  ====================================================================
``PRODUCT_FILE_INVALID``       not readable TOML
``PRODUCT_FIELD_MISSING``      a required field is absent
``PRODUCT_FIELD_INVALID``      a field has the wrong type or an out-of-range value
``PRODUCT_PRICING_GAP``        an allowed term has no pricing band (or a POS term has no plan)
``PRODUCT_APR_CAP_EXCEEDED``   some term × grade × method (× plan) has an APR above the cap
``PRODUCT_DUPLICATE``          two files define the same product code
=============================  ====================================================================

The cap check builds a representative schedule (10,000 yuan, or the nearest allowed amount, from
2026-01-01) for every allowed term, risk grade and method (and each POS plan) and compares the higher
of the two APR variants (:func:`lendcore.core.apr.max_apr`) with the cap.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Final

from lendcore.core.allocation import WATERFALLS as CORE_WATERFALLS
from lendcore.core.apr import AprMethod, max_apr
from lendcore.core.calendar import BusinessDayRule
from lendcore.core.contract import ProductClass
from lendcore.core.errors import ConfigurationError, NotFoundError, ValidationError
from lendcore.core.money import Fen, Rounding, format_fen, parse_amount
from lendcore.core.rates import DayCountBasis
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


# --- parsing ------------------------------------------------------------------------------------


class _Reader:
    """Typed access to one TOML table, raising ConfigurationError with the file and field path."""

    def __init__(self, data: Mapping[str, Any], source: str, prefix: str = "") -> None:
        self.data = data
        self.source = source
        self.prefix = prefix

    def _name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def invalid(self, key: str, why: str) -> ConfigurationError:
        return ConfigurationError(
            f"{self.source}: field {self._name(key)!r} {why}",
            code="PRODUCT_FIELD_INVALID",
            source=self.source,
            field=self._name(key),
        )

    def raw(self, key: str, default: Any = ...) -> Any:
        if key not in self.data:
            if default is not ...:
                return default
            raise ConfigurationError(
                f"{self.source}: missing field {self._name(key)!r}",
                code="PRODUCT_FIELD_MISSING",
                source=self.source,
                field=self._name(key),
            )
        return self.data[key]

    def str_(self, key: str, default: Any = ...) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.invalid(key, "must be non-empty text")
        return value

    def bool_(self, key: str, default: Any = ...) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.invalid(key, "must be true or false")
        return value

    def int_(self, key: str, default: Any = ..., minimum: int = 0) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.invalid(key, f"must be an integer ≥ {minimum}")
        return value

    def decimal(self, key: str, default: Any = ..., *, minimum: Decimal = Decimal(0)) -> Decimal:
        value = self.raw(key, default)
        if isinstance(value, Decimal):
            return value
        if not isinstance(value, str):  # floats are refused: rates are written as text, exactly
            raise self.invalid(key, 'must be a decimal written as text, e.g. "0.0005"')
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise self.invalid(key, f"is not a number: {value!r}") from None
        if not number.is_finite() or number < minimum:
            raise self.invalid(key, f"must be a number ≥ {minimum}")
        return number

    def amount(self, key: str) -> Fen:
        value = self.str_(key)
        try:
            return parse_amount(value, allow_zero=False)
        except ValidationError as error:
            raise self.invalid(key, f"is not a positive amount of yuan: {error.message}") from None

    def enum(self, key: str, kind: type[StrEnum], default: Any = ...) -> Any:
        value = self.raw(key, default)
        if isinstance(value, kind):
            return value
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in kind)
            raise self.invalid(key, f"must be one of {allowed}, got {value!r}") from None

    def table(self, key: str, default: Any = ...) -> _Reader:
        value = self.raw(key, default)
        if not isinstance(value, Mapping):
            raise self.invalid(key, "must be a table")
        return _Reader(value, self.source, f"{self._name(key)}.")

    def tables(self, key: str) -> list[_Reader]:
        value = self.raw(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.invalid(key, "must be an array of tables")
        return [_Reader(v, self.source, f"{self._name(key)}[{i}].") for i, v in enumerate(value)]


def parse_product(data: Mapping[str, Any], source: str = "<product>") -> Product:
    """Validate one product's data (as parsed from TOML) and check its pricing against its cap."""
    r = _Reader(data, source)
    terms_raw = r.raw("terms")
    if (
        not isinstance(terms_raw, list)
        or not terms_raw
        or not all(isinstance(t, int) and not isinstance(t, bool) and 1 <= t <= 360 for t in terms_raw)
        or len(set(terms_raw)) != len(terms_raw)
    ):
        raise r.invalid("terms", "must be a non-empty list of distinct month counts 1..360")
    methods_raw = r.raw("methods")
    if not isinstance(methods_raw, list) or not methods_raw:
        raise r.invalid("methods", "must be a non-empty list of method names")
    try:
        methods = tuple(Method(m) for m in methods_raw)
    except ValueError:
        raise r.invalid("methods", f"must name methods among {', '.join(m.value for m in Method)}") from None
    default_method: Method = r.enum("default_method", Method, methods[0].value)
    if default_method not in methods:
        raise r.invalid("default_method", "must be one of the product's methods")

    min_amount = r.amount("min_amount")
    max_amount = r.amount("max_amount")
    if min_amount > max_amount:
        raise r.invalid("max_amount", "must not be below min_amount")

    p = r.table("pricing")
    bands: list[PriceBand] = []
    for band in p.tables("bands"):
        lo = band.int_("min_term", minimum=1)
        hi = band.int_("max_term", minimum=lo)
        bands.append(PriceBand(lo, hi, band.decimal("daily_rate")))
    if not bands:
        raise p.invalid("bands", "must list at least one pricing band")
    grades_table = p.table("grades")
    adjustments = tuple(
        (str(grade), grades_table.decimal(grade, minimum=Decimal(-1))) for grade in grades_table.data
    )
    if not adjustments:
        raise p.invalid("grades", "must list at least one risk grade")
    pricing = Pricing(
        bands=tuple(bands),
        grade_adjustments=adjustments,
        min_daily_rate=p.decimal("min_daily_rate"),
        max_daily_rate=p.decimal("max_daily_rate"),
    )
    if pricing.min_daily_rate > pricing.max_daily_rate:
        raise p.invalid("max_daily_rate", "must not be below min_daily_rate")
    for term in terms_raw:
        if not any(b.min_term <= term <= b.max_term for b in bands):
            raise ConfigurationError(
                f"{source}: no pricing band covers the {term}-month term",
                code="PRODUCT_PRICING_GAP",
                source=source,
                term=term,
            )

    pen = r.table("penalty")
    penalty = Penalty(
        multiplier=pen.decimal("multiplier", "1.5"),
        on_overdue_interest=pen.bool_("on_overdue_interest", False),
        grace_days=pen.int_("grace_days", 0),
        base_daily_rate=pen.decimal("base_daily_rate", "0.0005"),
    )
    rep = r.table("repayment")
    waterfall = rep.str_("allocation_waterfall", "penalty-fee-interest-principal")
    if waterfall not in WATERFALLS:
        raise rep.invalid("allocation_waterfall", f"must be one of {', '.join(sorted(WATERFALLS))}")
    revolving = r.bool_("revolving")
    prepayment_fee_rate = rep.decimal("prepayment_fee_rate", "0")
    if revolving and prepayment_fee_rate != 0:
        raise rep.invalid(
            "prepayment_fee_rate", "must be 0 on a revolving product (随借随还: no prepayment fee)"
        )
    if prepayment_fee_rate >= 1:
        raise rep.invalid("prepayment_fee_rate", "must be a fraction below 1")
    apr_table = r.table("apr", {})
    cost_cap = apr_table.decimal("cap", "0.24")
    if not 0 < cost_cap < 1:
        raise apr_table.invalid("cap", "must be a fraction between 0 and 1")

    plans = tuple(
        InstallmentPlan(
            term=plan.int_("term", minimum=1),
            fee_rate_per_period=plan.decimal("fee_rate_per_period"),
            merchant_subsidy_rate=plan.decimal("merchant_subsidy_rate", "0"),
        )
        for plan in r.tables("plans")
    )
    if Method.FLAT_FEE in methods:
        for term in terms_raw:
            if not any(plan.term == term for plan in plans):
                raise ConfigurationError(
                    f"{source}: no installment plan for the {term}-month term",
                    code="PRODUCT_PRICING_GAP",
                    source=source,
                    term=term,
                )

    level_payment: LevelPayment = r.enum("level_payment", LevelPayment, LevelPayment.EXACT.value)
    if level_payment is not LevelPayment.EXACT and Method.EQUAL_INSTALLMENT not in methods:
        raise r.invalid(
            "level_payment", "applies to equal-installment only, which the product does not offer"
        )

    product = Product(
        code=r.str_("code"),
        name=r.str_("name"),
        name_en=r.str_("name_en"),
        revolving=revolving,
        product_class=r.enum("class", ProductClass),
        purpose=r.str_("purpose"),
        disbursement_target=r.enum("disbursement_target", DisbursementTarget),
        min_amount=min_amount,
        max_amount=max_amount,
        terms=tuple(sorted(terms_raw)),
        methods=methods,
        default_method=default_method,
        interest_rule=r.enum("interest_rule", InterestRule),
        day_count=r.enum("day_count", DayCountBasis),
        rounding=r.enum("rounding", Rounding, "half-up"),
        installment_multiple=r.int_("installment_multiple", 1, minimum=1),
        pricing=pricing,
        penalty=penalty,
        allocation_waterfall=waterfall,
        prepayment_fee_rate=prepayment_fee_rate,
        prepayment_recompute=rep.enum("prepayment_recompute", PrepaymentRecompute, "reduce-installment"),
        write_off_dpd=r.int_("write_off_dpd", minimum=1),
        disclosed_apr=apr_table.enum("disclosed", AprMethod, "nominal-irr"),
        cost_cap=cost_cap,
        plans=plans,
        business_day_rule=r.enum("business_day_rule", BusinessDayRule, "none"),
        level_payment=level_payment,
    )
    check_product_cap(product)
    return product


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


def parse_product_toml(text: str, source: str = "<product>") -> Product:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(
            f"{source}: not valid TOML: {error}", code="PRODUCT_FILE_INVALID", source=source
        ) from None
    return parse_product(data, source)


def load_catalog(directory: Path | None = None) -> Catalog:
    """Load and validate every ``*.toml`` product file of ``directory`` (default: the shipped catalog)."""
    if directory is None:
        files = sorted(
            (
                f
                for f in resources.files("lendcore.products").joinpath("catalog").iterdir()
                if f.name.endswith(".toml")
            ),
            key=lambda f: f.name,
        )
        sources = [(f.name, f.read_text(encoding="utf-8")) for f in files]
    else:
        sources = [(p.name, p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.toml"))]
    products: list[Product] = []
    for name, text in sources:
        product = parse_product_toml(text, name)
        if any(p.code == product.code for p in products):
            raise ConfigurationError(
                f"{name}: product code {product.code!r} is defined twice",
                code="PRODUCT_DUPLICATE",
                source=name,
            )
        products.append(product)
    return Catalog(tuple(products))


@functools.lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The shipped catalog, loaded and validated once per process."""
    return load_catalog()
