"""Every model round-trips on SQLite and PostgreSQL: money stays exact, dates stay dates, timestamps
come back aware in UTC, JSON documents come back equal, ids carry their prefixes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.store.engine import unit_of_work
from lendcore.store.models import (
    AuditRecord,
    BankCard,
    BusinessDate,
    Contract,
    CreditLine,
    Customer,
    IdempotencyKey,
    JobRun,
    JournalEntry,
    LoanTransaction,
    Payment,
    ScheduleRow,
    UnappliedFunds,
)
from tests.store.builders import (
    TODAY,
    add_card,
    add_contract,
    add_customer,
    add_entry,
    add_line,
    add_payment,
    add_txn,
)

BIG = 9_000_000_000_000_000  # fen: far beyond 32 bits, must survive BigInteger exactly


def test_a_full_graph_round_trips(session_factory: sessionmaker[Session]) -> None:
    requested = datetime(2025, 3, 14, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    with unit_of_work(session_factory) as session:
        customer = add_customer(
            session,
            name_ciphertext=b"\x00k1\xffname",
            id_number_hash="a" * 64,
            phone_hash="b" * 64,
            birth_date=date(1990, 1, 2),
        )
        card = add_card(session, customer)
        line = add_line(session, customer, credit_limit=BIG)
        contract = add_contract(session, line, state={"principal": 1_000_000, "paid": [1, 2]})
        session.add(
            ScheduleRow(
                contract_id=contract.id,
                version=1,
                period=1,
                start_date=TODAY,
                due_date=date(2025, 4, 14),
                days=31,
                principal=330_000,
                interest=15_500,
                fee=0,
                total=345_500,
                remaining_principal=670_000,
            )
        )
        payment = add_payment(
            session, customer, contract_id=contract.id, bank_card_id=card.id, requested_at=requested
        )
        txn = add_txn(session, contract, payment_id=payment.id, payload={"allocation": {"principal": 1}})
        add_entry(session, [("loans_principal", 1_000_000, 0), ("cash", 0, 1_000_000)], contract)
        session.add(UnappliedFunds(customer_id=customer.id, balance=123))
        session.add(IdempotencyKey(scope="repay", key="k1", request_hash="f" * 64, response={"ok": True}))
        session.add(
            AuditRecord(actor="staff:1", action="waive", target_type="contract", target_id=contract.id)
        )
        session.add(BusinessDate(name="default", business_date=TODAY))
        session.add(JobRun(job="accrual", business_date=TODAY))
        ids = (customer.id, line.id, contract.id, payment.id, txn.id)

    with unit_of_work(session_factory, read_only=True) as session:
        customer_id, line_id, contract_id, payment_id, txn_id = ids
        customer = session.get_one(Customer, customer_id)
        assert customer_id.startswith("cus_")
        assert customer.name_ciphertext == b"\x00k1\xffname"
        assert customer.birth_date == date(1990, 1, 2)
        assert customer.status == "active"
        assert customer.created_at.tzinfo is not None
        assert customer.created_at.utcoffset() == timedelta(0)

        line = session.get_one(CreditLine, line_id)
        assert line_id.startswith("cl_")
        assert line.credit_limit == BIG
        assert line.version == 1

        contract = session.get_one(Contract, contract_id)
        assert contract_id.startswith("ln_")
        assert contract.terms == {"daily_rate": "0.0005", "penalty_multiplier": "1.5"}
        assert contract.state == {"principal": 1_000_000, "paid": [1, 2]}
        assert (contract.outstanding_principal, contract.last_replayed_seq, contract.schedule_version) == (
            1_000_000,
            0,
            1,
        )

        row = session.scalars(select(ScheduleRow).where(ScheduleRow.contract_id == contract_id)).one()
        assert (row.due_date, row.total) == (date(2025, 4, 14), 345_500)

        payment = session.get_one(Payment, payment_id)
        assert payment_id.startswith("pay_")
        assert payment.state == "created"
        assert payment.requested_at == requested  # same instant …
        assert payment.requested_at.tzinfo == UTC  # … read back in UTC
        assert payment.requested_at.hour == 1

        txn = session.get_one(LoanTransaction, txn_id)
        assert txn_id.startswith("txn_")
        assert txn.payload == {"allocation": {"principal": 1}}

        entry = session.scalars(select(JournalEntry)).one()
        assert entry.id.startswith("je_")
        assert [(p.account_code, p.debit, p.credit) for p in entry.postings] == [
            ("loans_principal", 1_000_000, 0),
            ("cash", 0, 1_000_000),
        ]
        assert session.get_one(UnappliedFunds, customer_id).balance == 123
        assert session.scalars(select(IdempotencyKey)).one().response == {"ok": True}
        assert session.scalars(select(AuditRecord)).one().details == {}
        assert session.get_one(BusinessDate, "default").business_date == TODAY
        assert session.scalars(select(JobRun)).one().status == "running"
        assert session.scalars(select(BankCard)).one().is_default is True


def test_naive_timestamps_are_refused(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(Exception, match="naive datetime"), unit_of_work(session_factory) as session:
        add_customer(session, created_at=datetime(2025, 1, 1, 12, 0))


def test_version_increments_on_every_update(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        line_id = add_line(session, add_customer(session)).id
    for limit in (100, 200):
        with unit_of_work(session_factory) as session:
            session.get_one(CreditLine, line_id).credit_limit = limit
    with unit_of_work(session_factory, read_only=True) as session:
        line = session.get_one(CreditLine, line_id)
        assert (line.credit_limit, line.version) == (200, 3)
