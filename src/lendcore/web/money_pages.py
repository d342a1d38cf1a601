"""The customer app's money pages: borrow (quote, confirm, payout status) and repay (current bill,
allocation preview, pay, payment status). See :mod:`lendcore.web.customer` for the rules they share."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from lendcore.api.state import AppState, StateDep
from lendcore.core.allocation import CustomerMode
from lendcore.core.errors import LendcoreError, NotFoundError, ValidationError
from lendcore.core.money import Fen, parse_amount
from lendcore.core.schedule import Method
from lendcore.origination.drawdown_check import drawdown_gate
from lendcore.products import default_catalog
from lendcore.queries.loans import loan_view
from lendcore.queries.payoff import payoff_quote
from lendcore.servicing.business_day import enter_open_business_date
from lendcore.servicing.draw import DrawRequest, draw
from lendcore.servicing.drawdown_quote import quote_drawdown
from lendcore.servicing.lines import available_limit
from lendcore.servicing.repay import RepayRequest, RepayResult, repay
from lendcore.servicing.repay_channel import record_repayment, settle_at_once
from lendcore.web.common import (
    PRODUCT,
    Csrf,
    business_date,
    customer_of,
    signed_in_page,
)
from lendcore.web.customer_data import active_line, customer_loans, next_bill
from lendcore.web.session import check_csrf

router = APIRouter(prefix="/app", include_in_schema=False)


def to_home() -> RedirectResponse:
    return RedirectResponse("/app", status_code=303)


Amount = Annotated[str, Form(max_length=32)]
Key = Annotated[str, Form(max_length=64)]
OptionalAmount = Annotated[str | None, Form(max_length=32)]


# --- borrow --------------------------------------------------------------------------------------------
def _borrow_page(
    state: AppState,
    request: Request,
    customer_id: str,
    *,
    error: str | None = None,
    quote_of: tuple[str, int, str] | None = None,
) -> Response:
    product = default_catalog().get(PRODUCT)
    with state.database.read() as session:
        line = active_line(session, customer_id)
        if line is None:
            return to_home()
        available = available_limit(session, line.id)
        grade = line.pricing_grade
        on = business_date(state, session)
    context: dict[str, object] = {
        "product": product,
        "methods": [m.value for m in product.methods],
        "available": available,
        "quote": None,
        "amount": None,
        "term": product.terms[0],
        "method": product.default_method.value,
    }
    if quote_of is not None and error is None:
        amount_text, term, method = quote_of
        try:
            amount = parse_amount(amount_text, allow_zero=False)
            quote = quote_drawdown(product, amount=amount, term=term, grade=grade, start=on, method=method)
        except LendcoreError as refused:
            error = refused.message
        else:
            context.update(
                quote=quote,
                contract_text=quote.contract_text(product),
                amount=amount_text,
                term=term,
                method=method,
                idempotency_key=f"web-draw-{uuid.uuid4()}",
            )
    return signed_in_page(state, request, "borrow.html", "borrow_title", error=error, **context)


@router.get("/borrow")
def borrow_page(request: Request, state: StateDep) -> Response:
    customer_id = customer_of(state, request)
    return _borrow_page(state, request, customer_id)


def _method(text: str) -> Method | None:
    """The method chosen (an unknown one: the product's default, which the quote showed)."""
    return Method(text) if text in {m.value for m in Method} else None


def _term(text: str) -> int:
    if not text.isdigit() or len(text) > 3:
        raise ValidationError(f"term {text!r} is not a number of installments", code="TERM_NOT_ALLOWED")
    return int(text)


@router.post("/borrow/quote")
def borrow_quote(
    request: Request,
    state: StateDep,
    csrf: Csrf,
    amount: Amount,
    term: Annotated[str, Form(max_length=3)],
    method: Annotated[str, Form(max_length=32)],
) -> Response:
    customer_id = customer_of(state, request)
    check_csrf(state, request, csrf)
    try:
        return _borrow_page(state, request, customer_id, quote_of=(amount, _term(term), method))
    except LendcoreError as error:
        return _borrow_page(state, request, customer_id, error=error.message)


@router.post("/borrow/confirm")
def borrow_confirm(
    request: Request,
    state: StateDep,
    csrf: Csrf,
    amount: Amount,
    term: Annotated[str, Form(max_length=3)],
    method: Annotated[str, Form(max_length=32)],
    idempotency_key: Key,
) -> Response:
    customer_id = customer_of(state, request)
    check_csrf(state, request, csrf)
    try:
        with state.database.write() as session:
            on = enter_open_business_date(session, today=state.clock().date())
            line = active_line(session, customer_id)
            if line is None:
                raise NotFoundError("no credit line: apply first", code="LINE_NOT_FOUND")
            result = draw(
                session,
                DrawRequest(
                    line_id=line.id,
                    amount=parse_amount(amount, allow_zero=False),
                    term=_term(term),
                    business_date=on,
                    idempotency_key=idempotency_key,
                    method=_method(method),
                ),
                gate=drawdown_gate(),
            )
    except LendcoreError as error:
        return _borrow_page(state, request, customer_id, error=error.message)
    return signed_in_page(state, request, "borrowed.html", "borrow_result", r=result)


# --- repay ---------------------------------------------------------------------------------------------
def _repay_request(
    customer_id: str, on: date, mode: str, amount: str | None, contract_id: str | None, key: str
) -> RepayRequest:
    if mode not in {m.value for m in CustomerMode}:
        raise ValidationError(f"unknown repayment mode {mode!r}", code="INVALID_REPAYMENT_MODE")
    chosen = CustomerMode(mode)
    value: Fen | None = parse_amount(amount, allow_zero=False) if amount else None
    if chosen is CustomerMode.BY_AMOUNT and value is None:
        raise ValidationError("enter the amount to pay", code="INVALID_AMOUNT")
    ids = (contract_id,) if chosen is CustomerMode.BY_CONTRACT and contract_id else None
    return RepayRequest(
        customer_id=customer_id,
        business_date=on,
        idempotency_key=key,
        amount=value,
        mode=chosen,
        contract_ids=ids,
    )


def _repay_page(state: AppState, request: Request, customer_id: str, **context: object) -> Response:
    with state.database.read() as session:
        on = business_date(state, session)
        payoff = payoff_quote(session, customer_id, on)
        bill = next_bill(customer_loans(session, customer_id))
    values: dict[str, object] = {
        "mode": CustomerMode.BY_AMOUNT.value,
        "amount": None,
        "contract_id": None,
        "preview": None,
        "error": None,
    }
    values.update(context)
    return signed_in_page(
        state,
        request,
        "repay.html",
        "repay_title",
        payoff=payoff,
        bill=bill,
        modes=[m.value for m in CustomerMode],
        **values,
    )


@router.get("/repay")
def repay_page(request: Request, state: StateDep) -> Response:
    customer_id = customer_of(state, request)
    return _repay_page(state, request, customer_id)


class _PreviewDoneError(Exception):
    """Raised with the preview's result to roll its unit of work back."""

    def __init__(self, result: RepayResult) -> None:
        super().__init__("preview")
        self.result = result


def _preview(
    state: AppState, customer_id: str, mode: str, amount: str | None, contract_id: str | None
) -> RepayResult:
    """The repay use case in a unit of work that is rolled back (by raising out of it): exactly what
    paying would allocate, and nothing stays written."""
    try:
        with state.database.write() as session:
            on = enter_open_business_date(session, today=state.clock().date())
            key = f"web-preview-{uuid.uuid4()}"
            raise _PreviewDoneError(
                repay(session, _repay_request(customer_id, on, mode, amount, contract_id, key))
            )
    except _PreviewDoneError as done:
        return done.result


@router.post("/repay/preview")
def repay_preview(
    request: Request,
    state: StateDep,
    csrf: Csrf,
    mode: Annotated[str, Form(max_length=16)],
    amount: OptionalAmount = None,
    contract_id: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    customer_id = customer_of(state, request)
    check_csrf(state, request, csrf)
    form = {"mode": mode, "amount": amount, "contract_id": contract_id}
    try:
        preview = _preview(state, customer_id, mode, amount, contract_id)
    except LendcoreError as error:
        return _repay_page(state, request, customer_id, error=error.message, **form)
    return _repay_page(
        state, request, customer_id, preview=preview, idempotency_key=f"web-repay-{uuid.uuid4()}", **form
    )


@router.post("/repay/pay")
def repay_pay(
    request: Request,
    state: StateDep,
    csrf: Csrf,
    mode: Annotated[str, Form(max_length=16)],
    idempotency_key: Key,
    amount: OptionalAmount = None,
    contract_id: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    customer_id = customer_of(state, request)
    check_csrf(state, request, csrf)
    try:
        with state.database.write() as session:
            on = enter_open_business_date(session, today=state.clock().date())
            recorded = record_repayment(
                session,
                _repay_request(customer_id, on, mode, amount, contract_id, idempotency_key),
                now=state.clock(),
            )
        # committed: submitted with no transaction open (servicing.repay_channel)
        result = settle_at_once(
            state.database.session_factory,
            recorded,
            account_token=f"customer:{customer_id}",
            channel=state.payment_channel,
            now=state.clock(),
        )
    except LendcoreError as error:
        return _repay_page(
            state,
            request,
            customer_id,
            error=error.message,
            mode=mode,
            amount=amount,
            contract_id=contract_id,
        )
    return signed_in_page(state, request, "paid.html", "payment_status", preview=result)


@router.get("/contracts/{contract_id}")
def contract_page(contract_id: str, request: Request, state: StateDep) -> Response:
    customer_id = customer_of(state, request)
    with state.database.read() as session:
        view = loan_view(session, contract_id)
    if view.customer_id != customer_id:  # someone else's contract is not found (as in the API)
        raise NotFoundError("no such contract", code="CONTRACT_NOT_FOUND")
    return signed_in_page(state, request, "contract.html", "contract_title", v=view)
