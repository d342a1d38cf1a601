"""``contracts.max_days_past_due``: the worst DPD a contract reached, kept after a cure, and not left
behind by a payment value-dated before the due date (invariant 6)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract
from tests.servicing.support import AMPLE_CREDIT, assert_invariants, do_draw, do_repay, open_line

DUE = date(2026, 4, 1)  # a 1-month bullet drawn on 2026-03-01


def _dpd(factory: sessionmaker[Session], contract_id: str) -> tuple[str, int, int]:
    with unit_of_work(factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None
        return c.status, c.days_past_due, c.max_days_past_due


def _late_bullet(factory: sessionmaker[Session], days_late: int) -> tuple[str, str]:
    cid, line = open_line(factory)
    contract_id = do_draw(factory, line, 1_000_000, 1, method="bullet")["contract_id"]
    assert _dpd(factory, contract_id) == ("active", 0, 0)
    for day in range(1, days_late + 1):
        run_daily_close(factory, DUE + timedelta(days=day))
    return cid, contract_id


def test_max_dpd_grows_with_the_closes_and_is_kept_after_the_cure(
    session_factory: sessionmaker[Session],
) -> None:
    cid, contract_id = _late_bullet(session_factory, 5)
    assert _dpd(session_factory, contract_id) == ("active", 5, 5)
    result = do_repay(session_factory, cid, 2_000_000, DUE + timedelta(days=6), max_overpayment=AMPLE_CREDIT)
    assert result["contracts"][0]["backdated"] is False
    # paid before the close of 04-06: the worst close saw 5 days
    assert _dpd(session_factory, contract_id) == ("closed", 0, 5)
    run_daily_close(session_factory, DUE + timedelta(days=7))
    assert _dpd(session_factory, contract_id) == ("closed", 0, 5)
    assert_invariants(session_factory)


def test_a_payment_started_before_the_due_date_leaves_no_worst_dpd(
    session_factory: sessionmaker[Session],
) -> None:
    """Invariant 6: the closes of 04-02 … 04-08 saw DPD 1 … 7, then the payment started on 03-31 is
    confirmed; the contract was never late, so its worst DPD is 0, not 7."""
    cid, contract_id = _late_bullet(session_factory, 7)
    assert _dpd(session_factory, contract_id) == ("active", 7, 7)
    result = do_repay(session_factory, cid, 1_009_000, DUE + timedelta(days=7), value_date=date(2026, 3, 31))
    assert result["contracts"][0]["backdated"] is True
    assert _dpd(session_factory, contract_id) == ("closed", 0, 0)
    assert_invariants(session_factory)


def test_a_late_payment_confirmed_later_keeps_the_days_it_was_really_late(
    session_factory: sessionmaker[Session],
) -> None:
    """Started on 04-04 (DPD 3 at that morning, 2 at the close of 04-03), confirmed on 04-08."""
    cid, contract_id = _late_bullet(session_factory, 7)
    result = do_repay(
        session_factory,
        cid,
        2_000_000,
        DUE + timedelta(days=7),
        value_date=DUE + timedelta(days=3),
        max_overpayment=AMPLE_CREDIT,
    )
    assert result["contracts"][0]["backdated"] is True
    assert _dpd(session_factory, contract_id) == ("closed", 0, 2)
    assert_invariants(session_factory)
