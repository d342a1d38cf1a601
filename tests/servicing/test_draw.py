"""Drawdown: quote → confirm, limit, purpose, origination's check, failed disbursement, idempotency."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import BusinessRuleError, ConflictError, LendcoreError, ValidationError
from lendcore.core.schedule import Method
from lendcore.origination.drawdown_check import drawdown_gate
from lendcore.servicing.draw import DrawRequest, draw
from lendcore.servicing.drawdown_quote import quote_drawdown
from lendcore.servicing.lines import freeze_line, line_available
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, CreditLine, JournalEntry, LoanTransaction, Payment, ScheduleRow
from tests.servicing.support import D0, RELAXED, assert_invariants, do_draw, key, open_line, snapshot


def test_draw_quick_loan_books_contract_schedule_payment_and_entry(
    session_factory: sessionmaker[Session],
) -> None:
    _, line_id = open_line(session_factory, limit=2_000_000)
    quote = quote_drawdown("quick", amount=1_000_000, term=3, grade="C", start=D0)
    result = do_draw(session_factory, line_id, 1_000_000, 3)
    assert result["status"] == "disbursed"
    assert result["quote"] == quote.to_json()  # the quote's numbers are the contract's
    assert result["available_limit"] == 1_000_000
    with unit_of_work(session_factory, read_only=True) as session:
        contract = session.get(Contract, result["contract_id"])
        assert contract is not None
        assert (contract.status, contract.outstanding_principal, contract.term) == ("active", 1_000_000, 3)
        rows = session.scalars(select(ScheduleRow).where(ScheduleRow.contract_id == contract.id)).all()
        assert [r.total for r in rows] == [r.total for r in quote.schedule.installments]
        payment = session.get(Payment, result["payment_id"])
        assert payment is not None
        assert (payment.direction, payment.state, payment.amount) == ("outbound", "succeeded", 1_000_000)
        txns = session.scalars(
            select(LoanTransaction).where(LoanTransaction.contract_id == contract.id)
        ).all()
        assert [t.type for t in txns] == ["disbursement"]
        entries = session.scalars(select(JournalEntry).where(JournalEntry.contract_id == contract.id)).all()
        assert len(entries) == 1
        assert {(p.account_code, p.debit, p.credit) for p in entries[0].postings} == {
            ("1303.01", 1_000_000, 0),
            ("1002.01", 0, 1_000_000),
        }
    assert_invariants(session_factory)


def test_limit_is_revolving_and_checked(session_factory: sessionmaker[Session]) -> None:
    _, line_id = open_line(session_factory, limit=1_000_000)
    do_draw(session_factory, line_id, 600_000, 3)
    before = snapshot(session_factory)
    with pytest.raises(BusinessRuleError) as error:
        do_draw(session_factory, line_id, 400_001, 3)
    assert error.value.code == "LIMIT_EXCEEDED"
    assert snapshot(session_factory) == before
    assert do_draw(session_factory, line_id, 400_000, 3)["available_limit"] == 0


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"purpose": "securities"}, "PURPOSE_NOT_ALLOWED"),
        ({"purpose": "house-purchase"}, "PURPOSE_NOT_ALLOWED"),
        ({"purpose": "investment"}, "PURPOSE_NOT_ALLOWED"),
        ({"purpose": "yacht-racing"}, "INVALID_PURPOSE"),
        ({"term": 13}, "TERM_NOT_ALLOWED"),
        ({"amount": 0}, "AMOUNT_NOT_POSITIVE"),
        ({"amount": 5_000_001}, "AMOUNT_OUT_OF_RANGE"),
        ({"method": "flat-fee"}, "METHOD_NOT_ALLOWED"),
        ({"merchant_id": "m1"}, "MERCHANT_NOT_ALLOWED"),
        ({"line_id": "cl_nope"}, "LINE_NOT_FOUND"),
    ],
)
def test_rejections_change_nothing(
    session_factory: sessionmaker[Session], kwargs: dict[str, object], code: str
) -> None:
    _, line_id = open_line(session_factory, limit=5_000_000)
    before = snapshot(session_factory)
    args: dict[str, object] = {"line_id": line_id, "amount": 100_000, "term": 3} | kwargs
    with pytest.raises(LendcoreError) as error, unit_of_work(session_factory) as session:
        method = args.pop("method", None)
        request = DrawRequest(
            business_date=D0,
            idempotency_key=key(),
            method=Method(str(method)) if method else None,
            **args,  # type: ignore[arg-type]
        )
        draw(session, request, gate=drawdown_gate(RELAXED))
    assert error.value.code == code
    assert snapshot(session_factory) == before


def test_frozen_line_refused(session_factory: sessionmaker[Session]) -> None:
    _, line_id = open_line(session_factory)
    with unit_of_work(session_factory) as session:
        freeze_line(session, line_id, reason_code="FRAUD_REVIEW", business_date=D0, actor="ops")
    before = snapshot(session_factory)
    with pytest.raises(BusinessRuleError) as error:
        do_draw(session_factory, line_id, 100_000, 3)
    assert error.value.code == "LINE_NOT_ACTIVE"
    assert snapshot(session_factory) == before


def test_origination_check_declines_fourth_drawdown_of_the_day(
    session_factory: sessionmaker[Session],
) -> None:
    _, line_id = open_line(session_factory)
    for _ in range(3):
        assert do_draw(session_factory, line_id, 100_000, 1, drawdown_config=None)["status"] == "disbursed"
    before = snapshot(session_factory)
    result = do_draw(session_factory, line_id, 100_000, 1, drawdown_config=None)
    assert result["status"] == "declined"
    assert "DRAWDOWN_VELOCITY" in result["reason_codes"]
    assert snapshot(session_factory) == before  # no contract, no payment, no money moved


def test_idempotent_by_key(session_factory: sessionmaker[Session]) -> None:
    _, line_id = open_line(session_factory)
    first = do_draw(session_factory, line_id, 100_000, 3, idempotency_key="same")
    again = do_draw(session_factory, line_id, 100_000, 3, idempotency_key="same")
    assert again == first
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Contract)) == 1
    with pytest.raises(ConflictError) as error:
        do_draw(session_factory, line_id, 200_000, 3, idempotency_key="same")
    assert error.value.code == "IDEMPOTENCY_KEY_REUSED"


def test_failed_disbursement_leaves_nothing_half_made(session_factory: sessionmaker[Session]) -> None:
    _, line_id = open_line(session_factory, limit=1_000_000)
    result = do_draw(session_factory, line_id, 1_000_000, 3, account_token="fail:card closed")
    assert result["status"] == "failed"
    assert result["code"] == "DISBURSEMENT_FAILED"
    assert result["failure_reason"] == "card closed"
    assert result["available_limit"] == 1_000_000
    with unit_of_work(session_factory, read_only=True) as session:
        contract = session.get(Contract, result["contract_id"])
        assert contract is not None
        assert (contract.status, contract.outstanding_principal) == ("cancelled", 0)
        payment = session.get(Payment, result["payment_id"])
        assert payment is not None and payment.state == "failed"
        assert session.scalar(select(func.count()).select_from(LoanTransaction)) == 0
        assert session.scalar(select(func.count()).select_from(JournalEntry)) == 0
        line = session.get(CreditLine, line_id)
        assert line is not None and line_available(session, line) == 1_000_000
    assert_invariants(session_factory)
    # a retry (new key) succeeds and uses the whole limit
    assert do_draw(session_factory, line_id, 1_000_000, 3)["status"] == "disbursed"
    assert_invariants(session_factory)


def test_pos_pays_the_merchant(session_factory: sessionmaker[Session]) -> None:
    _, line_id = open_line(session_factory, product="pos", limit=1_000_000, grade="A")
    with pytest.raises(ValidationError) as error:
        do_draw(session_factory, line_id, 300_000, 12)
    assert error.value.code == "MERCHANT_REQUIRED"
    result = do_draw(session_factory, line_id, 300_000, 12, merchant_id="mi-store-001")
    assert (result["status"], result["paid_to"]) == ("disbursed", "merchant")
    with unit_of_work(session_factory, read_only=True) as session:
        payment = session.get(Payment, result["payment_id"])
        assert payment is not None and payment.purpose == "disbursement-merchant"
    assert result["quote"]["total_fee"] == 12 * 1_800  # 0.6 % of 3,000 yuan a period
    assert_invariants(session_factory)


def test_quote_is_pure_and_checks_the_product() -> None:
    q = quote_drawdown(
        "premium", amount=1_200_000, term=3, grade="C", start=date(2026, 3, 1), method="equal-principal"
    )
    assert [r.principal for r in q.schedule.installments] == [400_000, 400_000, 400_000]
    assert "APR" in q.contract_text()
