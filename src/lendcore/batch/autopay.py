"""The autopay run (``autopay.run`` job, 09:30 and 15:30 Asia/Shanghai; docs/payments.md "Autopay").

For each active contract with an installment due on the business date and something owed on it
(:func:`~lendcore.core.allocation.amount_due`: everything due on or before the day, penalty included),
whose customer has an active mandate and an active ``autopay_debit`` consent and no inbound payment
in flight, :func:`run_autopay` requests that amount by contract through
:func:`~lendcore.servicing.settlement.request_repayment` with the key
``autopay:<contract>:<date>:<attempt>`` (so a run redelivered, or run twice, requests once), on the
mandated card (``account_token`` ``card:<card id>``); the worker submits it and ``payment.settled``
books it. The customer is told (a ``customer.notify`` job per request).

Attempt 1 uses the primary card (the fallback card when there is no primary). Attempt 2 looks at
attempt 1's payment: paid or still in flight, nothing to do; failed with a retryable code
(:data:`RETRYABLE_FAILURES`: the money may be there in the afternoon) the same card again; failed
otherwise (a frozen card, a revoked agreement), the fallback card, or nothing if there is none.

The job runs :func:`run_autopay_chunked`: the contracts due, in id order, ``chunk`` (default 1,000)
per transaction, each chunk's requests, submit jobs and notifications committed together, so memory
and transaction length are bounded by the chunk, not by the day's book (one transaction for 100,000
contracts held 2.3 GB and 13 minutes of locks). A run killed between chunks (or in one: that chunk
rolls back whole) is resumed by running it again: the key above is the marker, a contract whose key
already has a payment is skipped (``already_requested``, looked up for the whole chunk in one query),
so a rerun of the same date and attempt requests nothing twice; two runs racing meet on the key's
unique index and one chunk rolls back. :func:`run_autopay` does the same in the caller's transaction
(the CLI, tests). What the checks read is read per chunk, not per contract (:func:`_read_chunk`, which
says why that is safe): mandates and consents, then the active contracts of the customers left to
debit locked in id order, their credit, the payments in flight and attempt 1's payments, one statement
each; a contract costs only its request and notification (9 statements;
tests/batch/test_autopay_statements.py).

A missed run is a lender fault: :mod:`lendcore.batch.autopay_missed` (run at the start of each
morning run for each of the days before, so a scheduler down for days misses none) finds contracts
due on a day for which no ``autopay.run`` job succeeded, whose customer had a mandate by then, and
records an ``autopay_missed`` window from that day (:func:`~lendcore.servicing.faults.record_fault`),
so the close charges no penalty for our failure to collect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final, cast

from sqlalchemy import Select, Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.allocation import CustomerMode, amount_due
from lendcore.core.consent import ConsentKind, ConsentRecord, has_consent
from lendcore.core.contract import Status
from lendcore.jobs.outbox import enqueue
from lendcore.origination.autopay import MandateRole
from lendcore.servicing.common import scoped_key
from lendcore.servicing.repay import RepayRequest
from lendcore.servicing.repository import state_as_of
from lendcore.servicing.settlement import NOTIFY_JOB, request_repayment
from lendcore.store.engine import for_update, unit_of_work
from lendcore.store.models import Contract, Payment, ScheduleRow, UnappliedFunds
from lendcore.store.models_autopay import AutopayMandate
from lendcore.store.models_origination import Consent
from lendcore.store.types import utc_now

JOB_KIND: Final = "autopay.run"
ATTEMPTS: Final = (1, 2)
#: Failure codes worth a second try the same day on the same card.
RETRYABLE_FAILURES: Final = frozenset({"INSUFFICIENT_FUNDS", "BANK_MAINTENANCE"})
IN_FLIGHT: Final = ("created", "processing")
DEFAULT_CHUNK: Final = 1_000
ACTIVE: Final = Status.ACTIVE.value


def autopay_key(contract_id: str, day: date, attempt: int) -> str:
    return f"autopay:{contract_id}:{day.isoformat()}:{attempt}"


@dataclass(frozen=True, slots=True)
class AutopayReport:
    business_date: date
    attempt: int
    requested: dict[str, str] = field(default_factory=dict)  # contract id -> payment id
    skipped: dict[str, str] = field(default_factory=dict)  # contract id -> why

    def to_json(self) -> dict[str, Any]:
        return {
            "business_date": self.business_date.isoformat(), "attempt": self.attempt,
            "requested": dict(self.requested), "skipped": dict(self.skipped),
        }  # fmt: skip


def contracts_due(
    session: Session, day: date, *, after: str | None = None, limit: int | None = None
) -> list[Contract]:
    """Active contracts with an installment of their current schedule due on ``day``, by id (those
    after ``after``, at most ``limit``)."""
    stmt = (
        select(Contract)
        .join(ScheduleRow, ScheduleRow.contract_id == Contract.id)
        .where(
            Contract.status == Status.ACTIVE.value,
            ScheduleRow.version == Contract.schedule_version,
            ScheduleRow.due_date == day,
        )
        .order_by(Contract.id)
    )
    if after is not None:
        stmt = stmt.where(Contract.id > after)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt).unique())


@dataclass(slots=True)
class _ChunkReads:
    """What the run reads once per chunk of contracts instead of once per contract (:func:`_read_chunk`
    says why each read is still as good as the per-contract read it replaces)."""

    credit: dict[str, int]  # customer -> unapplied funds held
    consented: frozenset[str]  # customers with an active autopay_debit consent at ``now``
    in_flight: set[str]  # customers with an inbound payment in flight (grows as the chunk requests)
    mandates: dict[str, dict[MandateRole, AutopayMandate]]  # customer -> active mandates by role
    first: dict[str, Payment]  # attempt 2: contract -> attempt 1's payment


def _read_chunk(
    session: Session, contracts: Sequence[Contract], day: date, attempt: int, now: datetime
) -> _ChunkReads:
    """Everything the checks of :func:`_autopay_one` read, for the customers of ``contracts`` at once.

    Consents and mandates first: a revocation committed while the chunk runs is treated as if it came
    after the chunk, which commits as one transaction (a serial order, as for one committed just after
    a per-contract read). The customers these leave to debit (consent and a mandate; only those: the
    others are not held up) then have their active contracts locked in id order, one statement: the
    lock :func:`~lendcore.servicing.settlement.request_repayment` takes per customer anyway (every
    inbound payment is planned under it: ``repay.plan_repayment``), taken before the reads that must
    not go stale:

    * in flight: another process's request for one of them either committed before the lock (and is
      seen: READ COMMITTED) or waits for this chunk to commit; the check per contract ran before the
      lock, so this one is stricter. The chunk's own requests are added as it makes them (a customer's
      second contract due that day is ``payment_in_flight``, as before);
    * credit and the contract rows (``populate_existing``: fresh values for ``amount_due``): their
      unapplied funds are locked after the contracts (the documented lock order), so neither moves
      until this chunk commits. The others' credit and payments in flight only name why they are
      skipped: read unlocked, as before;
    * attempt 1's payments after the payments in flight, as before: a payment out of flight never
      returns to it (``payments.state``), so one read in flight is skipped and one read out of flight
      is read here in its final state (``failed`` is final: the card chosen on it stands).

    On SQLite ``BEGIN IMMEDIATE`` holds the write lock for the whole chunk: nothing commits meanwhile.
    """
    customers = sorted({c.customer_id for c in contracts})
    if not customers:
        return _ChunkReads({}, frozenset(), set(), {}, {})
    mandates: dict[str, dict[MandateRole, AutopayMandate]] = {}
    for m in session.scalars(active_mandates(customers)):
        mandates.setdefault(m.customer_id, {})[MandateRole(m.role)] = m
    consented = _consented(session, customers, now)
    debtors = [c for c in customers if c in consented and c in mandates]
    credit: dict[str, int] = {}
    if debtors:
        locked = select(Contract).where(Contract.customer_id.in_(debtors), Contract.status == ACTIVE)
        session.scalars(for_update(locked).order_by(Contract.id)).all()
        held = select(UnappliedFunds).where(UnappliedFunds.customer_id.in_(debtors))
        credit.update((r.customer_id, r.balance) for r in session.scalars(for_update(held)))
    others = sorted(set(customers) - set(debtors))
    if others:
        held = select(UnappliedFunds).where(UnappliedFunds.customer_id.in_(others))
        credit.update((r.customer_id, r.balance) for r in session.scalars(held))
    in_flight = select(Payment.customer_id).where(
        Payment.customer_id.in_(customers), Payment.direction == "inbound", Payment.state.in_(IN_FLIGHT)
    )
    flying = set(session.scalars(in_flight.distinct()))
    first = _first_attempts(session, contracts, day) if attempt != 1 else {}
    return _ChunkReads(credit, consented, flying, mandates, first)


def active_mandates(customers: Sequence[str]) -> Select[AutopayMandate]:
    """``origination.autopay.active_mandates`` for many customers in one statement."""
    return select(AutopayMandate).where(
        AutopayMandate.customer_id.in_(customers), AutopayMandate.status == "active"
    )


def _consented(session: Session, customers: Sequence[str], at: datetime) -> frozenset[str]:
    """The customers among ``customers`` with an active ``autopay_debit`` consent at ``at``: the rule of
    ``origination.autopay.has_autopay_consent`` (``core.consent.has_consent`` on the same records), one
    statement for all of them."""
    records: dict[str, list[ConsentRecord]] = {c: [] for c in customers}
    rows = select(Consent).where(Consent.customer_id.in_(customers)).order_by(Consent.id)
    for r in session.scalars(rows):
        record = ConsentRecord(ConsentKind(r.kind), r.text_version, r.granted_at, r.scope, r.revoked_at)
        records[r.customer_id].append(record)
    return frozenset(c for c, rs in records.items() if has_consent(rs, ConsentKind.AUTOPAY_DEBIT, at))


def _first_attempts(session: Session, contracts: Sequence[Contract], day: date) -> dict[str, Payment]:
    """Attempt 1's payment of each contract that has one (one statement; the keys are unique)."""
    keys = {scoped_key("repay-request", autopay_key(c.id, day, 1)): c.id for c in contracts}
    found = session.scalars(select(Payment).where(Payment.idempotency_key.in_(keys)))
    return {keys[p.idempotency_key]: p for p in found if p.idempotency_key is not None}


