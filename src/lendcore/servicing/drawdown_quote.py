"""The drawdown quote (借款报价): what the customer sees before confirming, and what the contract is.

:func:`quote_drawdown` is pure: product, amount, term, method, purpose → the schedule, totals, APR by
IRR and the contract text. :func:`lendcore.servicing.draw.draw` recomputes exactly the same quote
from the same inputs, so the quote's numbers are the contract's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from lendcore.core.apr import apr as disclosed_apr
from lendcore.core.errors import BusinessRuleError, ValidationError
from lendcore.core.money import Fen, format_fen
from lendcore.core.rates import format_percent
from lendcore.core.schedule import Method, Schedule, build_schedule, installment_to_json
from lendcore.products.catalog import Product, default_catalog
from lendcore.servicing.common import check_amount

#: Declared purposes a consumption product accepts (PRODUCT.md §3).
CONSUMPTION_PURPOSES: Final = frozenset(
    {
        "shopping",
        "travel",
        "education",
        "medical",
        "home-improvement",
        "furniture",
        "electronics",
        "wedding",
        "rent",
        "daily-expenses",
    }
)
BUSINESS_PURPOSES: Final = frozenset({"working-capital", "inventory", "equipment", "business-rent"})
#: Purposes refused on every product, with a stable code (PURPOSE_NOT_ALLOWED).
REFUSED_PURPOSES: Final = frozenset(
    {"investment", "securities", "stocks", "house-purchase", "real-estate", "gambling", "crypto", "illegal"}
)
DEFAULT_PURPOSE: Final = "shopping"


def check_purpose(product: Product, purpose: str) -> str:
    p = purpose.strip().lower()
    if p in REFUSED_PURPOSES:
        raise BusinessRuleError(f"loans may not be used for {p}", code="PURPOSE_NOT_ALLOWED", purpose=p)
    allowed = BUSINESS_PURPOSES if product.purpose == "business" else CONSUMPTION_PURPOSES
    if p not in allowed:
        raise ValidationError(
            f"unknown purpose {purpose!r} for {product.code}; one of: {', '.join(sorted(allowed))}",
            code="INVALID_PURPOSE",
        )
    return p


@dataclass(frozen=True, slots=True)
class DrawdownQuote:
    """Everything the customer sees before confirming; the contract is built from the same values."""

    product_code: str
    amount: Fen
    term: int
    method: Method
    grade: str
    purpose: str
    start_date: date
    daily_rate: Decimal
    schedule: Schedule
    apr: Decimal

    @property
    def total_interest(self) -> Fen:
        return self.schedule.total_interest

    @property
    def total_fee(self) -> Fen:
        return self.schedule.total_fee

    @property
    def total_repayable(self) -> Fen:
        return self.schedule.total

    def contract_text(self, product: Product | None = None) -> str:
        """A plain summary of the contract's key terms (借款合同要素)."""
        p = product or default_catalog().get(self.product_code)
        first = self.schedule.installments[0]
        return (
            f"{p.name} ({p.name_en}) loan contract: principal {format_fen(self.amount)}, "
            f"{self.term} period(s), {self.method.value}, daily rate {format_percent(self.daily_rate, 4)} "
            f"(APR {format_percent(self.apr, 2)} by the IRR method), from {self.start_date.isoformat()}; "
            f"first payment {format_fen(first.total)} due {first.due_date.isoformat()}, maturity "
            f"{self.schedule.maturity_date.isoformat()}; total interest {format_fen(self.total_interest)}"
            + (f", fees {format_fen(self.total_fee)}" if self.total_fee else "")
            + f", total repayable {format_fen(self.total_repayable)}. Interest accrues by actual days "
            f"(算头不算尾). Overdue principal bears penalty interest at {p.penalty.multiplier}× the daily "
            f"rate, capped at {format_percent(p.cost_cap, 0)} a year, after {p.penalty.grace_days} grace "
            f"day(s). Early repayment any time"
            + (
                f", prepayment fee {format_percent(p.prepayment_fee_rate, 2)} of the principal prepaid."
                if p.prepayment_fee_rate > 0 and not p.revolving
                else ", no prepayment fee."
            )
            + f" Declared purpose: {self.purpose}."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "product_code": self.product_code,
            "amount": self.amount,
            "term": self.term,
            "method": self.method.value,
            "grade": self.grade,
            "purpose": self.purpose,
            "start_date": self.start_date.isoformat(),
            "daily_rate": str(self.daily_rate),
            "apr": str(self.apr),
            "total_interest": self.total_interest,
            "total_fee": self.total_fee,
            "total_repayable": self.total_repayable,
            "schedule": [installment_to_json(r) for r in self.schedule.installments],
        }


def quote_drawdown(
    product: Product | str,
    *,
    amount: Fen,
    term: int,
    grade: str,
    start: date,
    method: Method | str | None = None,
    purpose: str = DEFAULT_PURPOSE,
) -> DrawdownQuote:
    """The quote of a drawdown (pure). Refuses what the product does not offer (stable codes)."""
    p = default_catalog().get(product) if isinstance(product, str) else product
    check_amount(amount)
    chosen = Method(method) if isinstance(method, str) else method
    if isinstance(method, str) and method not in {m.value for m in Method}:  # pragma: no cover
        raise ValidationError(f"unknown method {method!r}", code="METHOD_NOT_ALLOWED")
    purpose = check_purpose(p, purpose)
    st = p.schedule_terms(amount=amount, term=term, start=start, grade=grade, method=chosen)
    schedule = build_schedule(st)
    return DrawdownQuote(
        product_code=p.code,
        amount=amount,
        term=term,
        method=st.method,
        grade=grade,
        purpose=purpose,
        start_date=start,
        daily_rate=p.daily_rate(term, grade),
        schedule=schedule,
        apr=disclosed_apr(schedule, p.disclosed_apr),
    )
