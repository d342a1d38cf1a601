"""Valid rows for store tests: each builder adds one row (flushed) with sensible defaults."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from lendcore.store.models import (
    BankCard,
    Contract,
    CreditLine,
    Customer,
    JournalEntry,
    LoanTransaction,
    Payment,
    Posting,
)

TODAY = date(2025, 3, 14)


def add_customer(session: Session, **overrides: Any) -> Customer:
    customer = Customer(**overrides)
    session.add(customer)
    session.flush()
    return customer


def add_card(session: Session, customer: Customer, **overrides: Any) -> BankCard:
    values: dict[str, Any] = {
        "customer_id": customer.id,
        "card_number_ciphertext": b"\x01k1:ciphertext",
        "card_number_hash": "c" * 64,
        "bin": "622202",
        "bank_name": "ICBC",
        "last4": "1234",
        "is_default": True,
    }
    card = BankCard(**(values | overrides))
    session.add(card)
    session.flush()
    return card


def add_line(session: Session, customer: Customer, **overrides: Any) -> CreditLine:
    values: dict[str, Any] = {
        "customer_id": customer.id,
        "product_code": "quick",
        "credit_limit": 2_000_000,
        "pricing_grade": "B",
        "opened_on": TODAY,
    }
    line = CreditLine(**(values | overrides))
    session.add(line)
    session.flush()
    return line


def add_contract(session: Session, line: CreditLine, **overrides: Any) -> Contract:
    values: dict[str, Any] = {
        "credit_line_id": line.id,
        "customer_id": line.customer_id,
        "product_code": line.product_code,
        "principal": 1_000_000,
        "method": "equal-installment",
        "term": 3,
        "daily_rate_ppm": 500,
        "start_date": TODAY,
        "first_due_date": date(2025, 4, 14),
        "status": "active",
        "terms": {"daily_rate": "0.0005", "penalty_multiplier": "1.5"},
        "outstanding_principal": 1_000_000,
    }
    contract = Contract(**(values | overrides))
    session.add(contract)
    session.flush()
    return contract


def add_payment(session: Session, customer: Customer, **overrides: Any) -> Payment:
    values: dict[str, Any] = {
        "direction": "inbound",
        "customer_id": customer.id,
        "amount": 50_000,
        "channel": "simulator",
        "value_date": TODAY,
    }
    payment = Payment(**(values | overrides))
    session.add(payment)
    session.flush()
    return payment


def add_txn(session: Session, contract: Contract, seq: int = 1, **overrides: Any) -> LoanTransaction:
    values: dict[str, Any] = {
        "contract_id": contract.id,
        "seq": seq,
        "type": "disbursement",
        "amount": contract.principal,
        "value_date": contract.start_date,
        "business_date": contract.start_date,
    }
    txn = LoanTransaction(**(values | overrides))
    session.add(txn)
    session.flush()
    return txn


def add_entry(
    session: Session, postings: list[tuple[str, int, int]], contract: Contract | None = None
) -> JournalEntry:
    """A journal entry with ``(account, debit, credit)`` postings."""
    entry = JournalEntry(
        business_date=TODAY,
        value_date=TODAY,
        description="test entry",
        contract_id=contract.id if contract else None,
        postings=[
            Posting(
                account_code=account,
                debit=debit,
                credit=credit,
                contract_id=contract.id if contract else None,
            )
            for account, debit, credit in postings
        ],
    )
    session.add(entry)
    session.flush()
    return entry