def _card(contract: Contract, attempt: int, reads: _ChunkReads) -> tuple[AutopayMandate | None, str]:
    """The mandate to debit on this attempt, or None and why not."""
    mandates = reads.mandates.get(contract.customer_id, {})
    primary = mandates.get(MandateRole.PRIMARY) or mandates.get(MandateRole.FALLBACK)
    fallback = mandates.get(MandateRole.FALLBACK) if MandateRole.PRIMARY in mandates else None
    if attempt == 1:
        return primary, "no_mandate"
    first = reads.first.get(contract.id)
    if first is None or first.state != "failed":  # not tried this morning: try now, as a first
        return primary, "no_mandate"
    if first.failure_code in RETRYABLE_FAILURES:
        return primary, "no_mandate"
    return fallback, "not_retryable_no_fallback"


def _notify(session: Session, contract: Contract, payment_id: str, amount: int, attempt: int) -> None:
    enqueue(
        session,
        NOTIFY_JOB,
        {
            "customer_id": contract.customer_id, "payment_id": payment_id, "template": "autopay_requested",
            "contract_id": contract.id, "amount": amount, "attempt": attempt,
        },
        dedupe_key=f"notify:{payment_id}:autopay_requested",
    )  # fmt: skip


def run_autopay(session: Session, business_date: date, attempt: int, *, now: datetime) -> AutopayReport:
    """Request today's autopay debits (see the module docstring), in the caller's transaction."""
    report = AutopayReport(business_date, attempt)
    contracts = contracts_due(session, business_date)
    for start in range(0, len(contracts), DEFAULT_CHUNK):  # bounded IN lists; still one transaction
        _autopay_chunk(session, contracts[start : start + DEFAULT_CHUNK], report, now)
    return report


