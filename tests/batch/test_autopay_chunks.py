"""The autopay run commits chunk by chunk and is resumable: a run killed between chunks keeps what it
committed, and running it again (same date, same attempt) requests only the rest, so each contract is
debited exactly once. SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.autopay import AutopayReport, autopay_key, run_autopay_chunked
from lendcore.jobs.outbox import enqueue
from lendcore.payments.adapter import Accepted, ChannelCall, ChannelStatus, HandlerChannel
from lendcore.payments.state import PaymentState
from lendcore.servicing.repay import RepayRequest
from lendcore.servicing.settlement import NOTIFY_JOB, request_repayment
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, Payment
from lendcore.store.models_jobs import Job
from tests.batch.test_autopay import DUE, MORNING, _borrower, _enqueue_run, _settle, _work
from tests.servicing.support import do_draw


class KilledError(Exception):
    """The run dies here (a worker killed between two chunks)."""


def borrowers(factory: sessionmaker[Session], count: int) -> list[str]:
    return sorted(_borrower(factory)["contract"] for _ in range(count))


def autopay_payments(factory: sessionmaker[Session]) -> Counter[str]:
    """Autopay payments per contract."""
    with unit_of_work(factory, read_only=True) as session:
        rows = session.scalars(select(Payment.contract_id).where(Payment.idempotency_key.like("%autopay:%")))
        return Counter(c for c in rows if c is not None)


def jobs_per_payment(factory: sessionmaker[Session], kind: str) -> Counter[str]:
    with unit_of_work(factory, read_only=True) as session:
        return Counter(p["payment_id"] for p in session.scalars(select(Job.payload).where(Job.kind == kind)))


def test_a_run_over_several_chunks_requests_every_contract_once(
    session_factory: sessionmaker[Session],
) -> None:
    contracts = borrowers(session_factory, 5)
    seen: list[int] = []
    report = run_autopay_chunked(
        session_factory, DUE, 1, now=MORNING, chunk=2, after_chunk=lambda r: seen.append(len(r.requested))
    )
    assert sorted(report.requested) == contracts and report.skipped == {}
    assert seen == [2, 4, 5]  # three chunks, each committed before the next began
    assert autopay_payments(session_factory) == Counter(contracts)


def test_a_run_killed_between_chunks_and_run_again_debits_each_contract_exactly_once(
    session_factory: sessionmaker[Session],
) -> None:
    contracts = borrowers(session_factory, 5)

    def die_after_the_second_chunk(report: AutopayReport) -> None:
        if len(report.requested) == 4:
            raise KilledError

    with pytest.raises(KilledError):
        run_autopay_chunked(
            session_factory, DUE, 1, now=MORNING, chunk=2, after_chunk=die_after_the_second_chunk
        )
    assert autopay_payments(session_factory) == Counter(contracts[:4])  # two chunks committed
    again = run_autopay_chunked(session_factory, DUE, 1, now=MORNING, chunk=2)
    assert list(again.requested) == contracts[4:]
    assert again.skipped == dict.fromkeys(contracts[:4], "already_requested")
    assert autopay_payments(session_factory) == Counter(contracts)  # once each
    payments = jobs_per_payment(session_factory, "payment.submit")
    assert len(payments) == 5 and set(payments.values()) == {1}
    assert jobs_per_payment(session_factory, NOTIFY_JOB) == payments

    submitted: list[str] = []

    def confirm(call: ChannelCall) -> Accepted | ChannelStatus:
        submitted.append(call.payment_id)
        return Accepted(call.payment_id, f"ref_{call.payment_id}", state=PaymentState.SUCCEEDED)

    _work(session_factory, HandlerChannel(confirm))
    assert Counter(submitted) == payments  # each sent to the channel once
    with unit_of_work(session_factory, read_only=True) as session:
        for contract_id in contracts:
            contract = session.get(Contract, contract_id)
            assert contract is not None and contract.outstanding_principal == 0  # debited, booked once
            key = f"repay-request:{autopay_key(contract_id, DUE, 1)}"
            [state] = session.scalars(select(Payment.state).where(Payment.idempotency_key == key)).all()
            assert state == "succeeded"


def test_the_job_run_again_for_the_same_day_and_attempt_requests_nothing_more(
    session_factory: sessionmaker[Session],
) -> None:
    contracts = borrowers(session_factory, 3)
    channel = HandlerChannel(lambda call: Accepted(call.payment_id, f"ref_{call.payment_id}"))
    _enqueue_run(session_factory, DUE, 1)
    _work(session_factory, channel)
    assert autopay_payments(session_factory) == Counter(contracts)
    with unit_of_work(session_factory) as session:  # redelivered: another job for the same run
        enqueue(session, "autopay.run", {"business_date": DUE.isoformat(), "attempt": 1}, run_at=MORNING)
    _work(session_factory, channel)
    assert autopay_payments(session_factory) == Counter(contracts)
    assert len(channel.calls) == 3


@pytest.mark.parametrize("chunk", [1, 10])  # the two contracts in two chunks, or in one
def test_a_customer_with_two_contracts_due_is_debited_once_the_other_waits_for_it(
    session_factory: sessionmaker[Session], chunk: int
) -> None:
    who = _borrower(session_factory)
    second = do_draw(session_factory, who["line"], 500_000, 1, method="bullet")["contract_id"]
    first, later = sorted([who["contract"], second])
    report = run_autopay_chunked(session_factory, DUE, 1, now=MORNING, chunk=chunk)
    # the chunk's reads saw no payment in flight; the request made for the first is one all the same
    assert list(report.requested) == [first]
    assert report.skipped == {later: "payment_in_flight"}
    assert autopay_payments(session_factory) == Counter([first])


def test_a_repayment_requested_while_a_chunk_runs_waits_for_it_so_its_reads_miss_nothing(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    """The chunk reads payments in flight once, after locking its customers' contracts: another
    process's request for one of them (planned under the same lock) cannot commit between that read
    and the chunk's own request; it waits for the chunk (PostgreSQL: the row locks; SQLite: the write
    lock) and then goes through."""
    who = _borrower(session_factory)
    manual = functools.partial(_manual_repayment, session_factory, who["customer"])
    report, finished_meanwhile = _during_the_chunk_lock(engine, session_factory, 1, manual, 0.5)
    assert finished_meanwhile is False  # it waited for the chunk, then finished
    assert list(report.requested) == [who["contract"]]
    assert _inbound_keys(session_factory, who["customer"]) == [
        f"repay-request:{autopay_key(who['contract'], DUE, 1)}",
        "repay-request:manual",
    ]


def test_a_customer_the_chunk_will_not_debit_is_not_held_up_by_it(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    """Only the customers left to debit after the consent and mandate reads are locked: one due the
    same day without the consent repays while the chunk runs (PostgreSQL; on SQLite every writer
    waits for the file's write lock)."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises every writer on the database file")
    debited, bystander = _borrower(session_factory), _borrower(session_factory, consent=False)
    manual = functools.partial(_manual_repayment, session_factory, bystander["customer"])
    report, finished_meanwhile = _during_the_chunk_lock(engine, session_factory, 1, manual, 10)
    assert finished_meanwhile is True
    assert list(report.requested) == [debited["contract"]]
    assert report.skipped == {bystander["contract"]: "no_consent"}
    assert _inbound_keys(session_factory, bystander["customer"]) == ["repay-request:manual"]


def test_a_first_attempt_failing_while_the_afternoon_chunk_runs_is_read_failed_not_in_flight(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    """Attempt 1's payment is read after the payments in flight (a payment never returns to flight):
    one that fails between the two reads is seen failed, so its card is chosen on its failure code
    (PostgreSQL; on SQLite the failure cannot commit while the chunk runs)."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises every writer on the database file")
    who = _borrower(session_factory)  # a primary card, no fallback
    [morning] = run_autopay_chunked(session_factory, DUE, 1, now=MORNING).requested.values()
    frozen = functools.partial(_settle, session_factory, morning, PaymentState.FAILED, "CARD_FROZEN")
    afternoon, finished_meanwhile = _during_the_chunk_lock(engine, session_factory, 2, frozen, 10)
    assert finished_meanwhile is True
    assert afternoon.requested == {} and afternoon.skipped == {who["contract"]: "not_retryable_no_fallback"}
    assert _inbound_keys(session_factory, who["customer"]) == [
        f"repay-request:{autopay_key(who['contract'], DUE, 1)}"
    ]


#: The chunk's lock of its customers' contracts (the statement another process's request waits behind).
CHUNK_LOCK = "FROM contracts WHERE contracts.customer_id IN"


def _during_the_chunk_lock(
    engine: Engine,
    factory: sessionmaker[Session],
    attempt: int,
    meanwhile: Callable[[], object],
    wait: float,
) -> tuple[AutopayReport, bool | None]:
    """Run the autopay attempt; right after its chunk's lock, another thread does ``meanwhile`` (its
    own transaction) and is given ``wait`` seconds: the report, and whether it finished meanwhile."""
    other = threading.Thread(target=meanwhile)
    finished: list[bool] = []

    def after_the_lock(conn: object, cursor: object, statement: str, *args: object) -> None:
        if not finished and other.ident is None and CHUNK_LOCK in " ".join(statement.split()):
            other.start()
            other.join(timeout=wait)
            finished.append(not other.is_alive())

    event.listen(engine, "after_cursor_execute", after_the_lock)
    try:
        at = MORNING if attempt == 1 else MORNING + timedelta(hours=6)
        report = run_autopay_chunked(factory, DUE, attempt, now=at)
    finally:
        event.remove(engine, "after_cursor_execute", after_the_lock)
    other.join(timeout=30)
    assert other.ident is not None and not other.is_alive()  # it ran, and is done
    return report, finished[0] if finished else None


def _manual_repayment(factory: sessionmaker[Session], customer_id: str) -> None:
    with unit_of_work(factory) as session:
        request = RepayRequest(customer_id, DUE, "manual", amount=10_000)
        request_repayment(session, request, now=MORNING)


def _inbound_keys(factory: sessionmaker[Session], customer_id: str) -> list[str]:
    with unit_of_work(factory, read_only=True) as session:
        stmt = select(Payment.idempotency_key).where(
            Payment.customer_id == customer_id, Payment.direction == "inbound"
        )
        return sorted(k or "" for k in session.scalars(stmt))
