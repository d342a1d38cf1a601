"""Payment tables beside ``payments``: its events, the issues raised to operations, reconciliation
reports and channel suspense.

Migration ``0007_payments_jobs``. Same :class:`~lendcore.store.models.Base` as the core schema.

* ``payment_events``: append-only (triggers refuse UPDATE and DELETE), one row per thing we learnt
  about a payment, with where it came from (``source``: request, submit, callback, query, statement,
  operator) and what it did (``kind``). A partial unique index allows at most one ``transition`` row
  into each state per payment: whatever races, a payment is moved into ``succeeded`` (and so booked)
  once.
* ``payment_issues``: what a person must look at (a payment past its SLA, a late success after we
  marked it failed, a callback or statement row with another amount, a statement row we do not know).
  ``dedupe_key`` is unique: raising the same issue again (a sweeper run twice, a callback redelivered)
  finds the existing row.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from lendcore.store.ids import new_id
from lendcore.store.models import ID, STATUS, Base, _one_of
from lendcore.store.types import BigIntPK, utc_now

EVENT_SOURCES: Final = ("request", "submit", "callback", "query", "statement", "operator")
EVENT_KINDS: Final = (
    "created",  # the record was written (before anything was sent)
    "transition",  # the payment moved from from_state to to_state
    "duplicate",  # news of the state it is already in (a redelivered callback)
    "stale",  # older news than what we hold (an out-of-order callback): ignored
    "discrepancy",  # contradicts a terminal state, or another amount: raised, not applied
    "observation",  # a query that found it still processing
    "channel_error",  # a submit or query that got no answer (timeout, outage)
    "escalated",  # raised to operations past its SLA
)
ISSUE_STATUSES: Final = ("open", "resolved")


class PaymentEvent(Base):
    __tablename__ = "payment_events"
    __table_args__ = (
        CheckConstraint(_one_of("source", EVENT_SOURCES), name="source"),
        CheckConstraint(_one_of("kind", EVENT_KINDS), name="kind"),
        Index(
            "uq_payment_events_one_transition_per_state",
            "payment_id",
            "to_state",
            unique=True,
            postgresql_where=text("kind = 'transition'"),
            sqlite_where=text("kind = 'transition'"),
        ),
        Index(None, "at"),  # the outage detector reads the recent ones (0018_channel_outages)
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utc_now)  # when we recorded it
    occurred_at: Mapped[datetime | None] = mapped_column()  # when the source says it happened
    source: Mapped[str] = mapped_column(STATUS)
    kind: Mapped[str] = mapped_column(STATUS)
    from_state: Mapped[str | None] = mapped_column(STATUS)
    to_state: Mapped[str | None] = mapped_column(STATUS)
    channel_event_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PaymentIssue(Base):
    __tablename__ = "payment_issues"
    __table_args__ = (
        CheckConstraint(_one_of("status", ISSUE_STATUSES), name="status"),
        Index(None, "status", "raised_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"), index=True)
    channel_reference: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(STATUS)
    status: Mapped[str] = mapped_column(STATUS, default="open")
    raised_at: Mapped[datetime] = mapped_column(default=utc_now)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(Text)


FAULT_KINDS: Final = (
    "autopay_missed",
    "reminder_undelivered",
    "payment_past_sla",
    "channel_outage",
    "manual",
    "scheduled_missed",
)


class LenderFault(Base):
    """A lender-fault window (:mod:`lendcore.core.faults`; migration ``0009_payment_features``): from
    ``starts_on`` to ``ends_on`` (inclusive, NULL while open) a customer in scope (one contract, one
    customer, or everyone when both are NULL) is not charged penalty for being late."""

    __tablename__ = "lender_faults"
    __table_args__ = (
        CheckConstraint(_one_of("kind", FAULT_KINDS), name="kind"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="window_ordered"),
        Index(None, "starts_on"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("flt"))
    kind: Mapped[str] = mapped_column(String(32))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    reason: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"))
    raised_at: Mapped[datetime] = mapped_column(default=utc_now)


class ChannelOutage(Base):
    """A channel outage the detector found (:mod:`lendcore.servicing.outages`; migration
    ``0018_channel_outages``): ``started_at`` (its first unavailable call) is unique, so however many
    detectors run at once one outage opens one ``channel_outage`` fault window (``fault_id``)."""

    __tablename__ = "channel_outages"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("out"))
    started_at: Mapped[datetime] = mapped_column(unique=True)
    last_failure_at: Mapped[datetime] = mapped_column()
    failures: Mapped[int] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    fault_id: Mapped[str | None] = mapped_column(ForeignKey("lender_faults.id"))
    detected_at: Mapped[datetime] = mapped_column(default=utc_now)


class ReconciliationRun(Base):
    """What reconciling one channel's statement of one day found, in fen (:mod:`lendcore.payments.
    reconcile`; migration ``0022_reconciliations``): one row per channel and day, brought up to date by
    every run (a rerun of the same file finds what the first found, so the figures stay; ``runs``
    counts them). ``total = matched_amount + resolved_amount + unexplained_amount``: every fen of the
    statement is in one of them; ``issues`` holds the count and fen of each discrepancy kind
    (``statement_missing`` is ours, on no row)."""

    __tablename__ = "reconciliations"
    __table_args__ = (
        UniqueConstraint("channel", "statement_date"),
        CheckConstraint("total = matched_amount + resolved_amount + unexplained_amount", name="every_fen"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("rec"))
    channel: Mapped[str] = mapped_column(String(32))
    statement_date: Mapped[date] = mapped_column(Date)
    rows: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(BigInteger)
    matched: Mapped[int] = mapped_column(Integer)
    matched_amount: Mapped[int] = mapped_column(BigInteger)
    resolved: Mapped[int] = mapped_column(Integer)
    resolved_amount: Mapped[int] = mapped_column(BigInteger)
    discrepancies: Mapped[int] = mapped_column(Integer)
    unexplained_amount: Mapped[int] = mapped_column(BigInteger)
    issues: Mapped[dict[str, Any]] = mapped_column(default=dict)
    runs: Mapped[int] = mapped_column(Integer, default=1)
    first_run_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_run_at: Mapped[datetime] = mapped_column(default=utc_now)
    #: fen of the unexplained the channel took that no payment of ours books (migration 0023)
    suspense_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))


SUSPENSE_STATUSES: Final = ("open", "applied", "returned")


class ChannelSuspense(Base):
    """Money a channel's statement shows it took that no payment of ours books (渠道待查款;
    :mod:`lendcore.payments.suspense`, migration ``0023_channel_suspense``): one item per issue that
    raised it, held in account 2241.03 from the day it was found (``entry_id``) until an approved
    action clears it (``clearing_entry_id``): ``applied`` as a repayment (``applied_payment_id``, a
    payment of its own, value-dated when the payer paid) or ``returned`` to the payer by the channel
    (``clearing_reference``). The account's balance is the sum of the open items (an invariant)."""

    __tablename__ = "channel_suspense"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(_one_of("status", SUSPENSE_STATUSES), name="status"),
        CheckConstraint("(status = 'open') = (cleared_at IS NULL)", name="cleared_when_not_open"),
        Index(None, "status", "raised_at"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("sus"))
    issue_id: Mapped[int] = mapped_column(ForeignKey("payment_issues.id"), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    statement_date: Mapped[date] = mapped_column(Date)
    #: the payment id the statement row named (ours or not) and its channel reference
    named_payment_id: Mapped[str] = mapped_column(String(64))
    channel_reference: Mapped[str] = mapped_column(String(64))
    #: our payment of that id, if we have one, and its customer
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"), index=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    #: when the payer paid: our payment's value date, else the day the channel settled it
    value_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(STATUS, default="open")
    entry_id: Mapped[str] = mapped_column(ForeignKey("journal_entries.id"))
    raised_at: Mapped[datetime] = mapped_column(default=utc_now)
    cleared_at: Mapped[datetime | None] = mapped_column()
    cleared_by: Mapped[str | None] = mapped_column(String(64))
    clearing_reason: Mapped[str | None] = mapped_column(Text)
    clearing_reference: Mapped[str | None] = mapped_column(String(64))
    applied_payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"))
    clearing_entry_id: Mapped[str | None] = mapped_column(ForeignKey("journal_entries.id"))
