"""Vintage curves (30+ DPD by origination month) and roll rates (M0→M1→M2…) from each contract's
replayed history at month ends, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.allocation import CustomerMode
from lendcore.core.delinquency import Bucket
from lendcore.queries.performance import month_end, month_ends, roll_rates, vintage_curves
from lendcore.store.engine import unit_of_work
from lendcore.store.models import ScheduleRow
from tests.servicing.support import do_draw, do_repay, open_line

AS_OF = date(2026, 6, 30)


def _draw(factory: sessionmaker[Session], amount: int, on: date) -> tuple[str, str]:
    customer_id, line_id = open_line(factory, on=on)
    return customer_id, do_draw(factory, line_id, amount, 3, on=on)["contract_id"]


def _first_installment(factory: sessionmaker[Session], contract_id: str) -> int:
    with unit_of_work(factory, read_only=True) as session:
        row = session.scalars(
            select(ScheduleRow).where(ScheduleRow.contract_id == contract_id, ScheduleRow.period == 1)
        ).one()
        return row.total


def _book(factory: sessionmaker[Session]) -> None:
    """Vintage 2026-03: A ¥1,000 never pays, B ¥2,000 pays off on 03-15. Vintage 2026-04 (04-10):
    C ¥4,000 never pays, D ¥1,000 pays its first installment on its due date (05-10) and no more."""
    _draw(factory, 1_000_00, date(2026, 3, 1))
    b_customer, _ = _draw(factory, 2_000_00, date(2026, 3, 1))
    do_repay(factory, b_customer, None, date(2026, 3, 15), CustomerMode.PAY_OFF_ALL)
    _draw(factory, 4_000_00, date(2026, 4, 10))
    d_customer, d = _draw(factory, 1_000_00, date(2026, 4, 10))
    do_repay(factory, d_customer, _first_installment(factory, d), date(2026, 5, 10))


def test_a_vintage_30_plus_rate_is_its_late_principal_over_what_it_originated(
    session_factory: sessionmaker[Session],
) -> None:
    _book(session_factory)
    with unit_of_work(session_factory, read_only=True) as session:
        curves = vintage_curves(session, as_of=AS_OF)
    got = {(p.vintage, p.month_on_book): (p.thirty_plus_contracts, p.thirty_plus_rate) for p in curves}
    assert got == {
        # A: DPD 29 at 04-30 (not yet 30+), 60 at 05-31, 90 at 06-30; B closed: ¥1,000 of ¥3,000
        ("2026-03", 1): (0, Decimal("0")),
        ("2026-03", 2): (1, Decimal("0.3333")),
        ("2026-03", 3): (1, Decimal("0.3333")),
        # C: DPD 21 at 05-31, 51 at 06-30; D current, then 20 days late: ¥4,000 of ¥5,000
        ("2026-04", 1): (0, Decimal("0")),
        ("2026-04", 2): (1, Decimal("0.8000")),
    }
    march = next(p for p in curves if p.vintage == "2026-03")
    assert (march.contracts, march.originated_principal, march.month_end) == (2, 3_000_00, date(2026, 4, 30))


def test_roll_rates_are_the_share_of_a_bucket_balance_one_bucket_worse_a_month_later(
    session_factory: sessionmaker[Session],
) -> None:
    _book(session_factory)
    with unit_of_work(session_factory, read_only=True) as session:
        rates = roll_rates(session, as_of=AS_OF)
    got = {
        (r.to_month_end, r.from_bucket, r.to_bucket): (r.contracts, r.rolled_contracts, r.rate) for r in rates
    }
    d_principal = 1_000_00
    assert got == {
        (date(2026, 4, 30), Bucket.CURRENT, Bucket.M1): (1, 1, Decimal("1")),  # A (B closed: off the book)
        # C rolls, D paid on time: ¥4,000 of ¥5,000
        (date(2026, 5, 31), Bucket.CURRENT, Bucket.M1): (2, 1, Decimal("0.8000")),
        (date(2026, 5, 31), Bucket.M1, Bucket.M2): (1, 1, Decimal("1")),  # A
        # D: M0 at 05-31, 20 days late at 06-30
        (date(2026, 6, 30), Bucket.CURRENT, Bucket.M1): (1, 1, Decimal("1")),
        (date(2026, 6, 30), Bucket.M1, Bucket.M2): (1, 1, Decimal("1")),  # C
        (date(2026, 6, 30), Bucket.M2, Bucket.M3): (1, 1, Decimal("1")),  # A
    }
    may = next(r for r in rates if r.to_month_end == date(2026, 5, 31) and r.from_bucket is Bucket.CURRENT)
    assert may.principal == 4_000_00 + d_principal and may.rolled_principal == 4_000_00


def test_an_empty_book_has_no_curve_and_no_roll_rate(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory, read_only=True) as session:
        assert vintage_curves(session, as_of=AS_OF) == ()
        assert roll_rates(session, as_of=AS_OF) == ()


@given(st.dates(date(2000, 1, 1), date(2100, 12, 1)), st.integers(0, 400))
def test_month_ends_are_consecutive_last_days_up_to_the_date(first: date, days: int) -> None:
    as_of = date.fromordinal(first.toordinal() + days)
    ends = month_ends(first, as_of)
    assert all(e <= as_of and month_end(e) == e for e in ends)
    assert all(date.fromordinal(e.toordinal() + 1).day == 1 for e in ends)
    assert len(ends) == (as_of.year - first.year) * 12 + as_of.month - first.month + (
        as_of == month_end(as_of)
    )
