"""Messages in the database and their delivery: queued → sent → delivered | failed | unconfirmed.

* :func:`queue_message` writes a ``queued`` row in the caller's transaction, once per ``dedupe_key``.
* :func:`send_queued` sends rows with no transaction open, each at most once: a row is first
  *claimed* (``sent``, committed), then handed to the sink, then the answer is recorded. A process
  killed between the claim and the answer leaves a ``sent`` row that is **polled, never sent again**
  (an SMS twice is worse than one we have to chase); if it never reached the provider the poll never
  confirms it, and past its deadline it is ``unconfirmed`` and raised like a failure. A sink that
  certainly did not take it (:class:`~lendcore.notify.sinks.SinkUnavailableError`) puts it back to
  ``queued``.
* :func:`record_report` is the one place a message moves after sending (a send's answer, a pushed
  receipt, a pulled status): ``delivered`` and ``failed`` are final (a late delivery receipt still
  turns ``unconfirmed`` into ``delivered``: it is the truth, the fault it opened stays).
* :func:`sweep_notifications` (the ``notifications.sweep`` job): receipts, polls with backoff, the
  deadline, then :func:`flag_undelivered`: every failed or unconfirmed message is flagged, and a
  reminder none of whose messages (its SMS, its push) was delivered opens a ``reminder_undelivered``
  lender-fault window for the customer (:func:`~lendcore.servicing.faults.record_fault`, once per
  customer and day), from the due date (or the day it was sent, for a reminder after a miss) for
  ``fault_days`` days, so the close waives penalty accrued in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.faults import MISSED_FAULT_DAYS, FaultKind
from lendcore.core.notices import render
from lendcore.jobs.schedule import BUSINESS_TZ
from lendcore.notify.sinks import (
    DeliveryReport,
    NotificationSink,
    OutboundMessage,
    SendResult,
    SinkError,
    SinkUnavailableError,
)
from lendcore.security.pii import PiiCipher, mask_phone
from lendcore.servicing.faults import notify_fault, record_fault
from lendcore.store.engine import for_update, unit_of_work
from lendcore.store.ids import new_id
from lendcore.store.models import Customer
from lendcore.store.models_notify import Notification, NotificationEvent
from lendcore.store.models_payments import LenderFault

FINAL: Final = ("delivered", "failed")
UNDELIVERED: Final = ("failed", "unconfirmed")
PENDING: Final = ("queued", "sent")


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    confirm_within: timedelta = timedelta(minutes=30)  # sent, unconfirmed after this: raised
    first_poll: timedelta = timedelta(minutes=2)
    poll_cap: timedelta = timedelta(minutes=15)
    fault_days: int = MISSED_FAULT_DAYS  # length of the reminder_undelivered window
    batch: int = 500  # rows a sweep step looks at
    senders: int = 1  # sending threads (each has at most one message in flight when killed)

    def next_poll(self, polls: int) -> timedelta:
        """1, 2, 4 … minutes after each poll, capped (the payments sweeper's backoff, for messages)."""
        return min(timedelta(minutes=2 ** max(0, polls - 1)), self.poll_cap)


class AddressBook(Protocol):
    def channels(self, customer: Customer, wanted: Sequence[str]) -> list[str]: ...

    def address(self, customer: Customer, channel: str) -> tuple[str, str] | None: ...


@dataclass(frozen=True, slots=True)
class CustomerAddresses:
    """Push to the customer's app (``app:<customer id>``); SMS to the phone on file, decrypted at send
    time only (with ``cipher``; without one, or without a phone, no SMS)."""

    cipher: PiiCipher | None = None

    def channels(self, customer: Customer, wanted: Sequence[str]) -> list[str]:
        sms = self.cipher is not None and customer.phone_ciphertext is not None
        return [c for c in wanted if c == "push" or (c == "sms" and sms)]

    def address(self, customer: Customer, channel: str) -> tuple[str, str] | None:
        if channel == "push":
            return f"app:{customer.id}", f"app:{customer.id}"
        if self.cipher is None or customer.phone_ciphertext is None:
            return None
        phone = self.cipher.decrypt("phone", customer.phone_ciphertext)
        return phone, mask_phone(phone)


def _event(session: Session, row: Notification, source: str, now: datetime, **details: Any) -> None:
    session.add(
        NotificationEvent(notification_id=row.id, source=source, state=row.state, at=now, details=details)
    )


def queue_message(
    session: Session,
    *,
    customer_id: str,
    channel: str,
    template: str,
    fields: dict[str, Any],
    dedupe_key: str,
    now: datetime,
    group_key: str | None = None,
    contract_id: str | None = None,
    due_date: date | None = None,
) -> tuple[Notification, bool]:
    """The message for ``dedupe_key`` (written now, ``True``, or found, ``False``)."""
    found = session.scalars(select(Notification).where(Notification.dedupe_key == dedupe_key)).first()
    if found is not None:
        return found, False
    row = Notification(
        customer_id=customer_id, channel=channel, template=template, dedupe_key=dedupe_key,
        group_key=group_key, text=render(template, fields), state="queued", contract_id=contract_id,
        due_date=due_date, queued_at=now, send_attempts=0, polls=0,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # a concurrent writer of the same key won
        return session.scalars(select(Notification).where(Notification.dedupe_key == dedupe_key)).one(), False
    return row, True


@dataclass(frozen=True, slots=True)
class MessageSpec:
    customer_id: str
    channel: str
    template: str
    fields: dict[str, Any]
    dedupe_key: str
    group_key: str | None = None
    contract_id: str | None = None
    due_date: date | None = None
    business_date: date | None = None  # the day it is sent for (a reminder run's day)


def queue_messages(
    session: Session, specs: Sequence[MessageSpec], *, now: datetime
) -> list[tuple[str, bool]]:
    """Many messages at once (the reminder run): the keys already written are found in one query per
    1,000, the new rows flushed together; ``(id, written now)`` per spec, in order. Without savepoints: a
    concurrent writer of the same key fails this transaction (the job runs again and finds the rows)."""
    found: dict[str, str] = {}
    keys = [spec.dedupe_key for spec in specs]
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        stmt = select(Notification.dedupe_key, Notification.id).where(Notification.dedupe_key.in_(chunk))
        found.update({str(k): str(i) for k, i in session.execute(stmt).all()})
    out: list[tuple[str, bool]] = []
    rows = []
    for spec in specs:
        if spec.dedupe_key in found:
            out.append((found[spec.dedupe_key], False))
            continue
        row = Notification(
            id=new_id("ntf"), customer_id=spec.customer_id, channel=spec.channel, template=spec.template,
            dedupe_key=spec.dedupe_key, group_key=spec.group_key, text=render(spec.template, spec.fields),
            state="queued", contract_id=spec.contract_id, due_date=spec.due_date,
            business_date=spec.business_date, queued_at=now, send_attempts=0, polls=0,
        )  # fmt: skip
        found[spec.dedupe_key] = row.id
        rows.append(row)
        out.append((row.id, True))
    session.add_all(rows)
    session.flush()
    return out


def _lock(session: Session, message_id: str) -> Notification | None:
    return session.scalars(for_update(select(Notification).where(Notification.id == message_id))).first()


def next_state(current: str, reported: str) -> str | None:
    """What a report moves a message to, or None (pure): ``delivered`` and ``failed`` are final;
    ``sent`` only moves a queued message (older news never overrides ``unconfirmed``); a definitive
    answer turns ``unconfirmed`` into the truth."""
    if reported == current or current in FINAL or (reported == "sent" and current != "queued"):
        return None
    return reported


def record_report(
    session: Session, row: Notification, report: DeliveryReport, source: str, now: datetime
) -> bool:
    """Apply what a send, a receipt or a poll said (module docstring); whether the state moved."""
    if report.provider_message_id and row.provider_message_id is None:
        row.provider_message_id = report.provider_message_id
    target = next_state(row.state, report.state)
    if target is None:
        return False
    row.state = target
    if target in FINAL:
        row.finished_at = report.at or now
        row.failure_code = report.failure_code if target == "failed" else None
        row.next_poll_at = None
    _event(session, row, source, now, failure_code=report.failure_code)
    session.flush()
    return True


def _claim(
    session: Session, message_id: str, addresses: AddressBook, policy: DeliveryPolicy, now: datetime
) -> OutboundMessage | None:
    row = _lock(session, message_id)
    if row is None or row.state != "queued":
        return None
    customer = session.get(Customer, row.customer_id)
    found = addresses.address(customer, row.channel) if customer is not None else None
    row.send_attempts += 1
    if found is None:
        record_report(session, row, DeliveryReport(row.id, "failed", now, "NO_ADDRESS"), "send", now)
        return None
    address, masked = found
    row.state, row.recipient_masked, row.sent_at = "sent", masked, now
    row.confirm_by, row.next_poll_at = now + policy.confirm_within, now + policy.first_poll
    _event(session, row, "send", now, claimed=True)
    session.flush()
    return OutboundMessage(row.id, row.channel, address, row.text)


def _record_send(session: Session, result: SendResult, now: datetime) -> None:
    row = _lock(session, result.message_id)
    if row is not None:
        report = DeliveryReport(
            result.message_id, result.state, now, result.failure_code, result.provider_message_id
        )
        record_report(session, row, report, "send", now)


def send_queued(
    factory: sessionmaker[Session],
    sink: NotificationSink,
    message_ids: Iterable[str],
    *,
    now: datetime,
    addresses: AddressBook | None = None,
    policy: DeliveryPolicy | None = None,
) -> int:
    """Send each queued message once (module docstring); how many were handed to the sink.

    One transaction per message: it records the previous message's answer and claims the next one,
    so each of the ``policy.senders`` sending threads has at most one message handed over without its
    answer recorded (one by default)."""
    book, rules = addresses or CustomerAddresses(), policy or DeliveryPolicy()
    ids = list(message_ids)
    if rules.senders <= 1 or len(ids) < 2:
        return _send_sequence(factory, sink, ids, now, book, rules)
    slices = [ids[k :: rules.senders] for k in range(rules.senders)]
    with ThreadPoolExecutor(max_workers=rules.senders, thread_name_prefix="notify-send") as pool:
        return sum(pool.map(lambda part: _send_sequence(factory, sink, part, now, book, rules), slices))


def _send_sequence(
    factory: sessionmaker[Session],
    sink: NotificationSink,
    ids: Sequence[str],
    now: datetime,
    book: AddressBook,
    rules: DeliveryPolicy,
) -> int:
    handed, answer = 0, None
    pending = iter(ids)
    while True:
        message_id = next(pending, None)
        with unit_of_work(factory) as session:
            if answer is not None:
                _record_send(session, answer, now)
                answer = None
            message = _claim(session, message_id, book, rules, now) if message_id is not None else None
        if message_id is None:
            return handed
        if message is None:
            continue
        try:
            answer = sink.send(message)
        except SinkError as error:
            _send_failed(factory, message.message_id, error, now)
            continue
        handed += 1


def _send_failed(factory: sessionmaker[Session], message_id: str, error: SinkError, now: datetime) -> None:
    with unit_of_work(factory) as session:
        row = _lock(session, message_id)
        if row is None or row.state != "sent":
            return
        if isinstance(error, SinkUnavailableError):  # it did not arrive: send it again later
            row.state, row.sent_at, row.confirm_by, row.next_poll_at = "queued", None, None, None
        _event(session, row, "send", now, error=type(error).__name__, message=str(error)[:200])


def queued_ids(session: Session, limit: int = 10_000) -> list[str]:
    stmt = select(Notification.id).where(Notification.state == "queued").order_by(Notification.queued_at)
    return list(session.scalars(stmt.limit(limit)))


@dataclass(frozen=True, slots=True)
class SweepReport:
    receipts: int = 0
    polled: int = 0
    unconfirmed: int = 0
    flagged: int = 0
    faults: int = 0


def _apply(
    factory: sessionmaker[Session],
    reports: Sequence[DeliveryReport],
    source: str,
    now: datetime,
    policy: DeliveryPolicy,
) -> int:
    """Record ``reports`` in transactions of ``policy.batch`` messages (rows locked in id order);
    how many moved a message."""
    moved = 0
    for start in range(0, len(reports), policy.batch):
        chunk = sorted(reports[start : start + policy.batch], key=lambda r: r.message_id)
        with unit_of_work(factory) as session:
            ids = [r.message_id for r in chunk]
            stmt = for_update(select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id))
            rows = {row.id: row for row in session.scalars(stmt)}
            for report in chunk:
                row = rows.get(report.message_id)
                if row is None:
                    continue
                if source == "poll":
                    row.polls += 1
                    row.next_poll_at = now + policy.next_poll(row.polls) if row.state == "sent" else None
                moved += record_report(session, row, report, source, now)
    return moved


def sweep_notifications(
    factory: sessionmaker[Session],
    sink: NotificationSink,
    *,
    now: datetime,
    policy: DeliveryPolicy | None = None,
) -> SweepReport:
    """Receipts, polls, the deadline, flags and faults (module docstring). Calls the sink with no
    transaction open; records in transactions of ``batch`` messages."""
    rules = policy or DeliveryPolicy()
    receipts = _apply(factory, sink.receipts(), "receipt", now, rules)
    with unit_of_work(factory, read_only=True) as session:
        due = select(Notification.id).where(Notification.state == "sent", Notification.next_poll_at <= now)
        to_poll = list(session.scalars(due.order_by(Notification.next_poll_at).limit(rules.batch)))
    _apply(factory, [sink.status(message_id) for message_id in to_poll], "poll", now, rules)
    with unit_of_work(factory) as session:
        late = select(Notification).where(Notification.state == "sent", Notification.confirm_by <= now)
        expired = list(session.scalars(for_update(late.limit(rules.batch))))
        for row in expired:
            row.state, row.next_poll_at = "unconfirmed", None
            _event(session, row, "deadline", now)
        session.flush()
        flagged, faults = flag_undelivered(session, now=now, policy=rules)
    return SweepReport(receipts, len(to_poll), len(expired), flagged, faults)


def _local_day(instant: datetime) -> date:
    return instant.astimezone(BUSINESS_TZ).date()


def flag_undelivered(session: Session, *, now: datetime, policy: DeliveryPolicy) -> tuple[int, int]:
    """Flag failed / unconfirmed messages; open a fault for each reminder none of whose messages was
    delivered (all of them finished). (messages flagged, faults opened)."""
    stmt = select(Notification).where(Notification.state.in_(UNDELIVERED), Notification.flagged_at.is_(None))
    rows = list(session.scalars(for_update(stmt.order_by(Notification.id).limit(policy.batch))))
    faults = 0
    for row in rows:
        row.flagged_at = now
    session.flush()
    for group in sorted({r.group_key for r in rows if r.group_key and r.due_date}):
        faults += _fault_for_group(session, group, now, policy)
    return len(rows), faults


def _fault_for_group(session: Session, group: str, now: datetime, policy: DeliveryPolicy) -> int:
    members = list(session.scalars(select(Notification).where(Notification.group_key == group)))
    if any(m.state not in UNDELIVERED for m in members) or any(m.fault_id for m in members):
        return 0  # delivered on some channel, still pending, or raised already
    first = members[0]
    if first.due_date is None:
        return 0
    # the window starts when missing the reminder can first cost the customer: the later of its due
    # date and the business day it was sent for (not the clock's day: a run caught up late is late)
    sent_for = first.business_date or _local_day(first.queued_at)
    starts = max(first.due_date, sent_for)
    fault_id = _existing_fault(session, first.customer_id, starts)
    opened = 0
    if fault_id is None:
        window = record_fault(
            session, kind=FaultKind.REMINDER_UNDELIVERED, starts_on=starts,
            ends_on=starts + timedelta(days=policy.fault_days), customer_id=first.customer_id,
            reason=f"reminder {group} not delivered", now=now,
        )  # fmt: skip
        notify_fault(session, first.customer_id, window, fields={"contract_id": first.contract_id})
        fault_id, opened = window.fault_id, 1
    for m in members:
        m.fault_id = fault_id
    session.flush()
    return opened


def _existing_fault(session: Session, customer_id: str, starts: date) -> str | None:
    stmt = select(LenderFault.id).where(
        LenderFault.kind == FaultKind.REMINDER_UNDELIVERED.value,
        LenderFault.customer_id == customer_id,
        LenderFault.starts_on == starts,
    )
    return session.scalars(stmt).first()
