"""The product catalog: TOML files shipped in ``lendcore/products/catalog/``, validated at load.

A :class:`Product` (:mod:`lendcore.products.model`) is plain frozen data that servicing, origination and
quotes read; nothing about a product is a constant in code. :mod:`lendcore.products.reader` reads one
file; this module loads the catalog. Loading refuses (with a :class:`ConfigurationError` and a stable code)
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
from importlib import resources
from pathlib import Path

from lendcore.core.errors import ConfigurationError
from lendcore.products.model import (
    CAP_CHECK_AMOUNT,
    CAP_CHECK_START,
    WATERFALLS,
    Catalog,
    DisbursementTarget,
    InstallmentPlan,
    Penalty,
    PrepaymentRecompute,
    PriceBand,
    Pricing,
    Product,
    check_product_cap,
)
from lendcore.products.reader import parse_product, parse_product_toml

# The model and the reader are re-exported: ``lendcore.products.catalog`` stays the one import path.
__all__ = [
    "CAP_CHECK_AMOUNT",
    "CAP_CHECK_START",
    "WATERFALLS",
    "Catalog",
    "DisbursementTarget",
    "InstallmentPlan",
    "Penalty",
    "PrepaymentRecompute",
    "PriceBand",
    "Pricing",
    "Product",
    "check_product_cap",
    "default_catalog",
    "load_catalog",
    "parse_product",
    "parse_product_toml",
]


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
