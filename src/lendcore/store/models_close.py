"""The daily close's aggregate accrual (migration ``0014_close_aggregate``).

``accrual_aggregates``: one row per business date and product, the interest the close accrued in
aggregate for the product's quiet contracts on that date (:mod:`lendcore.batch.close_sql`), with the
journal entry that posted it (Dr 1132.91 accrued interest in aggregate, Cr 6011.01 interest income).
Unique per (business date, product): a date's aggregate is posted once, whatever the reruns.

``close_ranges``: the contract id ranges ``(after_id, upto_id]`` whose quiet contracts a date's close
has accrued, one row per partition, written in the partition's transaction (``after_id`` ``""`` and
``upto_id`` ``"~"`` stand for unbounded: every id sorts between them). It is what makes a partition
idempotent (unique per date and range) and tells how far the aggregate covers a contract
(:func:`lendcore.servicing.aggregate_accrual.covered_until`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from lendcore.store.models import CODE, Base
from lendcore.store.types import BigIntPK, utc_now


class AccrualAggregate(Base):
    __tablename__ = "accrual_aggregates"
    __table_args__ = (
        UniqueConstraint("business_date", "product_code"),
        CheckConstraint("contracts >= 0", name="contracts_non_negative"),
        CheckConstraint("interest >= 0", name="interest_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    business_date: Mapped[date] = mapped_column(Date)
    product_code: Mapped[str] = mapped_column(CODE)
    contracts: Mapped[int] = mapped_column(Integer)
    interest: Mapped[int] = mapped_column(BigInteger)
    penalty: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    entry_id: Mapped[str | None] = mapped_column(ForeignKey("journal_entries.id"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class CloseRange(Base):
    __tablename__ = "close_ranges"
    __table_args__ = (UniqueConstraint("business_date", "after_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    business_date: Mapped[date] = mapped_column(Date)
    after_id: Mapped[str] = mapped_column(String(40))
    upto_id: Mapped[str] = mapped_column(String(40))
    contracts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
