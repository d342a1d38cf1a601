"""Stored contract terms (``contracts.terms``): what is signed is what is read back."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import date
from importlib import resources

from lendcore.core.contract import LoanTerms
from lendcore.core.schedule import build_schedule
from lendcore.products.catalog import parse_product
from lendcore.servicing.codecs import terms_from_json, terms_to_json
from lendcore.servicing.terms import terms_for_product


def whole_yuan_terms() -> LoanTerms:
    """Terms of a ¥12,000 drawdown on premium set to whole-yuan installments."""
    catalog = resources.files("lendcore.products").joinpath("catalog")
    data = tomllib.loads(catalog.joinpath("premium.toml").read_text(encoding="utf-8"))
    data["installment_multiple"] = 100
    product = parse_product(data, "premium.toml")
    schedule_terms = product.schedule_terms(amount=1_200_000, term=12, start=date(2026, 1, 15), grade="C")
    return terms_for_product(
        product,
        contract_id="ln_1",
        customer_id="cus_1",
        schedule=build_schedule(schedule_terms).installments,
        daily_rate=schedule_terms.rate.value,
        method=schedule_terms.method,
    )


def test_signed_terms_carry_the_products_installment_multiple_and_round_trip() -> None:
    terms = whole_yuan_terms()
    assert terms.installment_multiple == 100
    document = terms_to_json(terms)
    assert document["installment_multiple"] == 100
    assert terms_from_json(document) == terms


def test_terms_stored_before_the_installment_multiple_existed_read_as_one_fen() -> None:
    document = terms_to_json(replace(whole_yuan_terms(), installment_multiple=1))
    del document["installment_multiple"]
    assert terms_from_json(document).installment_multiple == 1


def test_every_transaction_type_has_exactly_one_row_codec() -> None:
    """A new transaction type is added in the core's registry and gets one codec (nothing else)."""
    from lendcore.core.transactions import TRANSACTION_TYPES
    from lendcore.servicing.codecs import TXN_CODECS

    assert set(TXN_CODECS) == set(TRANSACTION_TYPES)
    assert len(set(TRANSACTION_TYPES.values())) == len(TRANSACTION_TYPES)  # names are unique