def run_autopay_chunked(
    session_factory: sessionmaker[Session],
    business_date: date,
    attempt: int,
    *,
    now: datetime,
    chunk: int = DEFAULT_CHUNK,
    after_chunk: Callable[[AutopayReport], None] | None = None,
) -> AutopayReport:
    """:func:`run_autopay`, ``chunk`` contracts per transaction, resumable (see the module docstring).
    ``after_chunk`` is called with the report so far after each chunk commits."""
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    report = AutopayReport(business_date, attempt)
    after: str | None = None
    while True:
        with unit_of_work(session_factory) as session:
            contracts = contracts_due(session, business_date, after=after, limit=chunk)
            _autopay_chunk(session, contracts, report, now)
        if not contracts:
            return report
        after = contracts[-1].id
        if after_chunk is not None:
            after_chunk(report)
        if len(contracts) < chunk:
            return report


def _requested(session: Session, contracts: Sequence[Contract], day: date, attempt: int) -> frozenset[str]:
    """The contracts among ``contracts`` already requested on this date and attempt (one query)."""
    keys = {scoped_key("repay-request", autopay_key(c.id, day, attempt)): c.id for c in contracts}
    if not keys:
        return frozenset()
    found = session.scalars(select(Payment.idempotency_key).where(Payment.idempotency_key.in_(keys)))
    return frozenset(keys[k] for k in found if k is not None)


