"""The database itself refuses rows that would break a money rule, whatever code writes them.

Each case below starts from a valid customer, line, contract and payment, tries one bad write in its
own unit of work, and must get an IntegrityError (with nothing committed). Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from lendcore.store.engine import unit_of_work
from lendcore.store.models import (
    AuditRecord,
    BankCard,
    Contract,
    CreditLine,
    Customer,
    IdempotencyKey,
    JobRun,
    JournalEntry,
    Payment,
    Posting,
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


@dataclass(frozen=True)
class World:
    customer_id: str
    line_id: str
    contract_id: str
    payment_id: str
    txn_id: str


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    with unit_of_work(session_factory) as session:
        customer = add_customer(session, phone_hash="p" * 64, id_number_hash="i" * 64)
        add_card(session, customer)
        line = add_line(session, customer)
        contract = add_contract(session, line)
        payment = add_payment(session, customer, channel_reference="CH-1", idempotency_key="pay-key-1")
        txn = add_txn(session, contract)
        add_txn(session, contract, seq=2, type="reversal", reverses_txn_id=txn.id)
        session.add(IdempotencyKey(scope="repay", key="k1", request_hash="0" * 64, response={}))
        session.add(JobRun(job="accrual", business_date=TODAY))
        session.add(
            ScheduleRow(
                contract_id=contract.id,
                version=1,
                period=1,
                start_date=TODAY,
                due_date=date(2025, 4, 14),
                days=31,
                principal=1,
                interest=0,
                fee=0,
                total=1,
                remaining_principal=0,
            )
        )
        return World(customer.id, line.id, contract.id, payment.id, txn.id)


def _schedule_row(w: World, **overrides: int) -> ScheduleRow:
    values = {"version": 1, "period": 2, "principal": 10, "interest": 5, "fee": 0, "total": 15}
    values |= overrides
    return ScheduleRow(
        contract_id=w.contract_id,
        start_date=TODAY,
        due_date=date(2025, 5, 14),
        days=30,
        remaining_principal=0,
        **values,
    )


def _entry(session: Session, debit: int, credit: int) -> None:
    add_entry(session, [("cash", debit, credit)])


Violation = Callable[[Session, World], object]

VIOLATIONS: dict[str, Violation] = {
    # non-negative balances and limits
    "negative credit limit": lambda s, w: add_line(s, s.get_one(Customer, w.customer_id), credit_limit=-1),
    "unknown line status": lambda s, w: add_line(s, s.get_one(Customer, w.customer_id), status="open"),
    "negative outstanding principal": lambda s, w: setattr(
        s.get_one(Contract, w.contract_id), "outstanding_principal", -1
    ),
    "negative interest receivable": lambda s, w: setattr(
        s.get_one(Contract, w.contract_id), "interest_receivable", -1
    ),
    "negative penalty receivable": lambda s, w: setattr(
        s.get_one(Contract, w.contract_id), "penalty_receivable", -1
    ),
    "zero principal contract": lambda s, w: add_contract(s, s.get_one(CreditLine, w.line_id), principal=0),
    "negative unapplied balance": lambda s, w: s.add(UnappliedFunds(customer_id=w.customer_id, balance=-1)),
    # schedules
    "installment total is not the sum": lambda s, w: s.add(_schedule_row(w, total=16)),
    "negative installment interest": lambda s, w: s.add(_schedule_row(w, interest=-5, total=5)),
    "duplicate schedule period": lambda s, w: s.add(_schedule_row(w, period=1)),
    # transactions
    "duplicate transaction seq": lambda s, w: add_txn(s, s.get_one(Contract, w.contract_id), seq=1),
    "negative transaction amount": lambda s, w: add_txn(
        s, s.get_one(Contract, w.contract_id), seq=3, amount=-1
    ),
    "transaction reversed twice": lambda s, w: add_txn(
        s, s.get_one(Contract, w.contract_id), seq=3, type="reversal", reverses_txn_id=w.txn_id
    ),
    # postings: exactly one side positive, the other zero
    "posting with both sides": lambda s, w: _entry(s, 100, 100),
    "posting with neither side": lambda s, w: _entry(s, 0, 0),
    "posting with a negative debit": lambda s, w: _entry(s, -100, 0),
    "posting with a negative credit": lambda s, w: _entry(s, 0, -100),
    # payments
    "zero payment": lambda s, w: add_payment(s, s.get_one(Customer, w.customer_id), amount=0),
    "negative payment": lambda s, w: add_payment(s, s.get_one(Customer, w.customer_id), amount=-500),
    "unknown payment state": lambda s, w: add_payment(s, s.get_one(Customer, w.customer_id), state="pending"),
    "unknown payment direction": lambda s, w: add_payment(
        s, s.get_one(Customer, w.customer_id), direction="in"
    ),
    "duplicate channel reference": lambda s, w: add_payment(
        s, s.get_one(Customer, w.customer_id), channel_reference="CH-1"
    ),
    "duplicate payment idempotency key": lambda s, w: add_payment(
        s, s.get_one(Customer, w.customer_id), idempotency_key="pay-key-1"
    ),
    # keys and markers
    "duplicate idempotency key in a scope": lambda s, w: s.add(
        IdempotencyKey(scope="repay", key="k1", request_hash="1" * 64)
    ),
    "second run of a job for one business date": lambda s, w: s.add(
        JobRun(job="accrual", business_date=TODAY)
    ),
    "duplicate phone hash": lambda s, w: add_customer(s, phone_hash="p" * 64),
    "duplicate ID-number hash": lambda s, w: add_customer(s, id_number_hash="i" * 64),
    "second default card": lambda s, w: add_card(
        s, s.get_one(Customer, w.customer_id), card_number_hash="d" * 64
    ),
    "same card bound twice": lambda s, w: add_card(s, s.get_one(Customer, w.customer_id), is_default=False),
    # foreign keys (on SQLite too: the engine turns them on)
    "contract on an unknown line": lambda s, w: s.add(
        Contract(
            credit_line_id="cl_missing",
            customer_id=w.customer_id,
            product_code="quick",
            principal=1,
            method="bullet",
            term=1,
            daily_rate_ppm=500,
            start_date=TODAY,
            first_due_date=date(2025, 4, 14),
            status="active",
        )
    ),
    "payment for an unknown customer": lambda s, w: s.add(
        Payment(direction="inbound", customer_id="cus_missing", amount=1, channel="sim", value_date=TODAY)
    ),
}


@pytest.mark.parametrize("violation", VIOLATIONS.values(), ids=VIOLATIONS.keys())
def test_the_database_refuses(
    violation: Violation, world: World, session_factory: sessionmaker[Session]
) -> None:
    with pytest.raises(IntegrityError), unit_of_work(session_factory) as session:
        violation(session, world)
        session.flush()
    with unit_of_work(session_factory, read_only=True) as session:  # nothing was committed
        assert session.scalar(select(func.count()).select_from(Customer)) == 1
        assert session.get_one(Contract, world.contract_id).outstanding_principal == 1_000_000


def test_what_the_constraints_allow(world: World, session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        customer = session.get_one(Customer, world.customer_id)
        # the same idempotency key in another scope, and payments without channel reference or key
        session.add(IdempotencyKey(scope="draw", key="k1", request_hash="1" * 64))
        add_payment(session, customer)
        add_payment(session, customer)
        # a second, non-default card; a zero balance; a zero-rate (interest-free) contract
        add_card(session, customer, card_number_hash="e" * 64, is_default=False)
        session.add(UnappliedFunds(customer_id=customer.id, balance=0))
        add_contract(session, session.get_one(CreditLine, world.line_id), daily_rate_ppm=0)
        # the same job on the next business date
        session.add(JobRun(job="accrual", business_date=date(2025, 3, 15)))
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(BankCard)) == 2


APPEND_ONLY = {
    "update audit record": lambda s: s.execute(update(AuditRecord).values(action="edited")),
    "delete audit record": lambda s: s.execute(delete(AuditRecord)),
    "update journal entry": lambda s: s.execute(update(JournalEntry).values(description="edited")),
    "delete journal entry": lambda s: s.execute(delete(JournalEntry)),
    "update posting": lambda s: s.execute(update(Posting).values(debit=1)),
    "delete posting": lambda s: s.execute(delete(Posting)),
}


@pytest.mark.parametrize("change", APPEND_ONLY.values(), ids=APPEND_ONLY.keys())
def test_ledger_and_audit_log_are_append_only(
    change: Callable[[Session], object], session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        add_entry(session, [("cash", 100, 0), ("suspense", 0, 100)])
        session.add(AuditRecord(actor="staff:1", action="waive", target_type="contract", target_id="ln_x"))
    with pytest.raises(IntegrityError, match="append-only"), unit_of_work(session_factory) as session:
        change(session)
