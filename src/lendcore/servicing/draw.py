"""Drawdown (借款): a quote, then a confirmation that creates and disburses the contract.

:func:`quote_drawdown` is pure: product, amount, term, method, purpose → the schedule, totals, APR and
the contract text. :func:`draw` recomputes exactly the same quote (same inputs, same numbers: the
quote's numbers are the contract's) and, in the caller's unit of work:

1. locks the credit line (``SELECT … FOR UPDATE``), checks it is active and that the amount fits the
   available limit (limit − outstanding principal − pending drawdowns);
2. checks the declared purpose (consumption only; investment, securities, house purchase … refused);
3. asks origination's drawdown check (``check_drawdown``) whether this drawdown may proceed; a decline
   is *returned* (``status: "declined"``, reason codes, retry date), not raised, so that the decline
   record behind the cooldown is committed;
4. creates the contract (pending) and its schedule, and the outbound payment (to the bound card, or to
   the merchant for POS), created → processing → succeeded via the channel;
5. books the :class:`~lendcore.core.loan.Disbursement` and its journal entry; the contract is active.

If the channel declines, the contract is cancelled (nothing booked, no principal, the limit is not
used), the payment is failed, and the response says so (``status: "failed"``); a new request with a new
key may retry. Idempotent by key (scope ``draw``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.apr import apr as disclosed_apr
from lendcore.core.errors import BusinessRuleError, NotFoundError, ValidationError
from lendcore.core.loan import Disbursement
from lendcore.core.money import Fen, format_fen
from lendcore.core.rates import format_percent
from lendcore.core.schedule import Method, Schedule, build_schedule, installment_to_json
from lendcore.origination.drawdown_check import check_drawdown
from lendcore.payments.channel import PaymentChannel
from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.products.catalog import DisbursementTarget, Product, default_catalog
from lendcore.risk.decision import DrawdownConfig
from lendcore.servicing.booking import post_transaction
from lendcore.servicing.common import check_amount, check_not_before, run_payment, scoped_key
from lendcore.servicing.lines import line_available
from lendcore.servicing.repository import CANCELLED, new_contract_row, write_schedule
from lendcore.servicing.terms import terms_for_product
from lendcore.store.engine import for_update
from lendcore.store.idempotency import fingerprint, run_idempotent
from lendcore.store.ids import new_id
from lendcore.store.models import BankCard, CreditLine

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


def _default_card(session: Session, customer_id: str) -> BankCard | None:
    return session.scalars(
        select(BankCard).where(
            BankCard.customer_id == customer_id, BankCard.status == "active", BankCard.is_default.is_(True)
        )
    ).first()


def draw(
    session: Session,
    *,
    line_id: str,
    amount: Fen,
    term: int,
    business_date: date,
    idempotency_key: str,
    method: Method | str | None = None,
    purpose: str = DEFAULT_PURPOSE,
    merchant_id: str | None = None,
    account_token: str | None = None,
    channel: PaymentChannel | None = None,
    drawdown_config: DrawdownConfig | None = None,
) -> dict[str, Any]:
    """Confirm a drawdown (see the module docstring). Returns the JSON response (also on replays)."""
    request = {
        "line_id": line_id,
        "amount": amount,
        "term": term,
        "business_date": business_date,
        "method": str(method) if method else None,
        "purpose": purpose,
        "merchant_id": merchant_id,
        "account_token": account_token,
    }
    return run_idempotent(
        session,
        "draw",
        idempotency_key,
        fingerprint(request),
        lambda: _draw(
            session,
            line_id=line_id,
            amount=amount,
            term=term,
            business_date=business_date,
            idempotency_key=idempotency_key,
            method=method,
            purpose=purpose,
            merchant_id=merchant_id,
            account_token=account_token,
            channel=channel,
            drawdown_config=drawdown_config,
        ),
    )


def _draw(
    session: Session,
    *,
    line_id: str,
    amount: Fen,
    term: int,
    business_date: date,
    idempotency_key: str,
    method: Method | str | None,
    purpose: str,
    merchant_id: str | None,
    account_token: str | None,
    channel: PaymentChannel | None,
    drawdown_config: DrawdownConfig | None,
) -> dict[str, Any]:
    check_amount(amount)
    line = session.scalars(for_update(select(CreditLine).where(CreditLine.id == line_id))).one_or_none()
    if line is None:
        raise NotFoundError(f"credit line {line_id} not found", code="LINE_NOT_FOUND", line_id=line_id)
    if line.status != "active":
        raise BusinessRuleError(
            f"the credit line is {line.status}", code="LINE_NOT_ACTIVE", status=line.status
        )
    check_not_before(
        business_date, line.opened_on, code="DATE_BEFORE_LINE_OPENED", what="the line was opened"
    )
    product = default_catalog().get(line.product_code)
    quote = quote_drawdown(
        product,
        amount=amount,
        term=term,
        grade=line.pricing_grade,
        start=business_date,
        method=method,
        purpose=purpose,
    )
    available = line_available(session, line)
    if amount > available:
        raise BusinessRuleError(
            f"{format_fen(amount)} exceeds the available limit {format_fen(available)}",
            code="LIMIT_EXCEEDED",
            available=available,
        )
    to_merchant = product.disbursement_target is DisbursementTarget.MERCHANT
    if to_merchant and not merchant_id:
        raise ValidationError(
            "a POS drawdown pays a merchant: merchant id required", code="MERCHANT_REQUIRED"
        )
    if not to_merchant and merchant_id:
        raise ValidationError(
            f"{product.code} pays the customer, not a merchant", code="MERCHANT_NOT_ALLOWED"
        )
    decision = check_drawdown(
        session, line_id=line.id, amount=amount, business_date=business_date, config=drawdown_config
    )
    if not decision.approved:
        # Returned, not raised: origination's decline record (the cooldown) must be committed.
        return {
            "status": "declined",
            "code": "DRAWDOWN_DECLINED",
            "line_id": line.id,
            "customer_id": line.customer_id,
            "reason_codes": list(decision.reason_codes),
            "retry_on": decision.retry_on.isoformat() if decision.retry_on else None,
        }

    contract_id = new_id("ln")
    terms = terms_for_product(
        product,
        contract_id=contract_id,
        customer_id=line.customer_id,
        schedule=quote.schedule.installments,
        daily_rate=quote.daily_rate,
        method=quote.method,
    )
    contract = new_contract_row(
        terms=terms, credit_line_id=line.id, purpose=quote.purpose, business_date=business_date
    )
    session.add(contract)
    session.flush()
    write_schedule(session, contract.id, 1, quote.schedule.installments)

    card = None if to_merchant else _default_card(session, line.customer_id)
    token = account_token or (
        f"merchant:{merchant_id}"
        if to_merchant
        else (f"card:{card.id}" if card else f"customer:{line.customer_id}")
    )
    payment, result = run_payment(
        session,
        direction=PaymentDirection.OUTBOUND,
        customer_id=line.customer_id,
        contract_id=contract.id,
        amount=amount,
        purpose="disbursement-merchant" if to_merchant else "disbursement",
        value_date=business_date,
        account_token=token,
        channel=channel,
        idempotency_key=scoped_key("draw", idempotency_key),
        bank_card_id=card.id if card else None,
    )
    response: dict[str, Any] = {
        "contract_id": contract.id,
        "line_id": line.id,
        "customer_id": line.customer_id,
        "payment_id": payment.id,
        "payment_state": payment.state,
        "paid_to": "merchant" if to_merchant else "customer",
        "quote": quote.to_json(),
        "contract_text": quote.contract_text(product),
    }
    if result.state is PaymentState.PROCESSING:
        # An asynchronous channel: the contract stays pending (it holds the limit) until confirmed.
        return response | {"status": "processing", "available_limit": line_available(session, line)}
    if result.state is not PaymentState.SUCCEEDED:
        # Nothing half-made: the contract is cancelled, nothing is booked, the limit is not used.
        contract.status = CANCELLED
        session.flush()
        return response | {
            "status": "failed",
            "code": "DISBURSEMENT_FAILED",
            "failure_reason": result.failure_reason,
            "available_limit": line_available(session, line),
        }
    post_transaction(
        session,
        contract,
        lambda txn_id, seq: Disbursement(txn_id, business_date, seq, amount),
        business_date=business_date,
        payment_id=payment.id,
        idempotency_key=scoped_key("draw", idempotency_key),
    )
    session.flush()
    return response | {"status": "disbursed", "available_limit": line_available(session, line)}
