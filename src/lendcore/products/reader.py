"""Reading a product from its TOML data: typed field access with the file and field path in every error,
then the cross-field rules (pricing covers every term, plans cover every POS term, …) and the cap check.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from lendcore.core.apr import AprMethod
from lendcore.core.calendar import BusinessDayRule
from lendcore.core.contract import ProductClass
from lendcore.core.errors import ConfigurationError, ValidationError
from lendcore.core.money import Fen, Rounding, parse_amount
from lendcore.core.rates import DayCountBasis
from lendcore.core.restructure import SUPPORTED_METHODS, HardshipLimits
from lendcore.core.schedule import InterestRule, LevelPayment, Method
from lendcore.products.model import (
    WATERFALLS,
    DisbursementTarget,
    InstallmentPlan,
    Penalty,
    PrepaymentRecompute,
    PriceBand,
    Pricing,
    Product,
    check_product_cap,
)


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
    """Validate one product's data (as parsed from TOML) and check its pricing against its cap.

    Fields are read in the file's order of concepts (terms and methods, amounts, pricing, penalty,
    repayment, APR, plans), so the first bad field is the one reported.
    """
    r = _Reader(data, source)
    terms = _terms(r)
    methods, default_method = _methods(r)
    min_amount = r.amount("min_amount")
    max_amount = r.amount("max_amount")
    if min_amount > max_amount:
        raise r.invalid("max_amount", "must not be below min_amount")
    pricing = _pricing(r.table("pricing"), terms)
    penalty = _penalty(r.table("penalty"))
    rep = r.table("repayment")
    waterfall = rep.str_("allocation_waterfall", "penalty-fee-interest-principal")
    if waterfall not in WATERFALLS:
        raise rep.invalid("allocation_waterfall", f"must be one of {', '.join(sorted(WATERFALLS))}")
    revolving = r.bool_("revolving")
    prepayment_fee_rate = _prepayment_fee_rate(rep, revolving)
    apr_table = r.table("apr", {})
    cost_cap = apr_table.decimal("cap", "0.24")
    if not 0 < cost_cap < 1:
        raise apr_table.invalid("cap", "must be a fraction between 0 and 1")
    plans = _plans(r, terms, methods)
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
        terms=tuple(sorted(terms)),
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
        hardship=_hardship(r.table("hardship", {}), methods),
    )
    check_product_cap(product)
    return product


def _terms(r: _Reader) -> list[int]:
    terms_raw = r.raw("terms")
    if (
        not isinstance(terms_raw, list)
        or not terms_raw
        or not all(isinstance(t, int) and not isinstance(t, bool) and 1 <= t <= 360 for t in terms_raw)
        or len(set(terms_raw)) != len(terms_raw)
    ):
        raise r.invalid("terms", "must be a non-empty list of distinct month counts 1..360")
    return terms_raw


def _methods(r: _Reader) -> tuple[tuple[Method, ...], Method]:
    """The product's methods and its default one (the first listed unless ``default_method`` says)."""
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
    return methods, default_method


def _pricing(p: _Reader, terms: list[int]) -> Pricing:
    """The pricing table; every allowed term must fall in a band (``PRODUCT_PRICING_GAP``)."""
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
    for term in terms:
        if not any(b.min_term <= term <= b.max_term for b in bands):
            raise _pricing_gap(p.source, f"no pricing band covers the {term}-month term", term)
    return pricing


def _pricing_gap(source: str, what: str, term: int) -> ConfigurationError:
    return ConfigurationError(f"{source}: {what}", code="PRODUCT_PRICING_GAP", source=source, term=term)


def _penalty(pen: _Reader) -> Penalty:
    return Penalty(
        multiplier=pen.decimal("multiplier", "1.5"),
        on_overdue_interest=pen.bool_("on_overdue_interest", False),
        grace_days=pen.int_("grace_days", 0),
        base_daily_rate=pen.decimal("base_daily_rate", "0.0005"),
    )


def _hardship(h: _Reader, methods: tuple[Method, ...]) -> HardshipLimits:
    """``[hardship]``: ``max_restructures`` per contract (0: none offered) and ``max_extra_periods``
    (the k of an extension or a re-amortisation, 1..60 when plans are offered)."""
    limits = HardshipLimits(h.int_("max_restructures", 0), h.int_("max_extra_periods", 0))
    if limits.max_restructures > 12:
        raise h.invalid("max_restructures", "must be at most 12")
    if limits.max_restructures and not 1 <= limits.max_extra_periods <= 60:
        raise h.invalid("max_extra_periods", "must be 1..60 when hardship plans are offered")
    if limits.max_restructures and not any(m in SUPPORTED_METHODS for m in methods):
        raise h.invalid(
            "max_restructures",
            f"must be 0: none of the product's methods can be restructured "
            f"({', '.join(sorted(m.value for m in SUPPORTED_METHODS))} can)",
        )
    return limits


def _prepayment_fee_rate(rep: _Reader, revolving: bool) -> Decimal:
    prepayment_fee_rate = rep.decimal("prepayment_fee_rate", "0")
    if revolving and prepayment_fee_rate != 0:
        raise rep.invalid(
            "prepayment_fee_rate", "must be 0 on a revolving product (随借随还: no prepayment fee)"
        )
    if prepayment_fee_rate >= 1:
        raise rep.invalid("prepayment_fee_rate", "must be a fraction below 1")
    return prepayment_fee_rate


def _plans(r: _Reader, terms: list[int], methods: tuple[Method, ...]) -> tuple[InstallmentPlan, ...]:
    """POS installment plans; a flat-fee product needs one for every allowed term."""
    plans = tuple(
        InstallmentPlan(
            term=plan.int_("term", minimum=1),
            fee_rate_per_period=plan.decimal("fee_rate_per_period"),
            merchant_subsidy_rate=plan.decimal("merchant_subsidy_rate", "0"),
        )
        for plan in r.tables("plans")
    )
    if Method.FLAT_FEE in methods:
        for term in terms:
            if not any(plan.term == term for plan in plans):
                raise _pricing_gap(r.source, f"no installment plan for the {term}-month term", term)
    return plans


def parse_product_toml(text: str, source: str = "<product>") -> Product:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(
            f"{source}: not valid TOML: {error}", code="PRODUCT_FILE_INVALID", source=source
        ) from None
    return parse_product(data, source)
