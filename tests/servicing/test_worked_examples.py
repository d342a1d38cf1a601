"""Worked examples through the use cases, with hand-checked numbers (arithmetic in the comments).

Pricing follows the Chinese consumer-loan convention of a daily rate (日利率) over actual days
(算头不算尾). No authoritative lender help page with a complete worked schedule was found in the
reference corpus (aggregator pages only), so every figure below is computed by hand from the rules.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, ScheduleRow
from tests.servicing.support import assert_invariants, do_draw, do_repay, open_line


def _schedule(factory: sessionmaker[Session], contract_id: str, version: int = 1) -> list[tuple[int, int]]:
    with unit_of_work(factory, read_only=True) as session:
        rows = session.scalars(
            select(ScheduleRow)
            .where(ScheduleRow.contract_id == contract_id, ScheduleRow.version == version)
            .order_by(ScheduleRow.period)
        ).all()
        return [(r.principal, r.interest) for r in rows]


def test_equal_installment_by_daily_rate_over_actual_days(session_factory: sessionmaker[Session]) -> None:
    """¥10,000 quick loan, 3 periods, 0.03 %/day (grade C, 1–3 months), drawn 2026-01-15.
    Periods: 31, 28, 31 days. Level payment P / Σ Π 1/(1+r_j), r = 0.0093, 0.0084, 0.0093 → ¥3,393.51.
    Period 1 interest 1,000,000 × 0.0003 × 31 = 9,300; principal 339,351 − 9,300 = 330,051.
    Period 2: 669,949 × 0.0003 × 28 = 5,627.57 → 5,628; principal 333,723.
    Period 3: 336,226 × 0.0003 × 31 = 3,126.90 → 3,127; principal = the rest, 336,226."""
    cid, line = open_line(session_factory, on=date(2026, 1, 15))
    contract_id = do_draw(session_factory, line, 1_000_000, 3, on=date(2026, 1, 15))["contract_id"]
    assert _schedule(session_factory, contract_id) == [(330_051, 9_300), (333_723, 5_628), (336_226, 3_127)]
    # paying installment 1 on its due date: exactly interest 9,300 and principal 330,051
    result = do_repay(session_factory, cid, 339_351, date(2026, 2, 15))
    c = result["contracts"][0]
    assert (c["interest"], c["principal"], c["prepaid_principal"], c["unapplied"]) == (9_300, 330_051, 0, 0)
    assert c["principal_outstanding"] == 669_949
    assert_invariants(session_factory)


def test_equal_principal_by_daily_rate(session_factory: sessionmaker[Session]) -> None:
    """¥12,000 premium loan, equal principal, 3 periods, 0.03 %/day, drawn 2026-03-01.
    Principal 400,000 a period. Interest: 1,200,000 × 0.0003 × 31 = 11,160; 800,000 × 0.0003 × 30 =
    7,200; 400,000 × 0.0003 × 31 = 3,720. Total interest 22,080."""
    _, line = open_line(session_factory, product="premium")
    contract_id = do_draw(session_factory, line, 1_200_000, 3, method="equal-principal")["contract_id"]
    assert _schedule(session_factory, contract_id) == [(400_000, 11_160), (400_000, 7_200), (400_000, 3_720)]


def test_revolving_interest_for_days_used(session_factory: sessionmaker[Session]) -> None:
    """随借随还: ¥10,000 quick bullet at 0.05 %/day (grade E, 12 months: 0.0005 + 0.0001 clamped to
    0.0005) drawn 2026-03-01; ¥4,000 repaid on 03-11 → interest 1,000,000 × 0.0005 × 10 = 5,000, the
    rest 395,000 principal of the one installment (part of the bill, not a prepayment); paid off on
    04-01: 605,000 × 0.0005 × 21 = 6,352.5 → 6,353 interest."""
    cid, line = open_line(session_factory, grade="E")
    contract_id = do_draw(session_factory, line, 1_000_000, 12, method="bullet")["contract_id"]
    first = do_repay(session_factory, cid, 400_000, date(2026, 3, 11))["contracts"][0]
    assert (first["interest"], first["principal"], first["prepaid_principal"]) == (5_000, 395_000, 0)
    last = do_repay(session_factory, cid, 605_000 + 6_353, date(2026, 4, 1))["contracts"][0]
    assert (last["interest"], last["status"], last["unapplied"]) == (6_353, "closed", 0)
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None and c.status == "closed"
    assert_invariants(session_factory)
