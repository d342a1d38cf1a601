"""Customer notifications with delivery tracking, and scheduled repayments: migration
``0013_reminders_scheduled``.

* ``notifications``: one row per message to one customer on one channel (SMS, push), the outbox the
  ``customer.notify`` job and the reminder run write (:mod:`lendcore.notify`). ``dedupe_key`` is
  unique: a job redelivered, or a reminder run twice, finds the row it wrote. ``state`` moves
  ``queued → sent → delivered | failed | unconfirmed`` (a message sent but never confirmed by its
  ``confirm_by`` deadline); the text holds no full PII (amounts, dates, a masked card); the address is
  resolved at send time and only its masked form is stored. ``group_key`` ties the messages of one
  reminder (its SMS and its push): a reminder is undelivered when none of them was delivered.
* ``notification_events``: what we learnt about a message, with its source (``send``, ``receipt``:
  pushed by the provider, ``poll``: pulled by us, ``deadline``).
* ``scheduled_repayments``: a repayment booked for a date (预约还款) on one installment of a contract;
  at most one booked or taken per installment (partial unique index).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from lendcore.store.ids import new_id
from lendcore.store.models import ID, STATUS, Base, _one_of
from lendcore.store.types import BigIntPK, utc_now

NOTIFY_CHANNELS: Final = ("sms", "push")
NOTIFY_STATES: Final = ("queued", "sent", "delivered", "failed", "unconfirmed")
NOTIFY_EVENT_SOURCES: Final = ("send", "receipt", "poll", "deadline")
SCHEDULED_STATUSES: Final = ("booked", "cancelled", "taken", "failed")
#: Statuses that hold an installment (a second booking for it is refused).
SCHEDULED_HOLDING: Final = ("booked", "taken")


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(_one_of("channel", NOTIFY_CHANNELS), name="channel"),
        CheckConstraint(_one_of("state", NOTIFY_STATES), name="state"),
        Index(None, "state", "next_poll_at"),
        Index(None, "group_key"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("ntf"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(STATUS)
    template: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    group_key: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    recipient_masked: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(STATUS, default="queued")
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(80))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    send_attempts: Mapped[int] = mapped_column(Integer, default=0)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"))
    due_date: Mapped[date | None] = mapped_column(Date)
    #: the business date it was queued for (a reminder run's day; migration 0020)
    business_date: Mapped[date | None] = mapped_column(Date)
    queued_at: Mapped[datetime] = mapped_column(default=utc_now)
    sent_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    confirm_by: Mapped[datetime | None] = mapped_column()
    next_poll_at: Mapped[datetime | None] = mapped_column()
    flagged_at: Mapped[datetime | None] = mapped_column()  # undelivered: raised
    fault_id: Mapped[str | None] = mapped_column(ForeignKey("lender_faults.id"))


class NotificationEvent(Base):
    __tablename__ = "notification_events"
    __table_args__ = (
        CheckConstraint(_one_of("source", NOTIFY_EVENT_SOURCES), name="source"),
        CheckConstraint(_one_of("state", NOTIFY_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    notification_id: Mapped[str] = mapped_column(ForeignKey("notifications.id"), index=True)
    source: Mapped[str] = mapped_column(STATUS)
    state: Mapped[str] = mapped_column(STATUS)
    at: Mapped[datetime] = mapped_column(default=utc_now)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ScheduledRepayment(Base):
    __tablename__ = "scheduled_repayments"
    __table_args__ = (
        CheckConstraint(_one_of("status", SCHEDULED_STATUSES), name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("take_on <= due_date", name="take_before_due"),
        Index(None, "status", "take_on"),
        Index(
            "uq_scheduled_repayments_one_per_installment",
            "contract_id",
            "period",
            unique=True,
            postgresql_where=text("status IN ('booked', 'taken')"),
            sqlite_where=text("status IN ('booked', 'taken')"),
        ),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("srp"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"))
    period: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    take_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
    account_token: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(STATUS, default="booked")
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"))
    booked_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    cancelled_at: Mapped[datetime | None] = mapped_column()
    taken_at: Mapped[datetime | None] = mapped_column()
