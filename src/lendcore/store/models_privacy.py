"""Privacy rights and funding partners. Migration ``0017_privacy_partners``.

* ``privacy_requests``: every export and deletion request of a customer (PIPL Art. 45, 47), who asked,
  when, what was done (``details``: what was erased, what was kept and under which rule).
* ``processing_restrictions``: one row per customer whose processing is limited to storage (PIPL
  Art. 47: deletion asked while the law requires the records to be kept). Every processing path checks
  it (:mod:`lendcore.servicing.restrictions`). ``erased_on`` is set when the retention job erased the
  identity data kept until then.
* ``funding_partners``: the registry of funding partners (出资方) with their concentration limit.
* ``contract_funding``: a contract's principal shares by partner (basis points); the lender funds the
  rest. No row: 100 % lender-funded.
* ``partner_postings``: each partner's own ledger (per-partner sub-accounts of the chart), derived from
  the contract's journal entries by :mod:`lendcore.core.funding`; one row per (journal entry, partner,
  line), so booking it again writes nothing.
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
)
from sqlalchemy.orm import Mapped, mapped_column

from lendcore.store.ids import new_id
from lendcore.store.models import CODE, ID, STATUS, Base, _one_of
from lendcore.store.types import BigIntPK, utc_now

PRIVACY_REQUEST_KINDS: Final = ("export", "deletion")
PARTNER_STATUSES: Final = ("active", "suspended")


class PrivacyRequest(Base):
    __tablename__ = "privacy_requests"
    __table_args__ = (
        CheckConstraint(_one_of("kind", PRIVACY_REQUEST_KINDS), name="kind"),
        Index(None, "customer_id", "kind"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("prq"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(STATUS)
    actor: Mapped[str] = mapped_column(String(64))
    business_date: Mapped[date] = mapped_column(Date)
    requested_at: Mapped[datetime] = mapped_column(default=utc_now)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ProcessingRestriction(Base):
    __tablename__ = "processing_restrictions"
    __table_args__ = (
        CheckConstraint("erased_on IS NULL OR erased_on >= restricted_on", name="erased_after_restricted"),
    )

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    restricted_on: Mapped[date] = mapped_column(Date)
    request_id: Mapped[str | None] = mapped_column(ForeignKey("privacy_requests.id"))
    reason: Mapped[str] = mapped_column(Text)
    keep_until: Mapped[date] = mapped_column(Date)  # end of the longest legal retention period
    erased_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class FundingPartner(Base):
    __tablename__ = "funding_partners"
    __table_args__ = (
        CheckConstraint("concentration_limit >= 0", name="concentration_limit_non_negative"),
        CheckConstraint(_one_of("status", PARTNER_STATUSES), name="status"),
        UniqueConstraint("name"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("fp"))
    name: Mapped[str] = mapped_column(String(100))
    concentration_limit: Mapped[int] = mapped_column(BigInteger)  # fen of outstanding principal
    status: Mapped[str] = mapped_column(STATUS, default="active")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class ContractFunding(Base):
    __tablename__ = "contract_funding"
    __table_args__ = (
        CheckConstraint("share_bp > 0 AND share_bp < 10000", name="share_in_range"),
        CheckConstraint("funded_amount > 0", name="funded_amount_positive"),
        Index(None, "partner_id"),
    )

    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("funding_partners.id"), primary_key=True)
    share_bp: Mapped[int] = mapped_column(Integer)  # basis points of every shared amount
    funded_amount: Mapped[int] = mapped_column(BigInteger)  # the partner's part of the principal
    funded_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class PartnerPosting(Base):
    __tablename__ = "partner_postings"
    __table_args__ = (
        UniqueConstraint("journal_entry_id", "partner_id", "line"),
        CheckConstraint("debit >= 0", name="debit_non_negative"),
        CheckConstraint("credit >= 0", name="credit_non_negative"),
        CheckConstraint("(debit > 0 AND credit = 0) OR (debit = 0 AND credit > 0)", name="exactly_one_side"),
        Index(None, "partner_id", "business_date"),
        Index(None, "contract_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    journal_entry_id: Mapped[str] = mapped_column(ForeignKey("journal_entries.id"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("funding_partners.id"))
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"))
    line: Mapped[int] = mapped_column(Integer)
    account_code: Mapped[str] = mapped_column(CODE)
    debit: Mapped[int] = mapped_column(BigInteger, default=0)
    credit: Mapped[int] = mapped_column(BigInteger, default=0)
    business_date: Mapped[date] = mapped_column(Date)
    value_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
