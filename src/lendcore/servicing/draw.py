"""Drawdown (借款): the confirmation that creates and disburses a contract.

:func:`draw` ``(session, DrawRequest, *, gate) -> DrawResult`` recomputes the quote
(:func:`~lendcore.servicing.drawdown_quote.quote_drawdown`: same inputs, same numbers, so the quote's
numbers are the contract's) and, in the caller's unit of work:

1. locks the credit line (``SELECT … FOR UPDATE``), checks it is active, dated on or after its
   opening, and that the amount fits the available limit (:mod:`lendcore.core.credit_line`);
2. checks the declared purpose (consumption only; investment, securities, house purchase … refused)
   and who is paid (POS pays a merchant);
3. asks the drawdown ``gate`` (the caller's real-time risk check: origination's
   :func:`~lendcore.origination.drawdown_check.drawdown_gate`, passed in so servicing does not depend
   on origination) whether this drawdown may proceed; a decline is *returned*
   (``status: "declined"``, reason codes, retry date), not raised, so the decline record behind the
   cooldown is committed;
4. creates the contract (pending) and its schedule, and the outbound payment (to the bound card, or to
   the merchant for POS), created → processing → succeeded via the channel;
5. books the :class:`~lendcore.core.loan.Disbursement` and its journal entry; the contract is active.

If the channel declines, the contract is cancelled (nothing booked, no principal, the limit is not
used), the payment is failed, and the result says so (``status: "failed"``); a new request with a new
key may retry. Idempotent by key (scope ``draw``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.errors import BusinessRuleError, NotFoundError, ValidationError
from lendcore.core.funding import DEFAULT_LENDER_MIN_SHARE_BP, Share
from lendcore.core.loan import Disbursement
from lendcore.core.money import Fen, format_fen
from lendcore.core.records import JsonRecord
from lendcore.core.schedule import Installment, Method
from lendcore.payments.channel import PaymentChannel
from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.products.catalog import DisbursementTarget, Product, default_catalog
from lendcore.risk.decision import DrawdownDecision
from lendcore.servicing.booking import post_transaction
from lendcore.servicing.common import check_amount, check_not_before, run_payment, scoped_key
from lendcore.servicing.drawdown_quote import DEFAULT_PURPOSE, DrawdownQuote, quote_drawdown
from lendcore.servicing.lines import line_available
from lendcore.servicing.partners import plan_funding, record_funding, sync_partner_ledger
from lendcore.servicing.repository import CANCELLED, new_contract_row, write_schedule
from lendcore.servicing.restrictions import Processing, require_processing_allowed
from lendcore.servicing.terms import terms_for_product
from lendcore.store.engine import for_update
from lendcore.store.idempotency import idempotent
from lendcore.store.ids import new_id
from lendcore.store.models import BankCard, Contract, CreditLine
from lendcore.store.types import utc_now


class DrawdownGate(Protocol):
    """The real-time check before a drawdown (综合评估); a decline changes nothing on the line."""

    def __call__(
        self, session: Session, *, line_id: str, amount: Fen, business_date: date
    ) -> DrawdownDecision: ...


@dataclass(frozen=True, slots=True)
class DrawRequest(JsonRecord):
    line_id: str
    amount: Fen
    term: int
    business_date: date
    idempotency_key: str
    method: Method | None = None
    purpose: str = DEFAULT_PURPOSE
    merchant_id: str | None = None
    account_token: str | None = None
    # funding partners' shares asked for (joint lending); a partner without the customer's consent
    # to share with it does not fund (servicing.partners.plan_funding)
    funding: tuple[Share, ...] = ()


@dataclass(frozen=True, slots=True)
class QuoteView(JsonRecord):
    """A drawdown quote as the customer sees it (and as the contract is signed)."""

    product_code: str
    amount: Fen
    term: int
    method: Method
    grade: str
    purpose: str
    start_date: date
    daily_rate: Decimal
    apr: Decimal
    total_interest: Fen
    total_fee: Fen
    total_repayable: Fen
    schedule: tuple[Installment, ...]

    @classmethod
    def of(cls, q: DrawdownQuote) -> QuoteView:
        return cls(
            q.product_code,
            q.amount,
            q.term,
            q.method,
            q.grade,
            q.purpose,
            q.start_date,
            q.daily_rate,
            q.apr,
            q.total_interest,
            q.total_fee,
            q.total_repayable,
            q.schedule.installments,
        )


@dataclass(frozen=True, slots=True)
class DrawResult(JsonRecord):
    status: str  # disbursed | processing (payout in flight) | failed (payout declined) | declined (risk)
    line_id: str
    customer_id: str
    contract_id: str | None = None
    payment_id: str | None = None
    payment_state: str | None = None
    paid_to: str | None = None  # customer | merchant
    quote: QuoteView | None = None
    contract_text: str | None = None
    available_limit: Fen | None = None
    code: str | None = None  # DRAWDOWN_DECLINED | DISBURSEMENT_FAILED
    reason_codes: tuple[str, ...] = ()
    retry_on: date | None = None
    failure_reason: str | None = None
    funding: tuple[Share, ...] = ()  # the partners' shares that fund the contract (the lender: the rest)


def _default_card(session: Session, customer_id: str) -> BankCard | None:
    return session.scalars(
        select(BankCard).where(
            BankCard.customer_id == customer_id, BankCard.status == "active", BankCard.is_default.is_(True)
        )
    ).first()


def _locked_line(session: Session, request: DrawRequest) -> CreditLine:
    line = session.scalars(
        for_update(select(CreditLine).where(CreditLine.id == request.line_id))
    ).one_or_none()
    if line is None:
        raise NotFoundError(
            f"credit line {request.line_id} not found", code="LINE_NOT_FOUND", line_id=request.line_id
        )
    require_processing_allowed(session, line.customer_id, Processing.DRAWDOWN)
    if line.status != "active":
        raise BusinessRuleError(
            f"the credit line is {line.status}", code="LINE_NOT_ACTIVE", status=line.status
        )
    check_not_before(
        request.business_date, line.opened_on, code="DATE_BEFORE_LINE_OPENED", what="the line was opened"
    )
    return line


def _check_payee(product: Product, merchant_id: str | None) -> bool:
    """True when the drawdown pays a merchant (POS); refuses a payee the product does not pay."""
    to_merchant = product.disbursement_target is DisbursementTarget.MERCHANT
    if to_merchant and not merchant_id:
        raise ValidationError(
            "a POS drawdown pays a merchant: merchant id required", code="MERCHANT_REQUIRED"
        )
    if not to_merchant and merchant_id:
        raise ValidationError(
            f"{product.code} pays the customer, not a merchant", code="MERCHANT_NOT_ALLOWED"
        )
    return to_merchant


def _new_contract(
    session: Session, line: CreditLine, product: Product, quote: DrawdownQuote, on: date
) -> Contract:
    terms = terms_for_product(
        product,
        contract_id=new_id("ln"),
        customer_id=line.customer_id,
        schedule=quote.schedule.installments,
        daily_rate=quote.daily_rate,
        method=quote.method,
    )
    contract = new_contract_row(terms=terms, credit_line_id=line.id, purpose=quote.purpose, business_date=on)
    session.add(contract)
    session.flush()
    write_schedule(session, contract.id, 1, quote.schedule.installments)
    return contract


@idempotent("draw", DrawResult)
def draw(
    session: Session,
    request: DrawRequest,
    *,
    gate: DrawdownGate,
    channel: PaymentChannel | None = None,
    lender_min_share_bp: int = DEFAULT_LENDER_MIN_SHARE_BP,
) -> DrawResult:
    """Confirm a drawdown (see the module docstring); ``lender_min_share_bp``: the lender's minimum
    share of a jointly funded contract (configuration, 30 % by default)."""
    check_amount(request.amount)
    on = request.business_date
    line = _locked_line(session, request)
    product = default_catalog().get(line.product_code)
    quote = quote_drawdown(
        product,
        amount=request.amount,
        term=request.term,
        grade=line.pricing_grade,
        start=on,
        method=request.method,
        purpose=request.purpose,
    )
    available = line_available(session, line)
    if request.amount > available:
        raise BusinessRuleError(
            f"{format_fen(request.amount)} exceeds the available limit {format_fen(available)}",
            code="LIMIT_EXCEEDED",
            available=available,
        )
    to_merchant = _check_payee(product, request.merchant_id)
    funding = plan_funding(
        session,
        customer_id=line.customer_id,
        amount=request.amount,
        shares=request.funding,
        at=utc_now(),
        lender_min_share_bp=lender_min_share_bp,
    )
    decision = gate(session, line_id=line.id, amount=request.amount, business_date=on)
    if not decision.approved:
        # Returned, not raised: the gate's decline record (the cooldown) must be committed.
        return DrawResult(
            "declined",
            line.id,
            line.customer_id,
            code="DRAWDOWN_DECLINED",
            reason_codes=decision.reason_codes,
            retry_on=decision.retry_on,
        )
    contract = _new_contract(session, line, product, quote, on)
    record_funding(session, contract.id, request.amount, funding, on)
    card = None if to_merchant else _default_card(session, line.customer_id)
    token = request.account_token or (
        f"merchant:{request.merchant_id}"
        if to_merchant
        else (f"card:{card.id}" if card else f"customer:{line.customer_id}")
    )
    key = scoped_key("draw", request.idempotency_key)
    payment, sent = run_payment(
        session,
        direction=PaymentDirection.OUTBOUND,
        customer_id=line.customer_id,
        contract_id=contract.id,
        amount=request.amount,
        purpose="disbursement-merchant" if to_merchant else "disbursement",
        value_date=on,
        account_token=token,
        channel=channel,
        idempotency_key=key,
        bank_card_id=card.id if card else None,
    )
    result = DrawResult(
        "disbursed",
        line.id,
        line.customer_id,
        contract_id=contract.id,
        payment_id=payment.id,
        payment_state=payment.state,
        paid_to="merchant" if to_merchant else "customer",
        quote=QuoteView.of(quote),
        contract_text=quote.contract_text(product),
        funding=funding,
    )
    if sent.state is PaymentState.PROCESSING:
        # An asynchronous channel: the contract stays pending (it holds the limit) until confirmed.
        return replace(result, status="processing", available_limit=line_available(session, line))
    if sent.state is not PaymentState.SUCCEEDED:
        # Nothing half-made: the contract is cancelled, nothing is booked, the limit is not used.
        contract.status = CANCELLED
        session.flush()
        return replace(
            result,
            status="failed",
            code="DISBURSEMENT_FAILED",
            failure_reason=sent.failure_reason,
            available_limit=line_available(session, line),
        )
    post_transaction(
        session,
        contract,
        lambda txn_id, seq: Disbursement(txn_id, on, seq, request.amount),
        business_date=on,
        payment_id=payment.id,
        idempotency_key=key,
    )
    sync_partner_ledger(session, contract.id)
    session.flush()
    return replace(result, available_limit=line_available(session, line))
