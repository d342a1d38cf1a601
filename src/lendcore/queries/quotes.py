"""A schedule quote as one JSON document (the CLI's ``quote --json`` and the API's quote): amounts in
integer fen, rates as decimal strings, the disclosed APR by IRR beside both variants."""

from __future__ import annotations

from typing import Any

from lendcore.core.apr import AprMethod, effective_apr, nominal_apr, round_apr
from lendcore.core.schedule import Schedule, ScheduleTerms, installment_to_json
from lendcore.products.catalog import Product


def quote_document(
    terms: ScheduleTerms, schedule: Schedule, apr_method: AprMethod, product: Product | None
) -> dict[str, Any]:
    """The JSON document of a quote: amounts in integer fen, rates as decimal strings."""
    nominal = nominal_apr(schedule)
    effective = effective_apr(schedule)
    disclosed = round_apr(nominal if apr_method is AprMethod.NOMINAL_IRR else effective)
    return {
        "product": product.code if product else None,
        "method": terms.method.value,
        "term": terms.term,
        "principal": terms.principal,
        "rate": {"value": str(terms.rate.value), "unit": terms.rate.unit.value},
        "interest_rule": terms.interest_rule.value,
        "day_count": terms.day_count.value,
        "rounding": terms.rounding.value,
        "installment_multiple": terms.installment_multiple,
        "level_payment": terms.level_payment.value,
        "fee_rate_per_period": str(terms.fee_rate_per_period),
        "installments": [installment_to_json(i) for i in schedule.installments],
        "total_principal": schedule.total_principal,
        "total_interest": schedule.total_interest,
        "total_fee": schedule.total_fee,
        "total": schedule.total,
        "apr": str(disclosed),
        "apr_method": apr_method.value,
        "apr_nominal_irr": str(round_apr(nominal)),
        "apr_effective_xirr": str(round_apr(effective)),
    }
