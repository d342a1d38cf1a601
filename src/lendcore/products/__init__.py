"""Product catalog (TOML files in ``catalog/``), validated at load; see :mod:`lendcore.products.catalog`."""

from lendcore.products.catalog import (
    Catalog,
    DisbursementTarget,
    InstallmentPlan,
    Penalty,
    PrepaymentRecompute,
    PriceBand,
    Pricing,
    Product,
    default_catalog,
    load_catalog,
    parse_product,
    parse_product_toml,
)

__all__ = [
    "Catalog",
    "DisbursementTarget",
    "InstallmentPlan",
    "Penalty",
    "PrepaymentRecompute",
    "PriceBand",
    "Pricing",
    "Product",
    "default_catalog",
    "load_catalog",
    "parse_product",
    "parse_product_toml",
]