def _autopay_chunk(
    session: Session, contracts: Sequence[Contract], report: AutopayReport, now: datetime
) -> None:
    """Decide every contract of the chunk on the chunk's reads, then request the debits decided."""
    day, attempt = report.business_date, report.attempt
    requested = _requested(session, contracts, day, attempt)
    reads = _read_chunk(session, [c for c in contracts if c.id not in requested], day, attempt, now)
    debits = []
    for contract in contracts:
        debit = _autopay_one(session, contract, report, requested, reads)
        if debit is not None:
            debits.append(debit)
    _open_credit(session, {contract.customer_id for contract, _, _ in debits} - set(reads.credit))
    for contract, owed, mandate in debits:
        request = RepayRequest(
            customer_id=contract.customer_id,
            business_date=day,
            idempotency_key=autopay_key(contract.id, day, attempt),
            amount=owed,
            mode=CustomerMode.BY_CONTRACT,
            contract_ids=(contract.id,),
            account_token=f"card:{mandate.bank_card_id}",
        )
        result = request_repayment(session, request, now=now)
        report.requested[contract.id] = result.payment_id
        _notify(session, contract, result.payment_id, owed, attempt)


def _autopay_one(
    session: Session, contract: Contract, report: AutopayReport, requested: frozenset[str], reads: _ChunkReads
) -> tuple[Contract, int, AutopayMandate] | None:
    """What to debit on ``contract`` (the amount and the mandate), or None with the reason recorded."""
    day = report.business_date
    if contract.id in requested:
        report.skipped[contract.id] = "already_requested"
        return None
    due = amount_due(state_as_of(session, contract, day), day)
    credit = reads.credit.get(contract.customer_id, 0)
    why = _skip_reason(contract, due, credit, reads)
    if why is not None:
        report.skipped[contract.id] = why
        return None
    # customer credit already held (a scheduled repayment taken) pays at the close: not debited again
    owed = due - credit
    mandate, no_card = _card(contract, report.attempt, reads)
    if mandate is None:
        report.skipped[contract.id] = no_card
        return None
    # requested below, in this transaction: the customer's next contract in this chunk waits for it
    reads.in_flight.add(contract.customer_id)
    return contract, owed, mandate


def _skip_reason(contract: Contract, due: int, credit: int, reads: _ChunkReads) -> str | None:
    if due <= 0:
        return "nothing_due"
    if due <= credit:
        return "covered_by_credit"
    if contract.customer_id not in reads.consented:
        return "no_consent"
    if contract.customer_id in reads.in_flight:
        return "payment_in_flight"
    return None


def _open_credit(session: Session, customers: set[str]) -> None:
    """Create the unapplied-funds rows ``request_repayment`` would create one by one (customers about to
    be debited who never held credit), in one statement: race-safe like ``booking.lock_unapplied``
    (``ON CONFLICT DO NOTHING``), after the contracts are locked (the documented lock order)."""
    if not customers:
        return
    now = utc_now()
    rows = [{"customer_id": c, "balance": 0, "version": 1, "updated_at": now} for c in sorted(customers)]
    make_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = cast(Table, UnappliedFunds.__table__)
    session.execute(make_insert(table).values(rows).on_conflict_do_nothing(index_elements=["customer_id"]))
