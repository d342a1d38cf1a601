"""After-the-loan tables: ``collection_contacts`` and ``bureau_records``. Migration ``0010_post_loan``.

* ``collection_contacts``: every collection contact attempt (call, SMS, letter), allowed or refused,
  with the refusal reason (:mod:`lendcore.core.collection_rules`). Refused attempts are logged too: the
  log is the evidence that the contact rules were kept.
* ``bureau_records``: every bureau (征信) account record built, with its segments as sent and what it
  was built from (the contract's transactions applied up to the record's date).
* ``bureau_disputes``: a customer's dispute (异议) of one stored record: opened, answered within 20
  days, and the correction or deletion it calls for, sent in the next batch (``reported_in``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lendcore.store.models import STATUS, Base, _one_of
from lendcore.store.types import BigIntPK, utc_now

CONTACT_CHANNELS: Final = ("call", "sms", "letter")
CONTACT_OUTCOMES: Final = ("allowed", "refused")
BUREAU_RECORD_KINDS: Final = ("month_end", "event", "correction", "deletion")
DISPUTE_STATUSES: Final = ("open", "answered")
DISPUTE_ACTIONS: Final = ("none", "correction", "deletion")


class CollectionContact(Base):
    __tablename__ = "collection_contacts"
    __table_args__ = (
        CheckConstraint(_one_of("channel", CONTACT_CHANNELS), name="channel"),
        CheckConstraint(_one_of("outcome", CONTACT_OUTCOMES), name="outcome"),
        CheckConstraint("(outcome = 'refused') = (refusal IS NOT NULL)", name="refusal_iff_refused"),
        Index(None, "debtor_id", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    debtor_id: Mapped[str] = mapped_column(String(40))
    contract_id: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(STATUS)
    attempted_at: Mapped[datetime] = mapped_column()
    shanghai_day: Mapped[date] = mapped_column(Date)
    to_debtor: Mapped[bool] = mapped_column(Boolean)
    quiet_hours_agreed: Mapped[bool] = mapped_column(Boolean)
    connected: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(STATUS)
    refusal: Mapped[str | None] = mapped_column(String(32))
    agent: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class BureauRecord(Base):
    __tablename__ = "bureau_records"
    __table_args__ = (
        CheckConstraint(_one_of("kind", BUREAU_RECORD_KINDS), name="kind"),
        Index(None, "contract_id", "report_date"),
        Index(None, "batch_date"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    contract_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(STATUS)
    reason: Mapped[str] = mapped_column(String(2))
    report_date: Mapped[date] = mapped_column(Date)
    batch_date: Mapped[date] = mapped_column(Date)
    segments: Mapped[dict[str, Any]] = mapped_column()
    built_from: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class BureauDispute(Base):
    __tablename__ = "bureau_disputes"
    __table_args__ = (
        CheckConstraint(_one_of("status", DISPUTE_STATUSES), name="status"),
        CheckConstraint(_one_of("action", DISPUTE_ACTIONS), name="action"),
        Index(None, "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("bureau_records.id"), index=True)
    contract_id: Mapped[str] = mapped_column(String(40))
    opened_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    claim: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(STATUS)
    action: Mapped[str] = mapped_column(STATUS, default="none")
    answered_on: Mapped[date | None] = mapped_column(Date)
    answer: Mapped[str | None] = mapped_column(Text)
    reported_in: Mapped[date | None] = mapped_column(Date)  # the batch that carried the correction
