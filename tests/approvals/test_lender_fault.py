"""Staff open a lender-fault window by hand through maker-checker (approval kind ``lender-fault``, target
the customer): an operator proposes, finance approves, the window is recorded and the customer told;
from then on the close waives the penalty and suppresses the overdue status the window covers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.approvals.proposals import approve
from lendcore.batch.close import run_daily_close
from lendcore.core.errors import LendcoreError
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract
from lendcore.store.models_jobs import Job
from lendcore.store.models_payments import LenderFault
from tests.approvals.test_proposals import FINANCE, OPERATOR_2, _propose
from tests.servicing.support import assert_invariants, do_draw, open_line

DUE = date(2026, 4, 1)
LATER = datetime(2026, 4, 3, 3, 0, tzinfo=UTC)


def _bullet(factory: sessionmaker[Session]) -> tuple[str, str]:
    customer_id, line_id = open_line(factory)
    return customer_id, do_draw(factory, line_id, 1_000_000, 1, method="bullet")["contract_id"]


def test_an_approved_fault_is_recorded_the_customer_told_and_the_close_honours_it(
    session_factory: sessionmaker[Session],
) -> None:
    customer_id, contract_id = _bullet(session_factory)
    run_daily_close(session_factory, DUE + timedelta(days=1))  # business date 04-03
    proposal = _propose(
        session_factory, "lender-fault", customer_id, now=LATER, payload={"starts_on": DUE.isoformat()}
    )
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalars(select(LenderFault)).all() == []  # nothing runs on a proposal
    with pytest.raises(LendcoreError) as refused, unit_of_work(session_factory) as session:
        approve(session, proposal, OPERATOR_2, now=LATER)
    assert refused.value.code == "PERMISSION_DENIED"
    with unit_of_work(session_factory) as session:
        view = approve(session, proposal, FINANCE, now=LATER, reason="SMS gateway lost the reminders")
    assert view.status == "executed" and view.result is not None
    assert (view.result["customer_id"], view.result["starts_on"], view.result["ends_on"]) == (
        customer_id,
        "2026-04-01",
        None,
    )
    with unit_of_work(session_factory, read_only=True) as session:
        fault = session.scalars(select(LenderFault)).one()
        assert (fault.kind, fault.customer_id, fault.actor, fault.reason) == (
            "manual",
            customer_id,
            "stf_finance",
            "customer complaint #12",  # the proposal's reason: what the window is for
        )
        told = session.scalars(select(Job.payload).where(Job.kind == "customer.notify")).all()
        assert [t["template"] for t in told] == ["lender_fault_opened"]
    for day in range(2, 8):
        run_daily_close(session_factory, DUE + timedelta(days=day))
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None
        assert (c.penalty_receivable, c.days_past_due, c.classification) == (0, 0, "normal")
    assert_invariants(session_factory)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({}, "INVALID_PROPOSAL_PAYLOAD"),
        ({"starts_on": "04/01/2026"}, "INVALID_PROPOSAL_PAYLOAD"),
        ({"starts_on": "2026-04-01", "ends_on": "2026-03-31"}, "FAULT_WINDOW_INVALID"),
        ({"starts_on": "2026-04-01", "scope": "all"}, "INVALID_PROPOSAL_PAYLOAD"),
        ({"starts_on": "2026-04-01", "contract_id": 7}, "INVALID_PROPOSAL_PAYLOAD"),
    ],
)
def test_a_bad_window_is_refused_when_proposed(
    session_factory: sessionmaker[Session], payload: dict[str, Any], code: str
) -> None:
    customer_id, _ = _bullet(session_factory)
    with pytest.raises(LendcoreError) as refused:
        _propose(session_factory, "lender-fault", customer_id, payload=payload)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"starts_on": "2026-05-01"}, "FAULT_WINDOW_INVALID"),  # after the business date
        ({"starts_on": "2026-04-01", "contract_id": "other"}, "CONTRACT_NOT_FOUND"),
    ],
)
def test_a_window_that_cannot_be_is_refused_on_approval_and_nothing_is_written(
    session_factory: sessionmaker[Session], payload: dict[str, Any], code: str
) -> None:
    customer_id, _ = _bullet(session_factory)
    other = _bullet(session_factory)[1]
    run_daily_close(session_factory, DUE + timedelta(days=1))
    if payload.get("contract_id") == "other":
        payload = payload | {"contract_id": other}  # a contract of another customer
    proposal = _propose(session_factory, "lender-fault", customer_id, now=LATER, payload=payload)
    with pytest.raises(LendcoreError) as refused, unit_of_work(session_factory) as session:
        approve(session, proposal, FINANCE, now=LATER)
    assert refused.value.code == code
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalars(select(LenderFault)).all() == []


def test_the_customer_must_exist(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(LendcoreError) as refused:
        _propose(
            session_factory,
            "lender-fault",
            "cus_01JF0000000000000000000000",
            payload={"starts_on": "2026-04-01"},
        )
    assert refused.value.code == "CUSTOMER_NOT_FOUND"
