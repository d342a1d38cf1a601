"""Repayment: by amount, by contract, pay off all, prepayment + recompute, value dating, idempotency."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.core.allocation import CustomerMode
from lendcore.core.errors import ConflictError, LendcoreError
from lendcore.core.ledger import Account
from lendcore.queries.payoff import payoff_quote
from lendcore.servicing.repay import DEFAULT_MAX_OVERPAYMENT, RepayRequest, repay
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, LoanTransaction, ScheduleRow, UnappliedFunds
from tests.servicing.support import D0, assert_invariants, do_draw, do_repay, key, open_line, snapshot


def _two_loans(factory: sessionmaker[Session]) -> tuple[str, str, str]:
    """A customer with a premium 3-period loan and a quick loan (drawn later)."""
    cid, premium_line = open_line(factory, product="premium", limit=5_000_000)
    _, quick_line = open_line(factory, product="quick", limit=2_000_000, customer_id=cid)
    premium = do_draw(factory, premium_line, 1_200_000, 3)["contract_id"]
    quick = do_draw(factory, quick_line, 500_000, 3, on=D0 + timedelta(days=5))["contract_id"]
    return cid, premium, quick


def test_by_amount_pays_the_current_bills_soonest_due_first_then_prepays_the_oldest_cash_loan(
    session_factory: sessionmaker[Session],
) -> None:
    cid, premium, quick = _two_loans(session_factory)
    on = D0 + timedelta(days=10)
    # current bills on Mar 11: premium row 1 (due Apr 1): 10 days × 360 = 3,600 + 396,223 principal;
    # quick row 1 (due Apr 6): 5 days × 150 = 750 + 165,093; ¥100 more prepays the older cash loan
    result = do_repay(session_factory, cid, 399_823 + 165_843 + 10_000, on)
    assert result["status"] == "succeeded"
    lines = {c["contract_id"]: c for c in result["contracts"]}
    assert lines[premium]["amount"] == 399_823 + 10_000
    assert lines[quick]["amount"] == 165_843
    assert [i["period"] for i in lines[quick]["installments"] if i["settled"]] == [1]
    assert (lines[quick]["interest"], lines[quick]["principal"], lines[quick]["prepaid_principal"]) == (
        750,
        165_093,
        0,
    )
    # premium: 1 % prepayment fee on the prepaid part only: p + round(1 % p) ≤ 10,000 → 9,901 + 99
    assert (lines[premium]["prepaid_principal"], lines[premium]["prepayment_fee"]) == (9_901, 99)
    assert_invariants(session_factory)


def test_by_contract_settles_the_chosen_contract(session_factory: sessionmaker[Session]) -> None:
    cid, premium, _quick = _two_loans(session_factory)
    on = D0 + timedelta(days=10)
    with unit_of_work(session_factory, read_only=True) as session:
        quote = payoff_quote(session, cid, on).to_json()
    premium_total = next(q["total"] for q in quote["contracts"] if q["contract_id"] == premium)
    result = do_repay(session_factory, cid, None, on, CustomerMode.BY_CONTRACT, contract_ids=[premium])
    assert result["amount"] == premium_total
    assert [(c["contract_id"], c["status"]) for c in result["contracts"]] == [(premium, "closed")]
    # premium: installment 1 (current) is settled; 1 % prepayment fee on the principal of
    # installments 2 and 3 only: 1 % × (400,149 + 403,628) = 8,037.77 → 8,038
    assert result["contracts"][0]["prepayment_fee"] == 8_038
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, premium)
        assert c is not None and (c.status, c.closed_on) == ("closed", on)
    assert_invariants(session_factory)


def test_pay_off_all_with_exact_quote(session_factory: sessionmaker[Session]) -> None:
    cid, _, _ = _two_loans(session_factory)
    on = D0 + timedelta(days=20)
    with unit_of_work(session_factory, read_only=True) as session:
        quote = payoff_quote(session, cid, on).to_json()
    before = snapshot(session_factory)
    with pytest.raises(LendcoreError) as error:
        do_repay(session_factory, cid, quote["total"] - 1, on, CustomerMode.PAY_OFF_ALL)
    assert error.value.code == "INSUFFICIENT_FOR_PAYOFF"
    assert snapshot(session_factory) == before
    result = do_repay(session_factory, cid, quote["total"], on, CustomerMode.PAY_OFF_ALL)
    assert {c["status"] for c in result["contracts"]} == {"closed"}
    assert result["unapplied"] == 0
    with unit_of_work(session_factory, read_only=True) as session:
        assert payoff_quote(session, cid, on).total == 0
    assert_invariants(session_factory)


def test_surplus_goes_to_unapplied_funds(session_factory: sessionmaker[Session]) -> None:
    cid, line = open_line(session_factory)
    do_draw(session_factory, line, 100_000, 1, method="bullet")
    on = D0 + timedelta(days=10)
    # 10 days × 100,000 × 0.0003 = 300 fen; 100,300 settles; 5,000 left over is the customer's
    result = do_repay(session_factory, cid, 105_300, on)
    assert result["contracts"][0]["status"] == "closed"
    assert result["unapplied"] == 5_000
    with unit_of_work(session_factory, read_only=True) as session:
        funds = session.get(UnappliedFunds, cid)
        assert funds is not None and funds.balance == 5_000
    assert_invariants(session_factory)


def test_a_repayment_beyond_everything_owed_plus_the_overpayment_margin_is_refused(
    session_factory: sessionmaker[Session],
) -> None:
    cid, line = open_line(session_factory)
    do_draw(session_factory, line, 100_000, 1, method="bullet")
    on = D0 + timedelta(days=10)
    payoff = 100_000 + 300  # principal + 10 days of interest
    before = snapshot(session_factory)
    with pytest.raises(LendcoreError) as refused:
        do_repay(session_factory, cid, payoff + DEFAULT_MAX_OVERPAYMENT + 1, on)
    assert refused.value.code == "OVERPAYMENT_TOO_LARGE"
    assert snapshot(session_factory) == before  # nothing written
    result = do_repay(session_factory, cid, payoff + DEFAULT_MAX_OVERPAYMENT, on)
    assert result["unapplied"] == DEFAULT_MAX_OVERPAYMENT  # up to the margin it is customer credit
    assert_invariants(session_factory)


def test_prepayment_recomputes_the_schedule(session_factory: sessionmaker[Session]) -> None:
    cid, line = open_line(session_factory, product="premium")
    contract_id = do_draw(session_factory, line, 1_200_000, 3, method="equal-principal")["contract_id"]
    due1 = date(2026, 4, 1)
    # installment 1 = 400,000 + 1,200,000 × 0.0003 × 31 = 400,000 + 11,160; 205,000 more prepays p with
    # p + round(1 % × p) ≤ 205,000 → p = 202,970 (fee 2,030).
    result = do_repay(session_factory, cid, 616_160, due1)
    line_ = result["contracts"][0]
    assert (line_["interest"], line_["principal"]) == (11_160, 400_000)
    assert (line_["prepaid_principal"], line_["prepayment_fee"], line_["unapplied"]) == (202_970, 2_030, 0)
    assert line_["schedule_version"] == 2
    with unit_of_work(session_factory, read_only=True) as session:
        rows = session.scalars(
            select(ScheduleRow)
            .where(ScheduleRow.contract_id == contract_id, ScheduleRow.version == 2)
            .order_by(ScheduleRow.period)
        ).all()
        # reduce-installment, equal principal: 597,030 left in two equal parts; interest by actual days
        # period 2: 597,030 × 0.0003 × 30 = 5,373.27 → 5,373
        # period 3: 298,515 × 0.0003 × 31 = 2,776.19 → 2,776
        assert [(r.principal, r.interest) for r in rows] == [
            (400_000, 11_160),
            (298_515, 5_373),
            (298_515, 2_776),
        ]
    assert_invariants(session_factory)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"amount": 0}, "AMOUNT_NOT_POSITIVE"),
        ({"amount": -1}, "AMOUNT_NOT_POSITIVE"),
        ({"amount": None}, "AMOUNT_REQUIRED"),
        ({"value_date": D0 + timedelta(days=11)}, "VALUE_DATE_IN_FUTURE"),
        ({"contract_ids": ["ln_nope"], "mode": CustomerMode.BY_CONTRACT}, "CONTRACT_NOT_OPEN"),
        ({"customer_id": "cus_nope"}, "CUSTOMER_NOT_FOUND"),
        ({"value_date": D0 - timedelta(days=1)}, "NOTHING_TO_PAY"),
    ],
)
def test_rejections_change_nothing(
    session_factory: sessionmaker[Session], kwargs: dict[str, object], code: str
) -> None:
    cid, line = open_line(session_factory)
    do_draw(session_factory, line, 100_000, 3)
    before = snapshot(session_factory)
    args: dict[str, object] = {"customer_id": cid, "amount": 10_000} | kwargs
    with pytest.raises(LendcoreError) as error, unit_of_work(session_factory) as session:
        ids = args.pop("contract_ids", None)
        request = RepayRequest(
            business_date=D0 + timedelta(days=10),
            idempotency_key=key(),
            contract_ids=tuple(ids) if ids is not None else None,  # type: ignore[call-overload]
            **args,  # type: ignore[arg-type]
        )
        repay(session, request)
    assert error.value.code == code
    assert snapshot(session_factory) == before


def test_idempotent_retry_applies_once(session_factory: sessionmaker[Session]) -> None:
    cid, line = open_line(session_factory)
    do_draw(session_factory, line, 100_000, 3)
    on = D0 + timedelta(days=3)
    first = do_repay(session_factory, cid, 20_000, on, idempotency_key="pay-1")
    after_first = snapshot(session_factory)
    assert do_repay(session_factory, cid, 20_000, on, idempotency_key="pay-1") == first
    assert snapshot(session_factory) == after_first
    with pytest.raises(ConflictError) as error:
        do_repay(session_factory, cid, 20_001, on, idempotency_key="pay-1")
    assert error.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert_invariants(session_factory)


def test_failed_inbound_payment_books_nothing(session_factory: sessionmaker[Session]) -> None:
    cid, line = open_line(session_factory)
    do_draw(session_factory, line, 100_000, 3)
    result = do_repay(session_factory, cid, 20_000, D0 + timedelta(days=3), account_token="fail:insufficient")
    assert (result["status"], result["contracts"]) == ("failed", [])
    with unit_of_work(session_factory, read_only=True) as session:
        types = session.scalars(select(LoanTransaction.type)).all()
    assert types == ["disbursement"]
    assert_invariants(session_factory)


def test_payment_started_before_due_date_confirmed_late_causes_no_penalty(
    session_factory: sessionmaker[Session],
) -> None:
    """Invariant 6. A ¥10,000 1-month bullet (0.03 %/day) due 2026-04-01; the customer starts paying on
    2026-03-31, the channel confirms on 2026-04-08, after the daily close has run through 04-08 and
    booked penalty (grace 3 days: DPD 7 × 1,000,000 × 0.045 % = 3,150 fen)."""
    cid, line = open_line(session_factory)
    contract_id = do_draw(session_factory, line, 1_000_000, 1, method="bullet")["contract_id"]
    due = date(2026, 4, 1)
    for day in range(1, 8):  # closes of 04-02 … 04-08
        run_daily_close(session_factory, due + timedelta(days=day))
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None and (c.days_past_due, c.penalty_receivable) == (7, 3_150)
    started = date(2026, 3, 31)
    with unit_of_work(session_factory, read_only=True) as session:
        quote = payoff_quote(session, cid, started).to_json()
    assert quote["total"] == 1_009_000  # 30 days of interest: 1,000,000 × 0.0003 × 30 = 9,000
    result = do_repay(session_factory, cid, 1_009_000, due + timedelta(days=7), value_date=started)
    assert result["contracts"][0]["backdated"] is True
    assert result["contracts"][0]["penalty"] == 0
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None
        assert (c.status, c.days_past_due, c.penalty_receivable, c.classification) == (
            "closed",
            0,
            0,
            "normal",
        )
    report = assert_invariants(session_factory)
    assert report.trial_balance.balance(Account.PENALTY_INCOME) == 0  # the provisional penalty was reversed
