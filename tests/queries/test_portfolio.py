"""Portfolio queries (the back office dashboard's figures), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.delinquency import Bucket
from lendcore.queries.portfolio import (
    BucketShare,
    MonthApprovals,
    ProductOutstanding,
    approvals_by_month,
    dpd_distribution,
    outstanding_by_product,
)
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract
from tests.origination.helpers import apply, register
from tests.servicing.support import do_draw, open_line


def _book(factory: sessionmaker[Session]) -> list[str]:
    """Three quick loans (¥1,000, ¥2,000, ¥3,000) on one line and a premium loan of ¥5,000."""
    _, quick = open_line(factory, limit=10_000_00)
    ids = [do_draw(factory, quick, amount, 3)["contract_id"] for amount in (1_000_00, 2_000_00, 3_000_00)]
    _, premium = open_line(factory, product="premium", limit=50_000_00)
    ids.append(do_draw(factory, premium, 5_000_00, 6)["contract_id"])
    return ids


def test_outstanding_by_product_sums_the_active_contracts_principal(
    session_factory: sessionmaker[Session],
) -> None:
    ids = _book(session_factory)
    with unit_of_work(session_factory) as session:  # a closed contract is off the book
        session.execute(
            update(Contract).where(Contract.id == ids[0]).values(status="closed", outstanding_principal=0)
        )
    with unit_of_work(session_factory, read_only=True) as session:
        assert outstanding_by_product(session) == (
            ProductOutstanding("premium", 1, 5_000_00),
            ProductOutstanding("quick", 2, 5_000_00),
        )


def test_dpd_distribution_lists_every_bucket_by_stored_days_past_due(
    session_factory: sessionmaker[Session],
) -> None:
    ids = _book(session_factory)
    with unit_of_work(session_factory) as session:
        for contract_id, dpd in zip(ids, (0, 1, 30, 95), strict=True):
            session.execute(update(Contract).where(Contract.id == contract_id).values(days_past_due=dpd))
    with unit_of_work(session_factory, read_only=True) as session:
        shares = dpd_distribution(session)
    assert [s.bucket for s in shares] == list(Bucket)
    by_bucket = {s.bucket: s for s in shares}
    assert by_bucket[Bucket.CURRENT] == BucketShare(Bucket.CURRENT, 1, 1_000_00)
    assert by_bucket[Bucket.M1] == BucketShare(Bucket.M1, 2, 5_000_00)  # DPD 1 and 30: both M1
    assert by_bucket[Bucket.M4] == BucketShare(Bucket.M4, 1, 5_000_00)
    assert sum(s.contracts for s in shares) == 4


def test_an_empty_book_has_every_bucket_at_zero(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory, read_only=True) as session:
        assert outstanding_by_product(session) == ()
        assert {(s.contracts, s.principal_outstanding) for s in dpd_distribution(session)} == {(0, 0)}


def test_approvals_by_month_counts_decisions_and_approvals(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        first, second, third = (register(session).id for _ in range(3))
        apply(session, first, on=date(2025, 5, 30), requested_amount=3_000_00)  # approved
        apply(session, second, on=date(2025, 6, 2), requested_amount=3_000_00)  # approved
        declined = apply(
            session, third, on=date(2025, 6, 16), device="d3", requested_amount=50_000_00
        )  # PD 0.5
    assert declined["outcome"] == "declined"
    with unit_of_work(session_factory, read_only=True) as session:
        assert approvals_by_month(session) == (
            MonthApprovals("2025-05", 1, 1),
            MonthApprovals("2025-06", 2, 1),
        )
        assert approvals_by_month(session, since=date(2025, 6, 1)) == (MonthApprovals("2025-06", 2, 1),)
