"""Repayment reminders (还款提醒): the ``reminders.run`` job of a business date (10:00 Asia/Shanghai).

For each active contract with an installment of its current schedule whose due date is ``offset`` days
from the business date, for an offset of its product (:class:`~lendcore.core.notices.ReminderPolicy`:
D-3, D-1, D0 and D+1 after a miss by default; per product or ``LENDCORE_REMINDER_OFFSETS``), one
message per channel the customer can be reached on, in Chinese with the amount and the date
(:mod:`lendcore.core.notices`). Not reminded: an installment with nothing owed (paid, or covered by
customer credit already held), an installment with a scheduled repayment booked or taken, and after
the due date an installment paid meanwhile.

Idempotent per contract, installment, offset and channel: the message's dedupe key is
``reminder:<contract>:<period>:<offset>:<channel>``. :func:`run_reminders` queues every message in one
transaction, commits, then sends the ones still queued (each at most once,
:func:`~lendcore.notify.delivery.send_queued`), so a run killed half way and run again sends the rest
and nothing twice.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.allocation import amount_due
from lendcore.core.contract import LoanState, Status
from lendcore.core.notices import ReminderPolicy, reminder_template
from lendcore.notify.delivery import (
    AddressBook,
    CustomerAddresses,
    DeliveryPolicy,
    MessageSpec,
    queue_messages,
    send_queued,
)
from lendcore.notify.sinks import NotificationSink
from lendcore.servicing.codecs import contract_state
from lendcore.store.bounded import slices
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, Customer, ScheduleRow, UnappliedFunds
from lendcore.store.models_notify import SCHEDULED_HOLDING, ScheduledRepayment

JOB_KIND: Final = "reminders.run"
OFFSETS_ENV: Final = "LENDCORE_REMINDER_OFFSETS"


def policy_from_env() -> ReminderPolicy:
    text = os.environ.get(OFFSETS_ENV, "").strip()
    return ReminderPolicy.parse(text) if text else ReminderPolicy()


def reminder_key(contract_id: str, period: int, offset: int) -> str:
    return f"reminder:{contract_id}:{period}:{offset}"


@dataclass(frozen=True, slots=True)
class ReminderReport:
    business_date: date
    queued: int = 0  # messages written by this run
    already: int = 0  # messages an earlier run of the day wrote
    sent: int = 0  # messages handed to the sink by this run
    skipped: dict[str, int] = field(default_factory=dict)  # why -> installments

    def to_json(self) -> dict[str, Any]:
        return {
            "business_date": self.business_date.isoformat(), "queued": self.queued, "already": self.already,
            "sent": self.sent, "skipped": dict(self.skipped),
        }  # fmt: skip


@dataclass
class _Run:
    day: date
    now: datetime
    policy: ReminderPolicy
    addresses: AddressBook
    queued: int = 0
    already: int = 0
    ids: list[str] = field(default_factory=list)
    specs: list[MessageSpec] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1


def _candidates(session: Session, day: date, policy: ReminderPolicy) -> list[tuple[Contract, int, date]]:
    offsets = set(policy.offsets) | {o for v in policy.by_product.values() for o in v}
    dues = sorted({day - timedelta(days=o) for o in offsets})
    stmt = (
        select(Contract, ScheduleRow.period, ScheduleRow.due_date)
        .join(ScheduleRow, ScheduleRow.contract_id == Contract.id)
        .where(
            Contract.status == Status.ACTIVE.value,
            ScheduleRow.version == Contract.schedule_version,
            ScheduleRow.due_date.in_(dues),
        )
        .order_by(Contract.id, ScheduleRow.period)
    )
    rows = session.execute(stmt).all()
    return [(c, p, d) for c, p, d in rows if (day - d).days in policy.offsets_for(c.product_code)]


def _amount(state: LoanState, period: int, due: date, day: date) -> int:
    """What the reminder asks for: what will be due on the due date (before or on it); after a miss,
    what is due today, if this installment is still unpaid."""
    row = next((r for r in state.rows if r.period == period), None)
    if row is None or row.settled_on is not None:
        return 0
    if day > due and row.outstanding <= 0:
        return 0
    return amount_due(state, max(day, due))


def _remind(
    session: Session, run: _Run, contract: Contract, period: int, due: date, context: _Context
) -> None:
    if (contract.id, period) in context.scheduled:
        run.skip("scheduled_repayment")
        return
    owed = _amount(contract_state(contract), period, due, run.day)
    owed -= context.credit.get(contract.customer_id, 0)
    if owed <= 0:
        run.skip("nothing_due")
        return
    customer = context.customers[contract.customer_id]
    offset = (run.day - due).days
    group = reminder_key(contract.id, period, offset)
    fields = {"amount": owed, "due_date": due, "days": -offset}
    for channel in run.addresses.channels(customer, run.policy.channels):
        spec = MessageSpec(
            contract.customer_id, channel, reminder_template(offset), fields, f"{group}:{channel}",
            group_key=group, contract_id=contract.id, due_date=due, business_date=run.day,
        )  # fmt: skip
        run.specs.append(spec)


@dataclass(frozen=True, slots=True)
class _Context:
    customers: dict[str, Customer]
    credit: dict[str, int]
    scheduled: set[tuple[str, int]]


def _context(session: Session, customer_ids: Sequence[str], contract_ids: Sequence[str]) -> _Context:
    """What the day's reminders need of their customers and contracts, read in bounded ``IN`` lists
    (the contracts due on the reminder days of a large book are tens of thousands)."""
    customers: dict[str, Customer] = {}
    credit: dict[str, int] = {}
    scheduled: set[tuple[str, int]] = set()
    for some in slices(customer_ids):
        customers.update((c.id, c) for c in session.scalars(select(Customer).where(Customer.id.in_(some))))
        balances = select(UnappliedFunds.customer_id, UnappliedFunds.balance).where(
            UnappliedFunds.customer_id.in_(some), UnappliedFunds.balance > 0
        )
        credit.update((str(c), int(b)) for c, b in session.execute(balances))
    for some in slices(contract_ids):
        held = select(ScheduledRepayment.contract_id, ScheduledRepayment.period).where(
            ScheduledRepayment.contract_id.in_(some), ScheduledRepayment.status.in_(SCHEDULED_HOLDING)
        )
        scheduled.update((str(c), int(p)) for c, p in session.execute(held))
    return _Context(customers, credit, scheduled)


def queue_reminders(
    session: Session, day: date, *, now: datetime, policy: ReminderPolicy, addresses: AddressBook
) -> _Run:
    """Write the day's reminder messages (once each) in the caller's transaction."""
    run = _Run(day, now, policy, addresses)
    candidates = _candidates(session, day, policy)
    customers = sorted({c.customer_id for c, _, _ in candidates})
    context = _context(session, customers, sorted({c.id for c, _, _ in candidates}))
    for contract, period, due in candidates:
        _remind(session, run, contract, period, due, context)
    for message_id, new in queue_messages(session, run.specs, now=now):
        run.ids.append(message_id)
        run.queued, run.already = run.queued + new, run.already + (not new)
    return run


def run_reminders(
    factory: sessionmaker[Session],
    sink: NotificationSink,
    day: date,
    *,
    now: datetime,
    policy: ReminderPolicy | None = None,
    addresses: AddressBook | None = None,
    delivery: DeliveryPolicy | None = None,
) -> ReminderReport:
    """Queue the day's reminders, commit, then send those still queued (module docstring)."""
    book = addresses or CustomerAddresses()
    with unit_of_work(factory) as session:
        run = queue_reminders(session, day, now=now, policy=policy or policy_from_env(), addresses=book)
    sent = send_queued(factory, sink, run.ids, now=now, addresses=book, policy=delivery)
    return ReminderReport(day, run.queued, run.already, sent, dict(sorted(run.skipped.items())))
