"""A contract's signed terms from the catalog product it is drawn on (the one place this mapping is
written)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from lendcore.core.contract import LoanTerms, PrepaymentFee, PrepaymentRecompute
from lendcore.core.rates import DayCountBasis
from lendcore.core.schedule import Installment, Method
from lendcore.products.catalog import Product


def terms_for_product(
    product: Product,
    *,
    contract_id: str,
    customer_id: str,
    schedule: Sequence[Installment],
    daily_rate: Decimal,
    method: Method,
) -> LoanTerms:
    """The signed terms of a drawdown on ``product``. The catalog caps the penalty rate alone
    (overdue principal bears penalty *instead of* contract interest), hence
    ``cap_includes_contract_rate=False``."""
    year_days = 360 if product.day_count is DayCountBasis.D360 else 365
    return LoanTerms(
        contract_id=contract_id,
        customer_id=customer_id,
        product_code=product.code,
        principal=sum(r.principal for r in schedule),
        daily_rate=daily_rate,
        method=method,
        schedule=tuple(schedule),
        interest_rule=product.interest_rule,
        penalty_multiplier=product.penalty.multiplier,
        penalty_on_interest=product.penalty.on_overdue_interest,
        grace_days=product.penalty.grace_days,
        # the catalog's rule: penalty is a multiple of the contract rate, or of the product's base
        # rate when the contract's is 0 (免息 plans)
        penalty_base_daily_rate=product.penalty.base_daily_rate if daily_rate == 0 else None,
        rate_cap_annual=product.cost_cap,
        cap_includes_contract_rate=False,
        year_days=year_days,
        waterfall=product.allocation_waterfall,
        prepayment_recompute=PrepaymentRecompute(product.prepayment_recompute.value),
        prepayment_fee=(
            PrepaymentFee.percent(product.prepayment_fee_rate)
            if product.prepayment_fee_rate > 0
            else PrepaymentFee.none()
        ),
        revolving=product.revolving,
        rounding=product.rounding,
        product_class=product.product_class,
        installment_multiple=product.installment_multiple,
    )
