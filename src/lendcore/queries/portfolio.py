"""Portfolio read models for the back office's dashboard: outstanding by product, the DPD bucket
distribution, approvals by month.

They read the contracts' stored balances (the snapshot the last booking or daily close left: see
``Contract.as_of``), so they agree with the close's reports and cost one query each. Amounts are
integer fen. Month grouping is done here, not in SQL, so it is the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.contract import Status
from lendcore.core.delinquency import Bucket, bucket
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.store.models import Contract
from lendcore.store.models_origination import CreditDecision

#: What "on the book" means here: contracts still owed (active; written-off ones are off balance sheet).
ON_BOOK: tuple[str, ...] = (Status.ACTIVE.value,)


@dataclass(frozen=True, slots=True)
class ProductOutstanding(JsonRecord):
    product_code: str
    contracts: int
    principal_outstanding: Fen


@dataclass(frozen=True, slots=True)
class BucketShare(JsonRecord):
    bucket: Bucket
    contracts: int
    principal_outstanding: Fen


@dataclass(frozen=True, slots=True)
class MonthApprovals(JsonRecord):
    month: str  # YYYY-MM of the decision's business date
    decisions: int
    approved: int


def outstanding_by_product(session: Session) -> tuple[ProductOutstanding, ...]:
    """Active contracts and their outstanding principal per product, by product code."""
    rows = session.execute(
        select(Contract.product_code, Contract.outstanding_principal).where(Contract.status.in_(ON_BOOK))
    ).all()
    count: Counter[str] = Counter()
    principal: Counter[str] = Counter()
    for product_code, outstanding in rows:
        count[product_code] += 1
        principal[product_code] += outstanding
    return tuple(ProductOutstanding(p, count[p], principal[p]) for p in sorted(count))


def dpd_distribution(session: Session) -> tuple[BucketShare, ...]:
    """Active contracts by M-bucket of their stored DPD; every bucket listed (zeros included), M0 first."""
    rows = session.execute(
        select(Contract.days_past_due, Contract.outstanding_principal).where(Contract.status.in_(ON_BOOK))
    ).all()
    count: Counter[Bucket] = Counter()
    principal: Counter[Bucket] = Counter()
    for dpd, outstanding in rows:
        b = bucket(dpd)
        count[b] += 1
        principal[b] += outstanding
    return tuple(BucketShare(b, count[b], principal[b]) for b in Bucket)


def approvals_by_month(session: Session, *, since: date | None = None) -> tuple[MonthApprovals, ...]:
    """Decisions and approvals per month of their business date (from ``since``), oldest first."""
    query = select(CreditDecision.business_date, CreditDecision.outcome)
    if since is not None:
        query = query.where(CreditDecision.business_date >= since)
    decisions: Counter[str] = Counter()
    approved: defaultdict[str, int] = defaultdict(int)
    for business_date, outcome in session.execute(query).all():
        month = f"{business_date:%Y-%m}"
        decisions[month] += 1
        approved[month] += outcome == "approved"
    return tuple(MonthApprovals(m, decisions[m], approved[m]) for m in sorted(decisions))
