"""Hardship plans end to end: an operator proposes, risk approves (an offer is made), the customer
sees the new schedule, APR and total cost, and only their acceptance books the restructure."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.approvals.proposals import ProposeRequest, Staff, approve, propose
from lendcore.auth.principal import StaffRole
from lendcore.batch.close import run_daily_close
from lendcore.core.allocation import CustomerMode
from lendcore.core.errors import LendcoreError
from lendcore.servicing.hardship import (
    DecideOfferRequest,
    accept_offer,
    decline_offer,
    get_offer,
    list_offers,
)
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.models import AuditRecord, Contract, LoanTransaction, ScheduleRow
from lendcore.store.models_hardship import HardshipOffer
from tests.servicing.support import assert_invariants, do_draw, do_repay, key, open_line, snapshot

OPERATOR = Staff("stf_operator", frozenset({StaffRole.OPERATOR}), "10.0.0.1")
RISK = Staff("stf_risk", frozenset({StaffRole.RISK}), "10.0.0.4")
FINANCE = Staff("stf_finance", frozenset({StaffRole.FINANCE}), "10.0.0.3")
CLOSED_THROUGH = date(2026, 5, 10)  # installments of 04-01 and 05-01 unpaid
OPEN = CLOSED_THROUGH + timedelta(days=1)  # the open business date


def _now(on: date) -> datetime:
    return datetime(on.year, on.month, on.day, 3, 0, tzinfo=UTC)


def _book(factory: sessionmaker[Session], product: str = "premium") -> tuple[str, str]:
    customer, line = open_line(factory, product=product, limit=5_000_000)
    method = "equal-installment" if product == "premium" else None
    term = 12 if product == "premium" else 3
    contract = do_draw(factory, line, 1_200_000, term, method=method)["contract_id"]
    run_daily_close(factory, CLOSED_THROUGH)
    return customer, contract


def _offer(
    factory: sessionmaker[Session], contract: str, payload: dict[str, Any], on: date = OPEN
) -> dict[str, Any]:
    with unit_of_work(factory) as session:
        proposal = propose(
            session, ProposeRequest("hardship-plan", contract, "lost job", payload), OPERATOR, now=_now(on)
        )
    with unit_of_work(factory) as session:
        view = approve(session, proposal.id, RISK, now=_now(on))
    assert view.result is not None
    return view.result


def _decide(
    factory: sessionmaker[Session],
    offer: str,
    customer: str,
    on: date = OPEN,
    k: str | None = None,
    accept: bool = True,
) -> dict[str, Any]:
    request = DecideOfferRequest(offer, customer, on, k or key("hs"))
    with unit_of_work(factory) as session:
        result = accept_offer(session, request) if accept else decline_offer(session, request)
        return result.to_json()


def _code(excinfo: pytest.ExceptionInfo[LendcoreError]) -> str:
    return excinfo.value.code


def test_an_approved_plan_is_offered_and_acceptance_books_it(session_factory: sessionmaker[Session]) -> None:
    customer, contract = _book(session_factory)
    with unit_of_work(session_factory, read_only=True) as session:
        before = session.get(Contract, contract)
        assert before is not None and before.days_past_due > 0
        principal_before, maturity_before = before.outstanding_principal, before.maturity_date
        version_before, seq_before = before.schedule_version, before.last_replayed_seq
    offer = _offer(session_factory, contract, {"kind": "re-amortisation", "periods": 3})
    plan = offer["plan"]
    assert offer["status"] == "offered" and offer["expires_on"] == (OPEN + timedelta(days=7)).isoformat()
    assert plan["principal"] == principal_before
    assert sum(r["principal"] for r in plan["schedule"]) == principal_before
    assert len(plan["schedule"]) == 10 + 3  # 10 installments left (06-01 … 03-01) plus 3
    assert plan["total_to_pay"] == plan["arrears"] + plan["carried_interest"] + sum(
        r["total"] for r in plan["schedule"]
    )
    assert 0 < float(plan["apr"]) < 0.24
    with unit_of_work(session_factory, read_only=True) as session:
        assert [o.id for o in list_offers(session, on=OPEN, customer_id=customer)] == [offer["id"]]
        stored = session.get(Contract, contract)
        assert stored is not None and stored.last_replayed_seq == seq_before  # nothing booked
    decision = _decide(session_factory, offer["id"], customer)
    assert decision["status"] == "accepted" and decision["txn_id"]
    with unit_of_work(session_factory, read_only=True) as session:
        after = session.get(Contract, contract)
        assert after is not None
        assert after.outstanding_principal == principal_before
        assert after.maturity_date == date.fromisoformat(plan["schedule"][-1]["due_date"]) != maturity_before
        assert after.schedule_version == version_before + 1
        rows = session.scalars(
            select(ScheduleRow).where(
                ScheduleRow.contract_id == contract, ScheduleRow.version == after.schedule_version
            )
        ).all()
        assert [r.due_date.isoformat() for r in rows if r.due_date > OPEN] == [
            r["due_date"] for r in plan["schedule"]
        ]
        types = session.scalars(
            select(LoanTransaction.type).where(
                LoanTransaction.contract_id == contract, LoanTransaction.type == "restructure"
            )
        ).all()
        assert types == ["restructure"]
        actions = session.scalars(select(AuditRecord.action).where(AuditRecord.target_id == contract)).all()
        assert {"hardship.offer", "hardship.accept"} <= set(actions)
    assert_invariants(session_factory)


def test_acceptance_is_idempotent_and_decided_once(session_factory: sessionmaker[Session]) -> None:
    customer, contract = _book(session_factory)
    offer = _offer(session_factory, contract, {"kind": "extension", "periods": 2})["id"]
    first = _decide(session_factory, offer, customer, k="accept-1")
    assert _decide(session_factory, offer, customer, k="accept-1") == first  # a retry: same answer
    with pytest.raises(LendcoreError) as again:
        _decide(session_factory, offer, customer, k="accept-2")
    assert _code(again) == "HARDSHIP_OFFER_DECIDED"
    with pytest.raises(LendcoreError) as reused:
        _decide(session_factory, "hso_other", customer, k="accept-1")  # the key, another body
    assert _code(reused) == "IDEMPOTENCY_KEY_REUSED"
    with pytest.raises(LendcoreError) as declined:
        _decide(session_factory, offer, customer, accept=False)
    assert _code(declined) == "HARDSHIP_OFFER_DECIDED"
    with unit_of_work(session_factory, read_only=True) as session:
        n = session.scalar(
            select(func.count()).where(
                LoanTransaction.contract_id == contract, LoanTransaction.type == "restructure"
            )
        )
        assert n == 1
    assert_invariants(session_factory)


def test_only_the_customer_sees_or_decides_their_offer(session_factory: sessionmaker[Session]) -> None:
    _, contract = _book(session_factory)
    other, _ = open_line(session_factory, product="premium")
    offer = _offer(session_factory, contract, {"kind": "extension", "periods": 1})["id"]
    before = snapshot(session_factory)
    for accept in (True, False):
        with pytest.raises(LendcoreError) as excinfo:
            _decide(session_factory, offer, other, accept=accept)
        assert _code(excinfo) == "HARDSHIP_OFFER_NOT_FOUND"
    with pytest.raises(LendcoreError) as hidden, unit_of_work(session_factory, read_only=True) as session:
        get_offer(session, offer, on=OPEN, customer_id=other)
    assert _code(hidden) == "HARDSHIP_OFFER_NOT_FOUND"
    assert snapshot(session_factory) == before


def test_declining_books_nothing(session_factory: sessionmaker[Session]) -> None:
    customer, contract = _book(session_factory)
    offer = _offer(session_factory, contract, {"kind": "extension", "periods": 1})["id"]
    before = snapshot(session_factory)
    assert _decide(session_factory, offer, customer, accept=False)["status"] == "declined"
    after = snapshot(session_factory)
    assert after["balances"] == before["balances"]
    assert {k: v for k, v in after["counts"].items() if k != "audit_log"} == {
        k: v for k, v in before["counts"].items() if k != "audit_log"
    }


def test_an_expired_offer_cannot_be_accepted(session_factory: sessionmaker[Session]) -> None:
    customer, contract = _book(session_factory)
    offer = _offer(session_factory, contract, {"kind": "extension", "periods": 1})["id"]
    late = OPEN + timedelta(days=8)
    run_daily_close(session_factory, late - timedelta(days=1))
    with pytest.raises(LendcoreError) as excinfo:
        _decide(session_factory, offer, customer, on=late)
    assert _code(excinfo) == "HARDSHIP_OFFER_EXPIRED"
    with unit_of_work(session_factory, read_only=True) as session:
        assert get_offer(session, offer, on=late).status == "expired"


def test_an_offer_accepted_days_later_books_the_plan_shown(session_factory: sessionmaker[Session]) -> None:
    customer, contract = _book(session_factory)
    offer = _offer(session_factory, contract, {"kind": "re-amortisation", "periods": 6})
    later = OPEN + timedelta(days=5)
    run_daily_close(session_factory, later - timedelta(days=1))  # daily accruals booked meanwhile
    _decide(session_factory, offer["id"], customer, on=later)
    with unit_of_work(session_factory, read_only=True) as session:
        row = session.get(HardshipOffer, offer["id"])
        assert row is not None and row.status == "accepted" and row.decided_on == later
        stored = session.get(Contract, contract)
        assert stored is not None
        assert stored.maturity_date == date.fromisoformat(offer["plan"]["schedule"][-1]["due_date"])
    assert_invariants(session_factory)


def test_a_payment_after_the_offer_makes_it_stale(session_factory: sessionmaker[Session]) -> None:
    customer, contract = _book(session_factory)
    offer = _offer(session_factory, contract, {"kind": "extension", "periods": 1})["id"]
    do_repay(session_factory, customer, 10_000, OPEN)
    with pytest.raises(LendcoreError) as excinfo:
        _decide(session_factory, offer, customer)
    assert _code(excinfo) == "HARDSHIP_OFFER_STALE"


def test_product_limits_are_enforced_at_approval(session_factory: sessionmaker[Session]) -> None:
    customer, contract = _book(session_factory)
    with pytest.raises(LendcoreError) as many:
        _offer(session_factory, contract, {"kind": "extension", "periods": 7})
    assert _code(many) == "RESTRUCTURE_PERIODS_EXCEEDED"
    first = _offer(session_factory, contract, {"kind": "extension", "periods": 1})["id"]
    with pytest.raises(LendcoreError) as open_one:
        _offer(session_factory, contract, {"kind": "extension", "periods": 1})
    assert _code(open_one) == "HARDSHIP_OFFER_OPEN"
    _decide(session_factory, first, customer)
    second = _offer(session_factory, contract, {"kind": "re-amortisation", "periods": 2})["id"]
    _decide(session_factory, second, customer)
    with pytest.raises(LendcoreError) as reached:
        _offer(session_factory, contract, {"kind": "extension", "periods": 1})
    assert _code(reached) == "RESTRUCTURE_LIMIT_REACHED"  # premium: two per contract
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(HardshipOffer)) == 2
    assert_invariants(session_factory)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"kind": "moratorium", "periods": 1}, "INVALID_RESTRUCTURE_KIND"),
        ({"kind": "extension", "periods": 0}, "INVALID_RESTRUCTURE_PERIODS"),
        ({"kind": "extension", "periods": "2"}, "INVALID_PROPOSAL_PAYLOAD"),
        ({"kind": "extension"}, "INVALID_PROPOSAL_PAYLOAD"),
        ({"kind": "extension", "periods": 1, "rate": "0"}, "INVALID_PROPOSAL_PAYLOAD"),
    ],
)
def test_bad_proposals_are_refused_before_anything_is_written(
    session_factory: sessionmaker[Session], payload: dict[str, Any], code: str
) -> None:
    _, line = open_line(session_factory, product="premium")
    contract = do_draw(session_factory, line, 1_200_000, 12, method="equal-installment")["contract_id"]
    with pytest.raises(LendcoreError) as excinfo, unit_of_work(session_factory) as session:
        propose(
            session,
            ProposeRequest("hardship-plan", contract, "why", payload),
            OPERATOR,
            now=_now(date(2026, 3, 1)),
        )
    assert _code(excinfo) == code


def test_who_may_propose_and_approve(session_factory: sessionmaker[Session]) -> None:
    _, contract = _book(session_factory)
    with pytest.raises(LendcoreError) as maker, unit_of_work(session_factory) as session:
        propose(
            session,
            ProposeRequest("hardship-plan", contract, "why", {"kind": "extension", "periods": 1}),
            RISK,
            now=_now(OPEN),
        )
    assert _code(maker) == "PERMISSION_DENIED"
    with unit_of_work(session_factory) as session:
        proposal = propose(
            session,
            ProposeRequest("hardship-plan", contract, "why", {"kind": "extension", "periods": 1}),
            OPERATOR,
            now=_now(OPEN),
        )
    with unit_of_work(session_factory) as session:
        assert approve(session, proposal.id, FINANCE, now=_now(OPEN)).status == "executed"


def test_a_product_without_plans_refuses(session_factory: sessionmaker[Session]) -> None:
    _, line = open_line(session_factory, product="pos", limit=5_000_000)
    contract = do_draw(session_factory, line, 300_000, 3, merchant_id="mch_test")["contract_id"]
    with pytest.raises(LendcoreError) as excinfo:
        _offer(session_factory, contract, {"kind": "extension", "periods": 1}, on=date(2026, 3, 1))
    assert _code(excinfo) == "HARDSHIP_NOT_OFFERED"


def test_a_settled_contract_cannot_be_restructured(session_factory: sessionmaker[Session]) -> None:
    customer, line = open_line(session_factory, product="premium")
    contract = do_draw(session_factory, line, 100_000, 3, method="equal-installment")["contract_id"]
    do_repay(session_factory, customer, None, date(2026, 3, 1), mode=CustomerMode.PAY_OFF_ALL)
    with pytest.raises(LendcoreError) as excinfo:
        _offer(session_factory, contract, {"kind": "extension", "periods": 1}, on=date(2026, 3, 1))
    assert _code(excinfo) == "CONTRACT_NOT_ACTIVE"


def test_a_plan_whose_disclosed_apr_exceeds_the_cap_is_not_offered(
    session_factory: sessionmaker[Session],
) -> None:
    # a 6-month payment holiday: the nominal-IRR APR treats the long first period as an ordinary one
    # (0.05 %/day, 12 months from 03-01, on 08-17: 25.13 % nominal, 19.28 % effective)
    _, contract = _book(session_factory)
    run_daily_close(session_factory, date(2026, 8, 16))
    on = date(2026, 8, 17)
    with pytest.raises(LendcoreError) as excinfo:
        _offer(session_factory, contract, {"kind": "extension", "periods": 6}, on=on)
    assert _code(excinfo) == "APR_CAP_EXCEEDED"
    offer = _offer(session_factory, contract, {"kind": "re-amortisation", "periods": 6}, on=on)
    assert float(offer["plan"]["apr"]) <= 0.24 and offer["plan"]["apr_method"] == "nominal-irr"


def test_two_acceptances_at_once_book_one_restructure(postgres_database_url: str) -> None:
    engine = create_engine(postgres_database_url, pool_size=10)
    factory = create_session_factory(engine)
    try:
        customer, contract = _book(factory)
        offer = _offer(factory, contract, {"kind": "extension", "periods": 1})["id"]

        def one(i: int) -> str:
            try:
                return str(_decide(factory, offer, customer, k=f"race-{i}", accept=i % 2 == 0)["status"])
            except LendcoreError as error:
                return error.code

        with ThreadPoolExecutor(6) as pool:
            outcomes = sorted(pool.map(one, range(6)))
        decided = [o for o in outcomes if o in ("accepted", "declined")]
        assert len(decided) == 1 and outcomes.count("HARDSHIP_OFFER_DECIDED") == 5
        with unit_of_work(factory, read_only=True) as session:
            n = session.scalar(
                select(func.count()).where(
                    LoanTransaction.contract_id == contract, LoanTransaction.type == "restructure"
                )
            )
            assert n == (1 if decided == ["accepted"] else 0)
        assert_invariants(factory)
    finally:
        engine.dispose()
