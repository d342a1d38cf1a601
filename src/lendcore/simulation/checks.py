"""What must hold after every simulated business day, whatever the faults did.

Each check returns the violations it found (empty: it holds), as sentences naming the object:

1. **the books** (:func:`~lendcore.servicing.invariants.check_invariants`): every entry balances, the
   trial balance balances, sub-ledger = control accounts, cash received = allocated + unapplied +
   suspense;
2. **no payment applied twice**: at most one loan transaction of a type per payment and contract;
3. **the channel agrees, or operations know**: a payment we hold as ``succeeded`` was taken by the
   channel, and one the channel finished differently from us has an open or resolved issue;
4. **nothing hangs unseen**: every payment still ``created`` or ``processing`` past its SLA at the
   day's last sweep has been raised to operations;
5. **no customer penalised inside a lender-fault window**: on every contract, the penalty accrued on
   the days of a window covering it has been waived by the close of that day;
11. **money the channel took is booked once**: no payment we hold as succeeded also has its money
   applied from channel suspense (:mod:`lendcore.simulation.desk` applies what the channel truly
   took for a payment we hold as failed);
12. **money the channel took and said it had not is the payer's**: a payment the channel reported
   failed while it took the money (``false_failure``) is, once the statement of the day it settled
   has been reconciled (and the statement row is true), succeeded here or applied from suspense.

(6–10 are in :mod:`lendcore.simulation.checks_collect`.)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendcore.core.contract import LoanState, Status
from lendcore.core.faults import in_lender_fault
from lendcore.payments.sim.engine import BUSINESS_TZ, ChannelSimulation
from lendcore.payments.state import PaymentState
from lendcore.servicing.faults import fault_windows
from lendcore.servicing.invariants import check_invariants
from lendcore.servicing.repository import state_as_of
from lendcore.store.models import Contract, LoanTransaction, Payment
from lendcore.store.models_payments import ChannelSuspense, PaymentIssue

_OPEN_STATES = ("created", "processing")


def books(session: Session) -> list[str]:
    report = check_invariants(session)
    if report.ok:
        return []
    tb = report.trial_balance
    found = [] if tb.balanced else [f"trial balance: debits {tb.total_debits} ≠ credits {tb.total_credits}"]
    found += [f"unbalanced entry {e}" for e in report.unbalanced_entries]
    found += [f"sub-ledger: {m}" for m in report.subledger_mismatches]
    found += [f"cash: {m}" for m in report.cash_mismatches]
    return found + [f"replay: {m}" for m in report.replay_mismatches]


def applied_once(session: Session) -> list[str]:
    twice = session.execute(
        select(LoanTransaction.payment_id, LoanTransaction.contract_id, LoanTransaction.type, func.count())
        .where(LoanTransaction.payment_id.is_not(None))
        .group_by(LoanTransaction.payment_id, LoanTransaction.contract_id, LoanTransaction.type)
        .having(func.count() > 1)
    ).all()
    return [f"payment {p} booked {n}× as {t} on {c}" for p, c, t, n in twice]


def channel_agrees(session: Session, engine: ChannelSimulation, now: float) -> list[str]:
    """Our final states of inbound payments (the ones that went through this channel) against the
    channel's (what it did, or what it reported), for payments the channel has finished by ``now``.
    A payment applied from channel suspense went through the channel as the payment its item names."""
    known = set(session.scalars(select(PaymentIssue.payment_id).where(PaymentIssue.payment_id.is_not(None))))
    applied_items = select(ChannelSuspense.applied_payment_id, ChannelSuspense.named_payment_id).where(
        ChannelSuspense.status == "applied"
    )
    applied = {str(new): named for new, named in session.execute(applied_items)}
    found = []
    inbound = select(Payment.id, Payment.state).where(Payment.direction == "inbound").order_by(Payment.id)
    for payment_id, state in session.execute(inbound):
        sim = engine.payments.get(applied.get(payment_id, payment_id))
        if state == PaymentState.SUCCEEDED.value and (
            sim is None or sim.plan.state is not PaymentState.SUCCEEDED
        ):
            found.append(f"payment {payment_id} succeeded here but the channel never took the money")
            continue
        if sim is None or now < sim.plan.settle_at or state in _OPEN_STATES:
            continue
        # a false failure may be held failed (as reported: check 12 follows its money) or succeeded
        # (as the statement says, when it resolved the payment before the report arrived)
        agreed = state in (sim.plan.state.value, sim.plan.reported.value)
        if not agreed and payment_id not in known:
            found.append(
                f"payment {payment_id}: {state} here, {sim.plan.state.value} at the channel, no issue"
            )
    return found


def falsely_failed_given_back(session: Session, engine: ChannelSimulation, reconciled: date) -> list[str]:
    """Check 12, for the statements of every day up to ``reconciled`` (the world's morning reads the
    day before's, and its desk clears what that raised)."""
    end = datetime.combine(reconciled + timedelta(days=1), datetime.min.time(), BUSINESS_TZ).timestamp()
    lied = [
        p.instruction.payment_id
        for p in engine.payments.values()
        if p.plan.falsely_failed and p.plan.settle_at < end and p.plan.statement_fault is None
    ]
    if not lied:
        return []
    succeeded = set(
        session.scalars(
            select(Payment.id).where(Payment.id.in_(lied), Payment.state == PaymentState.SUCCEEDED.value)
        )
    )
    applied = set(
        session.scalars(
            select(ChannelSuspense.named_payment_id).where(
                ChannelSuspense.named_payment_id.in_(lied), ChannelSuspense.status == "applied"
            )
        )
    )
    return [
        f"payment {p}: the channel took the money and said it failed; it was not given to its payer"
        for p in sorted(set(lied) - succeeded - applied)
    ]


def taken_money_booked_once(session: Session) -> list[str]:
    twice = session.execute(
        select(ChannelSuspense.id, Payment.id)
        .join(Payment, Payment.id == ChannelSuspense.payment_id)
        .where(ChannelSuspense.status == "applied", Payment.state == PaymentState.SUCCEEDED.value)
    ).all()
    return [
        f"payment {p} succeeded and its money was applied from channel suspense {s} too" for s, p in twice
    ]


def raised_past_sla(session: Session, swept: datetime) -> list[str]:
    """Check 4 as of the day's last sweep (``swept``): a payment whose SLA passed after it is the next
    sweep's (the world sweeps every two hours; a real sweeper every few minutes)."""
    stuck = session.scalars(
        select(Payment.id).where(
            Payment.state.in_(_OPEN_STATES),
            Payment.sla_at.is_not(None),
            Payment.sla_at < swept,
            Payment.escalated_at.is_(None),
        )
    ).all()
    return [f"payment {p} is past its SLA and nobody was told" for p in stuck]


def _penalty(state: LoanState) -> tuple[int, int]:
    return sum(r.penalty_accrued for r in state.rows), sum(r.penalty_waived for r in state.rows)


def not_penalised_in_fault_windows(session: Session, day: date) -> list[str]:
    """Penalty accrued on ``day`` on a contract in a window covering ``day`` is waived on ``day``."""
    windows = fault_windows(session, day)
    if not windows:
        return []
    found = []
    contracts = session.scalars(
        select(Contract).where(Contract.start_date < day, Contract.status != Status.PENDING.value)
    )
    for contract in contracts:
        window = in_lender_fault(windows, contract_id=contract.id, customer_id=contract.customer_id, on=day)
        if window is None:
            continue
        accrued, waived = _penalty(state_as_of(session, contract, day))
        accrued_before, waived_before = _penalty(state_as_of(session, contract, day - timedelta(days=1)))
        charged = (accrued - accrued_before) - (waived - waived_before)
        if charged > 0:
            found.append(
                f"contract {contract.id} charged {charged} fen penalty on {day} "
                f"inside fault {window.fault_id}"
            )
    return found


def every_check(
    session: Session, engine: ChannelSimulation, day: date, now: datetime, swept: datetime | None = None
) -> list[str]:
    return (
        books(session)
        + applied_once(session)
        + channel_agrees(session, engine, now.timestamp())
        + raised_past_sla(session, swept or now)
        + not_penalised_in_fault_windows(session, day)
        + taken_money_booked_once(session)
        + falsely_failed_given_back(session, engine, day - timedelta(days=1))
    )
