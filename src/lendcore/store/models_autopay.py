"""Official repayment accounts (and, with them, autopay): migration ``0011_autopay_accounts``.

* ``official_accounts``: the registry of accounts the lender collects repayments into
  (:mod:`lendcore.core.official_accounts`). ``number`` is stored normalised (digits only); the same
  number may appear more than once with validity windows that do not overlap (an account retired and
  later reused), which :mod:`lendcore.payments.official_accounts` enforces.
* ``autopay_mandates``: a customer's autopay mandates, one per bound card (primary, fallback), each
  given under an ``autopay_debit`` consent; revoked in place (:mod:`lendcore.origination.autopay`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from lendcore.store.ids import new_id
from lendcore.store.models import ID, STATUS, Base, _one_of
from lendcore.store.types import utc_now


class OfficialAccountRow(Base):
    __tablename__ = "official_accounts"
    __table_args__ = (CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity_ordered"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("oacc"))
    number: Mapped[str] = mapped_column(String(30), index=True)
    bank_name: Mapped[str] = mapped_column(String(100))
    holder: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


MANDATE_ROLES: Final = ("primary", "fallback")
MANDATE_STATUSES: Final = ("active", "revoked")


class AutopayMandate(Base):
    """A customer's standing instruction to debit one bound card on due dates (代扣). It needs an
    active ``autopay_debit`` consent when created; revoking keeps the row (``revoked_at``). At most one
    active mandate per card and one active per role (``primary``, ``fallback``) per customer."""

    __tablename__ = "autopay_mandates"
    __table_args__ = (
        CheckConstraint(_one_of("role", MANDATE_ROLES), name="role"),
        CheckConstraint(_one_of("status", MANDATE_STATUSES), name="status"),
        Index(
            "uq_autopay_mandates_one_active_per_card",
            "bank_card_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
        Index(
            "uq_autopay_mandates_one_active_per_role",
            "customer_id",
            "role",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("mdt"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    bank_card_id: Mapped[str] = mapped_column(ForeignKey("bank_cards.id"))
    role: Mapped[str] = mapped_column(STATUS)
    status: Mapped[str] = mapped_column(STATUS, default="active")
    consent_version: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by: Mapped[str | None] = mapped_column(String(64))
