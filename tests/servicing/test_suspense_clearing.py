"""Money a channel took that no payment of ours books is held in channel suspense (2241.03) from the
reconciliation that finds it, and leaves it only by an approved action: applied as the payer's
repayment, value-dated when they paid, or returned to them by the channel."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.approvals.proposals import ProposeRequest, Staff, approve, propose
from lendcore.auth.principal import StaffRole
from lendcore.batch.close import run_daily_close
from lendcore.core.errors import LendcoreError
from lendcore.core.ledger import Account
from lendcore.payments.adapter import HandlerChannel
from lendcore.payments.operator import resolve_payment
from lendcore.payments.reconcile import reconcile_statement
from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.payments.statement import Statement, StatementRow
from lendcore.payments.submit import submit_payment
from lendcore.payments.suspense import open_suspense_total, suspense_account_balance
from lendcore.servicing.invariants import check_invariants
from lendcore.servicing.settlement import NOTIFY_JOB
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, JournalEntry, LoanTransaction, Payment, Posting
from lendcore.store.models_approvals import ApprovalProposal
from lendcore.store.models_jobs import Job
from lendcore.store.models_payments import ChannelSuspense, PaymentIssue
from tests.servicing.support import assert_invariants, do_draw, open_line
from tests.servicing.test_settlement import AT, DUE, STARTED, ask, processing, run_jobs, settle_by_callback

OPERATOR = Staff("stf_operator", frozenset({StaffRole.OPERATOR}), "10.0.0.1")
FINANCE = Staff("stf_finance", frozenset({StaffRole.FINANCE}), "10.0.0.3")
OWED = 1_009_000  # ¥10,000 bullet at its due date: principal and a month's interest
LATER = datetime(2026, 4, 7, 3, 0, tzinfo=UTC)  # the closes through 04-06 are done


def failed_repayment(factory: sessionmaker[Session]) -> tuple[str, str, str]:
    """A bullet due 04-01 the customer paid in full on 03-31; the channel said it failed, and the
    closes through 04-06 made the contract overdue. (customer, contract, payment)."""
    cid, line = open_line(factory)
    contract_id = do_draw(factory, line, 1_000_000, 1, method="bullet")["contract_id"]
    payment_id = ask(factory, cid, OWED, STARTED)["payment_id"]
    submit_payment(factory, HandlerChannel(processing), payment_id, "tok", now=AT)
    settle_by_callback(factory, payment_id, PaymentState.FAILED, AT)
    run_jobs(factory, AT)
    for day in range(1, 6):
        run_daily_close(factory, DUE + timedelta(days=day))
    return cid, contract_id, payment_id


def statement_saying(
    payment_id: str, amount: int = OWED, state: PaymentState = PaymentState.SUCCEEDED
) -> Statement:
    settled = datetime(2026, 3, 31, 2, 5, tzinfo=UTC)
    row = StatementRow(f"ref_{payment_id}", payment_id, PaymentDirection.INBOUND, amount, state, settled)
    return Statement("simulator", STARTED, (row,))


def items(factory: sessionmaker[Session]) -> list[ChannelSuspense]:
    with unit_of_work(factory, read_only=True) as session:
        found = list(session.scalars(select(ChannelSuspense).order_by(ChannelSuspense.raised_at)))
        session.expunge_all()
        return found


def held(factory: sessionmaker[Session]) -> tuple[int, int]:
    """(2241.03 balance, Σ open items)."""
    with unit_of_work(factory, read_only=True) as session:
        return suspense_account_balance(session), open_suspense_total(session)


def contract(factory: sessionmaker[Session], contract_id: str) -> Contract:
    with unit_of_work(factory, read_only=True) as session:
        found = session.get(Contract, contract_id)
        assert found is not None
        session.expunge(found)
        return found


def clear(
    factory: sessionmaker[Session], item_id: str, payload: dict[str, Any], now: datetime = LATER
) -> dict[str, Any]:
    with unit_of_work(factory) as session:
        request = ProposeRequest(
            "channel-suspense", item_id, "the channel confirmed it took the money", payload
        )
        proposal_id = propose(session, request, OPERATOR, now=now).id
    with unit_of_work(factory) as session:
        result = approve(session, proposal_id, FINANCE, now=now).result
        assert result is not None
        return result


def code_of(excinfo: pytest.ExceptionInfo[LendcoreError]) -> str:
    return excinfo.value.code


def test_a_success_we_hold_as_failed_is_held_in_suspense_once_and_applied_value_dated_when_paid(
    session_factory: sessionmaker[Session],
) -> None:
    """The customer paid ¥10,090 on 03-31; the channel said it failed, the statement says it succeeded.
    Until someone acts the money is in 2241.03, on no contract (the contract stays overdue: we cannot
    know whose debt it pays without a person); applied, it is booked at 03-31: DPD 0, no penalty."""
    cid, contract_id, payment_id = failed_repayment(session_factory)
    overdue = contract(session_factory, contract_id)
    assert overdue.days_past_due == 5 and overdue.penalty_receivable > 0
    statement = statement_saying(payment_id)
    report = reconcile_statement(session_factory, statement, now=LATER)
    assert (report.discrepancies, report.suspense_amount) == (1, OWED)
    reconcile_statement(session_factory, statement, now=LATER + timedelta(hours=1))  # a rerun
    [item] = items(session_factory)
    assert (item.status, item.amount, item.customer_id, item.payment_id) == ("open", OWED, cid, payment_id)
    assert item.value_date == STARTED
    assert held(session_factory) == (OWED, OWED)
    assert_invariants(session_factory)

    with pytest.raises(LendcoreError) as refused, unit_of_work(session_factory) as session:
        resolve_payment(
            session,
            payment_id,
            state=PaymentState.SUCCEEDED,
            actor="ops",
            reason="the bank says so",
            now=LATER,
        )
    assert code_of(refused) == "SUSPENSE_HOLDS_PAYMENT"  # booking it too would count the money twice

    result = clear(session_factory, item.id, {"action": "apply"})
    assert (result["action"], result["amount"], result["outcome"]) == ("apply", OWED, "booked")
    with unit_of_work(session_factory, read_only=True) as session:
        applied = session.get(Payment, result["payment_id"])
        assert applied is not None
        assert (applied.state, applied.value_date, applied.amount) == ("succeeded", STARTED, OWED)
        booked = session.scalars(
            select(LoanTransaction.value_date).where(LoanTransaction.payment_id == applied.id)
        ).all()
        issue = session.scalars(select(PaymentIssue).where(PaymentIssue.payment_id == payment_id)).one()
        issue_closed = (issue.status, issue.resolved_by)
        notices = session.scalars(select(Job.payload).where(Job.kind == NOTIFY_JOB)).all()
    assert booked == [STARTED]
    assert issue_closed == ("resolved", FINANCE.subject)
    told = [n["template"] for n in notices if n.get("payment_id") == result["payment_id"]]
    assert told == ["repayment_succeeded"]
    paid = contract(session_factory, contract_id)
    assert (paid.status, paid.days_past_due, paid.penalty_receivable) == ("closed", 0, 0)
    [item] = items(session_factory)
    assert (item.status, item.applied_payment_id, item.cleared_by) == (
        "applied",
        result["payment_id"],
        FINANCE.subject,
    )
    assert held(session_factory) == (0, 0)
    assert_invariants(session_factory)

    with pytest.raises(LendcoreError) as again:
        clear(session_factory, item.id, {"action": "apply"})
    assert code_of(again) == "SUSPENSE_ALREADY_CLEARED"
    assert held(session_factory) == (0, 0)


def test_a_row_we_do_not_know_is_returned_or_applied_to_the_contract_a_person_names(
    session_factory: sessionmaker[Session],
) -> None:
    cid, line = open_line(session_factory)
    contract_id = do_draw(session_factory, line, 1_000_000, 3)["contract_id"]
    rows = tuple(
        StatementRow(
            f"ref_{n}", f"pay_UNKNOWN{n}", PaymentDirection.INBOUND, 50_000, PaymentState.SUCCEEDED, AT
        )
        for n in (1, 2)
    )
    reconcile_statement(session_factory, Statement("simulator", STARTED, rows), now=LATER)
    first, second = items(session_factory)
    assert (first.customer_id, first.payment_id, first.value_date) == (None, None, STARTED)
    assert held(session_factory) == (100_000, 100_000)

    with pytest.raises(LendcoreError) as unnamed:
        clear(session_factory, first.id, {"action": "apply"})
    assert code_of(unnamed) == "SUSPENSE_CONTRACT_REQUIRED"
    with pytest.raises(LendcoreError) as no_reference:
        clear(session_factory, first.id, {"action": "return"})
    assert code_of(no_reference) == "INVALID_PROPOSAL_PAYLOAD"
    assert held(session_factory) == (100_000, 100_000)  # refusals wrote nothing

    returned = clear(session_factory, first.id, {"action": "return", "reference": "RTN-20260407-1"})
    assert (returned["action"], returned["payment_id"]) == ("return", None)
    applied = clear(session_factory, second.id, {"action": "apply", "contract_id": contract_id})
    assert applied["outcome"] == "booked"
    first, second = items(session_factory)
    assert (first.status, first.clearing_reference) == ("returned", "RTN-20260407-1")
    assert second.status == "applied"
    with unit_of_work(session_factory, read_only=True) as session:
        payment = session.get(Payment, applied["payment_id"])
        assert payment is not None and payment.customer_id == cid
    assert held(session_factory) == (0, 0)
    assert_invariants(session_factory)


def test_two_approvals_racing_for_one_item_clear_it_once(session_factory: sessionmaker[Session]) -> None:
    """Two checkers approve two different proposals for one item at the same moment (apply it, and
    return it): the item's row lock lets one clear it; the other is refused
    ``SUSPENSE_ALREADY_CLEARED`` and wrote nothing (its proposal stays open, to be rejected). One
    clearing entry, 2241.03 back to zero, the ledger whole."""
    _, _, payment_id = failed_repayment(session_factory)
    reconcile_statement(session_factory, statement_saying(payment_id), now=LATER)
    [item] = items(session_factory)
    payloads = ({"action": "apply"}, {"action": "return", "reference": "RTN-20260407-9"})
    proposal_ids = []
    for payload in payloads:
        with unit_of_work(session_factory) as session:
            request = ProposeRequest("channel-suspense", item.id, "the channel confirmed it", payload)
            proposal_ids.append(propose(session, request, OPERATOR, now=LATER).id)
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def approve_one(proposal_id: str) -> None:
        start.wait()
        try:
            with unit_of_work(session_factory) as session:
                approve(session, proposal_id, FINANCE, now=LATER)
            outcomes[proposal_id] = "executed"
        except LendcoreError as error:
            outcomes[proposal_id] = error.code

    threads = [threading.Thread(target=approve_one, args=(p,)) for p in proposal_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == ["SUSPENSE_ALREADY_CLEARED", "executed"]
    [cleared] = items(session_factory)
    winner = next(p for p, outcome in outcomes.items() if outcome == "executed")
    assert cleared.status == ("applied" if winner == proposal_ids[0] else "returned")
    with unit_of_work(session_factory, read_only=True) as session:
        clearings = session.scalars(
            select(JournalEntry.id).where(JournalEntry.description.like(f"channel suspense {item.id} %"))
        ).all()
        states = {p: session.get(ApprovalProposal, p).status for p in proposal_ids}  # type: ignore[union-attr]
    assert clearings == [cleared.clearing_entry_id]
    assert sorted(states.values()) == ["executed", "proposed"]
    assert held(session_factory) == (0, 0)
    assert_invariants(session_factory)


def test_suspense_is_applied_only_to_the_payers_own_contract(session_factory: sessionmaker[Session]) -> None:
    _, _, payment_id = failed_repayment(session_factory)
    _, other_line = open_line(session_factory)
    someone_else = do_draw(session_factory, other_line, 200_000, 3)["contract_id"]
    reconcile_statement(session_factory, statement_saying(payment_id), now=LATER)
    [item] = items(session_factory)
    with pytest.raises(LendcoreError) as refused:
        clear(session_factory, item.id, {"action": "apply", "contract_id": someone_else})
    assert code_of(refused) == "SUSPENSE_OTHER_CUSTOMER"
    with pytest.raises(LendcoreError) as unknown:
        clear(session_factory, item.id, {"action": "apply", "contract_id": "con_NOPE"})
    assert code_of(unknown) == "CONTRACT_NOT_FOUND"
    assert held(session_factory) == (OWED, OWED) and items(session_factory)[0].status == "open"


def test_only_money_taken_beyond_what_we_booked_goes_to_suspense(
    session_factory: sessionmaker[Session],
) -> None:
    """A success for more than ours holds the difference; a failed row and an outbound one took
    nothing from a payer (the pure rule's cases: tests/payments/test_statement.py)."""
    cid, _, failed = failed_repayment(session_factory)
    more = ask(session_factory, cid, 100_000, DUE + timedelta(days=5))["payment_id"]
    settle_by_callback(session_factory, more, PaymentState.SUCCEEDED, LATER)
    rows = (
        StatementRow("ref_more", more, PaymentDirection.INBOUND, 100_500, PaymentState.SUCCEEDED, AT),
        StatementRow(f"ref_{failed}", failed, PaymentDirection.INBOUND, OWED, PaymentState.FAILED, AT, "X"),
        StatementRow("ref_out", "pay_OUT", PaymentDirection.OUTBOUND, 70_000, PaymentState.SUCCEEDED, AT),
    )
    report = reconcile_statement(session_factory, Statement("simulator", STARTED, rows), now=LATER)
    assert report.suspense_amount == 500
    assert [(i.payment_id, i.amount) for i in items(session_factory)] == [(more, 500)]
    assert held(session_factory) == (500, 500)


def test_the_invariant_fails_when_the_account_and_its_items_differ(
    session_factory: sessionmaker[Session],
) -> None:
    """A posting to 2241.03 that no item explains is found (the check can fail)."""
    _, _, payment_id = failed_repayment(session_factory)
    reconcile_statement(session_factory, statement_saying(payment_id), now=LATER)
    with unit_of_work(session_factory) as session:
        entry = JournalEntry(business_date=date(2026, 4, 7), value_date=date(2026, 4, 7), description="stray")
        entry.postings = [
            Posting(account_code=Account.CHANNEL_SUSPENSE.value, debit=1, credit=0),
            Posting(account_code=Account.CASH.value, debit=0, credit=1),
        ]
        session.add(entry)
    with unit_of_work(session_factory, read_only=True) as session:
        report = check_invariants(session)
        count = session.scalar(select(func.count()).select_from(ChannelSuspense))
    assert count == 1
    assert not report.ok
    assert report.cash_mismatches == (f"channel suspense account {OWED - 1} ≠ open suspense items {OWED}",)
