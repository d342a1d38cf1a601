"""Official repayment accounts (and, with them, autopay): migration ``0010_autopay_accounts``.

* ``official_accounts``: the registry of accounts the lender collects repayments into
  (:mod:`lendcore.core.official_accounts`). ``number`` is stored normalised (digits only); the same
  number may appear more than once with validity windows that do not overlap (an account retired and
  later reused), which :mod:`lendcore.payments.official_accounts` enforces.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from lendcore.store.ids import new_id
from lendcore.store.models import ID, Base
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
