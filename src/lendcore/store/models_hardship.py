"""Hardship offers (展期 / 重新分期 offers to a customer). Migration ``0016_hardship_offers``.

One row per approved ``hardship-plan`` proposal (``proposal_id`` unique): the plan the customer is
shown (schedule, APR, total cost, as JSON), its expiry, and the customer's decision. Acceptance books
one ``restructure`` transaction (``txn_id``); a decided offer is never decided again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lendcore.store.ids import new_id
from lendcore.store.models import ID, STATUS, Base, _one_of
from lendcore.store.types import utc_now

OFFER_STATUSES: Final = ("offered", "accepted", "declined")
OFFER_KINDS: Final = ("extension", "re-amortisation")


class HardshipOffer(Base):
    __tablename__ = "hardship_offers"
    __table_args__ = (
        CheckConstraint(_one_of("status", OFFER_STATUSES), name="status"),
        CheckConstraint(_one_of("kind", OFFER_KINDS), name="kind"),
        CheckConstraint("periods >= 1", name="periods_positive"),
        CheckConstraint("expires_on >= offered_on", name="expiry_after_offer"),
        CheckConstraint("(status = 'accepted') = (txn_id IS NOT NULL)", name="txn_iff_accepted"),
        Index(None, "customer_id", "status"),
        Index(None, "contract_id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("hso"))
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    proposal_id: Mapped[str] = mapped_column(ForeignKey("approval_proposals.id"), unique=True)
    kind: Mapped[str] = mapped_column(STATUS)
    periods: Mapped[int] = mapped_column(Integer)
    offered_on: Mapped[date] = mapped_column(Date)  # the plan's value date
    expires_on: Mapped[date] = mapped_column(Date)  # last business date it can be accepted
    plan: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(STATUS, default="offered")
    offered_by: Mapped[str] = mapped_column(String(64))
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_at: Mapped[datetime | None] = mapped_column()
    txn_id: Mapped[str | None] = mapped_column(ForeignKey("loan_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
