"""Specification of the product catalog: shipped TOML files, validated at load, cap enforced."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from lendcore.core.apr import max_apr
from lendcore.core.errors import ConfigurationError, NotFoundError, ValidationError
from lendcore.core.schedule import LevelPayment, Method, build_schedule
from lendcore.products.catalog import (
    DisbursementTarget,
    PrepaymentRecompute,
    default_catalog,
    load_catalog,
    parse_product,
    parse_product_toml,
)


def shipped(code: str) -> dict[str, Any]:
    text = (
        resources.files("lendcore.products").joinpath("catalog", f"{code}.toml").read_text(encoding="utf-8")
    )
    return tomllib.loads(text)


def test_the_four_products_ship_and_load() -> None:
    catalog = default_catalog()
    assert set(catalog.codes) == {"quick", "premium", "smallbiz", "pos"}
    quick = catalog.get("quick")
    assert quick.revolving and quick.prepayment_fee_rate == 0
    assert quick.penalty.multiplier == Decimal("1.5") and not quick.penalty.on_overdue_interest
    assert quick.allocation_waterfall == "penalty-fee-interest-principal"
    assert catalog.get("pos").disbursement_target is DisbursementTarget.MERCHANT
    assert catalog.get("smallbiz").prepayment_recompute is PrepaymentRecompute.REDUCE_TERM
    assert Method.INTEREST_ONLY in catalog.get("smallbiz").methods


def test_default_pricing_by_tenor_from_product_md() -> None:
    quick = default_catalog().get("quick")
    assert [quick.daily_rate(t, "C") for t in (1, 3, 4, 6, 7, 12)] == [
        Decimal(x) for x in ("0.0003", "0.0003", "0.0004", "0.0004", "0.0005", "0.0005")
    ]


def test_grades_adjust_within_the_product_bounds() -> None:
    quick = default_catalog().get("quick")
    assert quick.daily_rate(12, "A") == Decimal("0.0004")
    assert quick.daily_rate(12, "E") == Decimal("0.0005")  # clamped to the maximum
    assert quick.daily_rate(1, "A") == Decimal("0.0002")
    with pytest.raises(ValidationError) as caught:
        quick.daily_rate(3, "Z")
    assert caught.value.code == "UNKNOWN_GRADE"


def test_pos_has_interest_free_and_priced_plans() -> None:
    pos = default_catalog().get("pos")
    three = pos.plan(3)
    assert three is not None and three.interest_free and three.merchant_subsidy_rate > 0
    twelve = pos.plan(12)
    assert twelve is not None and not twelve.interest_free
    terms = pos.schedule_terms(amount=300_000, term=12, start=date(2026, 1, 1), grade="A")
    assert terms.method is Method.FLAT_FEE and terms.fee_rate_per_period == twelve.fee_rate_per_period


def test_penalty_rate_is_capped_so_the_overdue_rate_stays_within_the_cap() -> None:
    quick = default_catalog().get("quick")
    assert quick.penalty_daily_rate(Decimal("0.0003")) == Decimal("0.00045")
    capped = quick.penalty_daily_rate(Decimal("0.0005"))  # 1.5 × would be 27.4 % a year
    assert capped < Decimal("0.00075") and capped * 365 <= quick.cost_cap


def test_every_shipped_combination_is_within_the_cap() -> None:
    for product in default_catalog():
        for term in product.terms:
            for grade in product.pricing.grades:
                for method in product.methods:
                    amount = product.min_amount
                    t = product.schedule_terms(
                        amount=amount, term=term, start=date(2026, 5, 31), grade=grade, method=method
                    )
                    assert max_apr(build_schedule(t)) <= product.cost_cap


def test_schedule_terms_refuses_what_the_product_does_not_offer() -> None:
    premium = default_catalog().get("premium")
    start = date(2026, 1, 1)
    for kwargs, code in [
        ({"amount": 500_000, "term": 5}, "TERM_NOT_ALLOWED"),
        ({"amount": 500_000, "term": 6, "method": Method.BULLET}, "METHOD_NOT_ALLOWED"),
        ({"amount": 100, "term": 6}, "AMOUNT_OUT_OF_RANGE"),
    ]:
        with pytest.raises(ValidationError) as caught:
            premium.schedule_terms(start=start, grade="A", **kwargs)  # type: ignore[arg-type]
        assert caught.value.code == code
    with pytest.raises(NotFoundError) as missing:
        default_catalog().get("nope")
    assert missing.value.code == "UNKNOWN_PRODUCT"


def test_a_product_priced_above_the_cap_is_refused_at_load() -> None:
    data = shipped("quick")
    data["pricing"]["max_daily_rate"] = "0.001"
    data["pricing"]["bands"][2]["daily_rate"] = "0.001"  # 36.5 % simple a year
    with pytest.raises(ConfigurationError) as caught:
        parse_product(data, "quick.toml")
    assert caught.value.code == "PRODUCT_APR_CAP_EXCEEDED"
    assert caught.value.details["term"] == 7


def test_a_lower_cap_refuses_the_shipped_price() -> None:
    data = shipped("premium")
    data["apr"]["cap"] = "0.15"
    with pytest.raises(ConfigurationError) as caught:
        parse_product(data, "premium.toml")
    assert caught.value.code == "PRODUCT_APR_CAP_EXCEEDED"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: d.pop("terms"), "PRODUCT_FIELD_MISSING"),
        (lambda d: d.__setitem__("terms", [1, 1]), "PRODUCT_FIELD_INVALID"),
        (lambda d: d.__setitem__("methods", ["annuity"]), "PRODUCT_FIELD_INVALID"),
        (lambda d: d.__setitem__("day_count", "364"), "PRODUCT_FIELD_INVALID"),
        (lambda d: d.__setitem__("min_amount", "1.234"), "PRODUCT_FIELD_INVALID"),
        (lambda d: d["pricing"].__setitem__("min_daily_rate", 0.0002), "PRODUCT_FIELD_INVALID"),  # float
        (lambda d: d["repayment"].__setitem__("prepayment_fee_rate", "0.01"), "PRODUCT_FIELD_INVALID"),
        (lambda d: d["repayment"].__setitem__("allocation_waterfall", "whatever"), "PRODUCT_FIELD_INVALID"),
        (lambda d: d.__setitem__("terms", [1, 2, 13]), "PRODUCT_PRICING_GAP"),
        (lambda d: d.__setitem__("level_payment", "average"), "PRODUCT_FIELD_INVALID"),
    ],
)
def test_invalid_product_files_are_refused_with_stable_codes(mutate: Any, code: str) -> None:
    data = shipped("quick")
    mutate(data)
    with pytest.raises(ConfigurationError) as caught:
        parse_product(data, "quick.toml")
    assert caught.value.code == code
    assert "quick.toml" in caught.value.message


def test_a_product_chooses_its_level_payment_and_its_schedules_use_it() -> None:
    assert default_catalog().get("quick").level_payment is LevelPayment.EXACT
    data = shipped("premium")
    data["level_payment"] = "thirty-day"
    premium = parse_product(data, "premium.toml")
    terms = premium.schedule_terms(amount=1_000_000, term=12, start=date(2026, 1, 15), grade="C")
    assert terms.level_payment is LevelPayment.THIRTY_DAY
    assert build_schedule(terms) == build_schedule(replace(terms, level_payment=LevelPayment.THIRTY_DAY))
    assert build_schedule(terms) != build_schedule(replace(terms, level_payment=LevelPayment.EXACT))


def test_a_level_payment_other_than_exact_needs_the_equal_installment_method() -> None:
    data = shipped("pos")  # flat-fee only
    data["level_payment"] = "thirty-day"
    with pytest.raises(ConfigurationError) as caught:
        parse_product(data, "pos.toml")
    assert caught.value.code == "PRODUCT_FIELD_INVALID"
    assert caught.value.details["field"] == "level_payment"


def test_pos_term_without_a_plan_is_a_pricing_gap() -> None:
    data = shipped("pos")
    data["plans"] = [p for p in data["plans"] if p["term"] != 24]
    with pytest.raises(ConfigurationError) as caught:
        parse_product(data, "pos.toml")
    assert caught.value.code == "PRODUCT_PRICING_GAP"


def test_bad_toml_and_duplicate_codes(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_product_toml("code = ", "broken.toml")
    assert caught.value.code == "PRODUCT_FILE_INVALID"
    source = (
        resources.files("lendcore.products").joinpath("catalog", "quick.toml").read_text(encoding="utf-8")
    )
    (tmp_path / "a.toml").write_text(source, encoding="utf-8")
    (tmp_path / "b.toml").write_text(source, encoding="utf-8")
    with pytest.raises(ConfigurationError) as dup:
        load_catalog(tmp_path)
    assert dup.value.code == "PRODUCT_DUPLICATE"


def test_hardship_limits_come_from_the_product_files() -> None:
    catalog = default_catalog()
    assert (
        catalog.get("premium").hardship.max_restructures,
        catalog.get("premium").hardship.max_extra_periods,
    ) == (
        2,
        6,
    )
    assert catalog.get("quick").hardship.max_extra_periods == 3
    assert catalog.get("pos").hardship.max_restructures == 0  # flat-fee plans are never re-planned
    data = shipped("premium")
    del data["hardship"]
    assert parse_product(data, "premium.toml").hardship.max_restructures == 0


@pytest.mark.parametrize(
    ("code", "hardship", "field"),
    [
        ("premium", {"max_restructures": -1, "max_extra_periods": 6}, "hardship.max_restructures"),
        ("premium", {"max_restructures": 13, "max_extra_periods": 6}, "hardship.max_restructures"),
        ("premium", {"max_restructures": 1, "max_extra_periods": 0}, "hardship.max_extra_periods"),
        ("premium", {"max_restructures": 1, "max_extra_periods": 61}, "hardship.max_extra_periods"),
        ("premium", {"max_restructures": True, "max_extra_periods": 6}, "hardship.max_restructures"),
        ("pos", {"max_restructures": 1, "max_extra_periods": 3}, "hardship.max_restructures"),
    ],
)
def test_invalid_hardship_limits_are_refused_at_load(code: str, hardship: dict[str, Any], field: str) -> None:
    data = shipped(code)
    data["hardship"] = hardship
    with pytest.raises(ConfigurationError) as caught:
        parse_product(data, f"{code}.toml")
    assert caught.value.code == "PRODUCT_FIELD_INVALID"
    assert caught.value.details["field"] == field
