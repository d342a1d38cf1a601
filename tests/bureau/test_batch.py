"""The bureau batch of a business day through the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.bureau.batch import build_batch, store_batch
from lendcore.bureau.message import AccountRecord, check_message
from lendcore.core.bureau_status import event_report_date
from lendcore.core.errors import LendcoreError
from lendcore.store.engine import unit_of_work
from lendcore.store.models_post import BureauRecord
from tests.servicing.support import do_draw, open_line

DRAWN = date(2026, 3, 2)  # a Monday; premium, 12 months, first due 04-02, never paid


def _drawn(factory: sessionmaker[Session]) -> str:
    _, line = open_line(factory, product="premium", on=DRAWN)
    return str(do_draw(factory, line, 1_200_000, 12, on=DRAWN)["contract_id"])


def test_the_opening_is_reported_the_next_business_day_and_stored_with_its_source(
    session_factory: sessionmaker[Session],
) -> None:
    contract = _drawn(session_factory)
    with unit_of_work(session_factory, read_only=True) as session:
        assert build_batch(session, DRAWN).records == ()
        batch = build_batch(session, date(2026, 3, 3))
    assert [(r.built_from.contract_id, r.reason.value) for r in batch.records] == [(contract, "10")]
    assert check_message(batch.message()) == []
    with unit_of_work(session_factory) as session:
        assert store_batch(session, batch) == 1
    with unit_of_work(session_factory, read_only=True) as session:
        row = session.scalars(select(BureauRecord)).one()
        assert (row.kind, row.reason, row.report_date, row.batch_date) == (
            "event",
            "10",
            DRAWN,
            date(2026, 3, 3),
        )
        assert row.built_from == {"contract_id": contract, "transactions_applied": 1, "through": "2026-03-02"}
        # a past date's batch is rebuilt identically
        assert build_batch(session, date(2026, 3, 3)).message() == batch.message()
    with pytest.raises(LendcoreError) as err, unit_of_work(session_factory) as session:
        store_batch(session, batch)
    assert err.value.code == "BUREAU_BATCH_EXISTS"


def test_month_end_record_and_a_first_negative_one_held_until_the_customer_is_told(
    session_factory: sessionmaker[Session],
) -> None:
    contract = _drawn(session_factory)
    march_batch = event_report_date(date(2026, 3, 31))
    april_batch = event_report_date(date(2026, 4, 30))
    with unit_of_work(session_factory, read_only=True) as session:
        march = build_batch(session, march_batch)
        assert [(r.reason.value, _status(r)) for r in march.records] == [("30", "*")]
        held = build_batch(session, april_batch)
        assert (held.records, held.held) == ((), (contract,))
        told = build_batch(session, april_batch, notices={contract: date(2026, 4, 20)})
    assert [(r.reason.value, _status(r)) for r in told.records] == [("30", "1")]
    assert told.held == ()


def _status(record: AccountRecord) -> str:
    return record.as_segments()["AcctMthlyBlgInfSgmt"]["AcctStatus"]


def test_no_negative_record_for_overdue_that_began_in_a_fault_window_or_while_money_was_in_flight(
    session_factory: sessionmaker[Session],
) -> None:
    """The first installment (due 04-02) is unpaid at the April month end: the record would be "1".
    A window from the due date for the customer, or a repayment started before it and still in flight,
    keeps it out (listed as suppressed), even with the customer told; the earlier lateness is not ours."""
    from lendcore.core.faults import FaultKind
    from lendcore.servicing.faults import record_fault
    from lendcore.servicing.repay import RepayRequest
    from lendcore.servicing.settlement import request_repayment
    from lendcore.store.models import Contract

    in_window, in_flight, late_window = (_drawn(session_factory) for _ in range(3))
    april_batch = event_report_date(date(2026, 4, 30))
    with unit_of_work(session_factory) as session:
        customer = {c: session.get(Contract, c).customer_id for c in (in_window, in_flight, late_window)}  # type: ignore[union-attr]
        record_fault(
            session,
            kind=FaultKind.MANUAL,
            starts_on=date(2026, 4, 2),
            customer_id=customer[in_window],
            reason="x",
        )
        record_fault(
            session,
            kind=FaultKind.MANUAL,
            starts_on=date(2026, 4, 20),
            customer_id=customer[late_window],
            reason="y",
        )
        request_repayment(
            session,
            RepayRequest(
                customer_id=customer[in_flight], business_date=DRAWN, idempotency_key="k1", amount=110_000
            ),
        )
    with unit_of_work(session_factory, read_only=True) as session:
        notices = {c: date(2026, 4, 20) for c in customer}
        batch = build_batch(session, april_batch, notices=notices)
    by_contract = {r.built_from.contract_id: _status(r) for r in batch.records if r.reason.value == "30"}
    assert by_contract == {late_window: "1"}
    assert sorted(batch.suppressed) == sorted([in_window, in_flight])
