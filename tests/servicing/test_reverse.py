"""Reversal of an inbound payment (chargeback / returned transfer).

Quick product, grade C: 0.03 %/day, penalty 1.5 × = 0.045 %/day, grace 3 days.
A ¥10,000 bullet drawn 2026-03-01 is due 04-01 with 31 days × 1,000,000 × 0.0003 = 9,300 interest.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.core.errors import LendcoreError
from lendcore.servicing.reverse import ReversePaymentRequest, reverse_payment
from lendcore.store.audit import audit_trail
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, Payment, UnappliedFunds
from tests.servicing.support import (
    AMPLE_CREDIT,
    assert_invariants,
    do_draw,
    do_repay,
    key,
    open_line,
    snapshot,
)

DUE = date(2026, 4, 1)


def _reverse(
    factory: sessionmaker[Session], payment_id: str, on: date, k: str | None = None, **kw: str
) -> dict:  # type: ignore[type-arg]
    args = {"reason": "chargeback from the card issuer", "actor": "ops-1"} | kw
    with unit_of_work(factory) as session:
        request = ReversePaymentRequest(
            payment_id=payment_id, business_date=on, idempotency_key=k or key("rev"), **args
        )
        return reverse_payment(session, request).to_json()


def _contract(factory: sessionmaker[Session], contract_id: str) -> tuple[str, int, int, int, int, int]:
    with unit_of_work(factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None
        return (
            c.status,
            c.days_past_due,
            c.outstanding_principal,
            c.interest_receivable,
            c.penalty_receivable,
            c.last_replayed_seq,
        )


def _unapplied(factory: sessionmaker[Session], customer_id: str) -> int:
    with unit_of_work(factory, read_only=True) as session:
        row = session.get(UnappliedFunds, customer_id)
        return row.balance if row else 0


def test_reversed_payment_makes_the_installment_unpaid_with_penalty_from_the_due_date(
    session_factory: sessionmaker[Session],
) -> None:
    cid, line = open_line(session_factory)
    contract_id = do_draw(session_factory, line, 1_000_000, 1, method="bullet")["contract_id"]
    paid = do_repay(session_factory, cid, 1_009_300, DUE)  # on the due date: closes the contract
    assert paid["contracts"][0]["status"] == "closed"
    for day in range(1, 3):
        assert run_daily_close(session_factory, DUE + timedelta(days=day)).ok
    on = DUE + timedelta(days=9)
    result = _reverse(session_factory, paid["payment_id"], on, k="rev-1")
    assert result["status"] == "reversed" and result["unwound"] == []
    # owed again on 04-10: principal 1,000,000 + interest 9,300 + penalty 9 days × 450 = 4,050
    assert [(x["contract_id"], x["status"], x["total_outstanding"], x["penalty_outstanding"])
            for x in result["contracts"]] == [(contract_id, "active", 1_013_350, 4_050)]  # fmt: skip
    # DPD 9 on 04-10; interest and penalty are booked by the close of the day
    assert _contract(session_factory, contract_id)[:5] == ("active", 9, 1_000_000, 0, 0)
    assert run_daily_close(session_factory, on).ok
    # DPD 9 > grace 3: penalty from DPD 1 = 9 days × 1,000,000 × 0.00045 = 4,050
    assert _contract(session_factory, contract_id)[:5] == ("active", 9, 1_000_000, 9_300, 4_050)
    with unit_of_work(session_factory, read_only=True) as session:
        payment = session.get(Payment, paid["payment_id"])
        assert payment is not None and payment.state == "reversed"
        trail = audit_trail(session, "payment", paid["payment_id"])
        assert [(a.action, a.actor, a.reason) for a in trail] == [
            ("payment.reverse", "ops-1", "chargeback from the card issuer")
        ]
    assert_invariants(session_factory)
    # the same key replays the stored response; a new key is refused and changes nothing
    assert _reverse(session_factory, paid["payment_id"], on, k="rev-1") == result
    before = snapshot(session_factory)
    with pytest.raises(LendcoreError) as error:
        _reverse(session_factory, paid["payment_id"], on)
    assert error.value.code == "PAYMENT_ALREADY_REVERSED"
    assert snapshot(session_factory) == before


def test_reversal_takes_back_unapplied_funds_and_unwinds_credit_already_applied(
    session_factory: sessionmaker[Session],
) -> None:
    """¥16,000 pays off A on 03-11 (payoff 1,003,000: 10 days' interest 3,000), leaving 597,000 of
    credit. B (¥5,000 bullet drawn 03-11, due 04-11, interest 31 × 150 = 4,650) is paid from that
    credit by the close of 04-11 (504,650), leaving 92,350. On 04-15 the ¥16,000 is returned:
    the 92,350 left is taken back, and the 504,650 it no longer funds is unwound from B rather
    than letting any balance go negative: A and B are both owed again and overdue."""
    cid, line = open_line(session_factory)
    a = do_draw(session_factory, line, 1_000_000, 1, method="bullet")["contract_id"]
    paid = do_repay(session_factory, cid, 1_600_000, date(2026, 3, 11), max_overpayment=AMPLE_CREDIT)
    b = do_draw(session_factory, line, 500_000, 1, on=date(2026, 3, 11), method="bullet")["contract_id"]
    assert run_daily_close(session_factory, date(2026, 4, 11)).credit_applied == 504_650
    assert _unapplied(session_factory, cid) == 92_350
    on = date(2026, 4, 15)
    result = _reverse(session_factory, paid["payment_id"], on)
    # of the 597,000 it created, 92,350 was still unapplied (taken back); 504,650 was unwound from B
    assert result["unapplied_taken_back"] == 92_350
    assert result["customer_unapplied_balance"] == 0 == _unapplied(session_factory, cid)
    assert sorted((u["contract_id"], u["type"], u["amount"]) for u in result["unwound"]) == sorted(
        [(a, "credit-transfer", 504_650), (b, "credit-application", 504_650)]
    )
    assert run_daily_close(session_factory, on).ok
    # A: due 04-01, DPD 14: interest 9,300, penalty 14 × 450 = 6,300
    assert _contract(session_factory, a)[:5] == ("active", 14, 1_000_000, 9_300, 6_300)
    # B: due 04-11, DPD 4 (> grace 3): interest 4,650, penalty 4 × 500,000 × 0.00045 = 900
    assert _contract(session_factory, b)[:5] == ("active", 4, 500_000, 4_650, 900)
    assert_invariants(session_factory)


def test_reversal_rejections_change_nothing(session_factory: sessionmaker[Session]) -> None:
    cid, line = open_line(session_factory)
    drawn = do_draw(session_factory, line, 1_000_000, 1, method="bullet")
    paid = do_repay(session_factory, cid, 100_000, date(2026, 3, 11))
    before = snapshot(session_factory)
    for payment_id, kw, code in [
        ("pay_nope", {}, "PAYMENT_NOT_FOUND"),
        (drawn["payment_id"], {}, "PAYMENT_NOT_REVERSIBLE"),
        (paid["payment_id"], {"reason": " "}, "REASON_REQUIRED"),
        (paid["payment_id"], {"actor": ""}, "ACTOR_REQUIRED"),
    ]:
        with pytest.raises(LendcoreError) as error:
            _reverse(session_factory, payment_id, date(2026, 3, 12), **kw)
        assert error.value.code == code
        assert snapshot(session_factory) == before
