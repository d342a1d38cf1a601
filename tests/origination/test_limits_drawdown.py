from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.calendar import add_months
from lendcore.origination.drawdown_check import check_drawdown, drawdown_context
from lendcore.origination.limits import LimitPolicy, reevaluate_limits
from lendcore.servicing.lines import freeze_line, open_credit_line
from lendcore.store.engine import unit_of_work
from lendcore.store.models import CreditLine, JobRun, Payment
from lendcore.store.models_origination import DrawdownDecline, LimitChange
from tests.store.builders import add_contract

from .helpers import TODAY, register

OPENED = date(2024, 11, 1)
LATER = add_months(OPENED, 7)


def _line(session: Session, limit: int = 10_000_00, opened: date = OPENED) -> CreditLine:
    cid = register(session).id
    return open_credit_line(
        session,
        customer_id=cid,
        product_code="quick",
        credit_limit=limit,
        pricing_grade="B",
        business_date=opened,
        actor="test",
    )


def test_raise_freeze_lower_and_idempotency(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        good = _line(session)
        add_contract(
            session,
            good,
            principal=8_000_00,
            outstanding_principal=8_000_00,
            start_date=OPENED,
            first_due_date=OPENED + timedelta(days=30),
        )
        low_use = _line(session)
        add_contract(
            session,
            low_use,
            principal=1_000_00,
            outstanding_principal=1_000_00,
            start_date=OPENED,
            first_due_date=OPENED + timedelta(days=30),
        )
        late = _line(session)
        add_contract(
            session,
            late,
            principal=5_000_00,
            outstanding_principal=5_000_00,
            days_past_due=5,
            start_date=OPENED,
            first_due_date=OPENED + timedelta(days=30),
        )
        very_late = _line(session)
        add_contract(
            session,
            very_late,
            principal=4_000_00,
            outstanding_principal=4_000_00,
            days_past_due=45,
            start_date=OPENED,
            first_due_date=OPENED + timedelta(days=30),
        )
        young = _line(session, opened=LATER - timedelta(days=10))
        add_contract(
            session,
            young,
            principal=9_000_00,
            outstanding_principal=9_000_00,
            start_date=LATER - timedelta(days=10),
            first_due_date=LATER + timedelta(days=20),
        )
        ids = {
            n: line.id
            for n, line in {
                "good": good,
                "low": low_use,
                "late": late,
                "very_late": very_late,
                "young": young,
            }.items()
        }
    with unit_of_work(session_factory) as session:
        summary = reevaluate_limits(session, LATER)
    assert summary.already_ran is False and summary.lines == 5
    by_line = {c.line_id: c for c in summary.changes}
    assert by_line[ids["good"]].reason_code == "GOOD_BEHAVIOUR_RAISE"
    assert by_line[ids["good"]].new_limit == 12_000_00
    assert by_line[ids["late"]].reason_code == "OVERDUE_FREEZE"
    assert by_line[ids["very_late"]].reason_code == "OVERDUE_LOWER"
    assert ids["low"] not in by_line and ids["young"] not in by_line
    with unit_of_work(session_factory, read_only=True) as session:
        late_line = session.get(CreditLine, ids["late"])
        very = session.get(CreditLine, ids["very_late"])
        assert late_line is not None and late_line.status == "frozen" and late_line.credit_limit == 10_000_00
        assert very is not None and very.status == "frozen" and very.credit_limit == 4_000_00
        reasons = session.scalars(
            select(LimitChange.reason_code)
            .where(LimitChange.credit_line_id == ids["very_late"])
            .order_by(LimitChange.id)
        ).all()
        assert reasons == ["LINE_OPENED", "OVERDUE_LOWER", "OVERDUE_FREEZE"]
        n_changes = session.scalar(select(func.count(LimitChange.id)))
    with unit_of_work(session_factory) as session:
        again = reevaluate_limits(session, LATER)
    assert again.already_ran is True and again.changes == summary.changes
    assert again == dataclasses.replace(summary, already_ran=True)  # the stored summary, read back typed
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(func.count(LimitChange.id))) == n_changes
        assert session.scalar(select(func.count(JobRun.id))) == 1
    # next day: the raised line is not raised again (changed less than 6 months ago)
    with unit_of_work(session_factory) as session:
        nxt = reevaluate_limits(session, LATER + timedelta(days=1))
    assert nxt.changes == ()


def test_raise_is_capped(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        line = _line(session, limit=45_000_00)
        add_contract(
            session,
            line,
            principal=40_000_00,
            outstanding_principal=40_000_00,
            start_date=OPENED,
            first_due_date=OPENED + timedelta(days=30),
        )
        summary = reevaluate_limits(session, LATER, LimitPolicy())
    assert summary.changes[0].new_limit == 50_000_00


def test_drawdown_check(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        line = _line(session, opened=TODAY - timedelta(days=60))
        add_contract(
            session,
            line,
            principal=6_000_00,
            outstanding_principal=6_000_00,
            start_date=TODAY - timedelta(days=10),
            first_due_date=TODAY + timedelta(days=20),
        )
        line_id = line.id
        ok = check_drawdown(session, line_id=line_id, amount=4_000_00, business_date=TODAY)
        assert ok.approved and ok.reason_codes == ()
        over = check_drawdown(session, line_id=line_id, amount=4_000_01, business_date=TODAY)
        assert not over.approved and over.reason_codes == ("LIMIT_EXCEEDED",) and over.retry_on is None
        assert session.scalar(select(func.count(DrawdownDecline.id))) == 0
        for i in range(2):
            session.add(
                Payment(
                    direction="inbound",
                    customer_id=line.customer_id,
                    amount=100_00,
                    state="failed",
                    channel="sim",
                    value_date=TODAY - timedelta(days=i + 1),
                )
            )
        session.flush()
        failed = check_drawdown(session, line_id=line_id, amount=100_00, business_date=TODAY)
        assert failed.reason_codes == ("DRAWDOWN_REPAYMENT_FAILURES",)
        assert failed.retry_on == TODAY + timedelta(days=30)
    with unit_of_work(session_factory) as session:
        # the behaviour decline was recorded: its cooldown holds for 30 days, then the check passes
        later = check_drawdown(
            session,
            line_id=line_id,
            amount=100_00,
            business_date=TODAY + timedelta(days=10),
            record_decline=False,
        )
        assert "DRAWDOWN_COOLDOWN" in later.reason_codes
        assert session.scalar(select(func.count(DrawdownDecline.id))) == 1
        fine = check_drawdown(
            session, line_id=line_id, amount=100_00, business_date=TODAY + timedelta(days=31)
        )
        assert fine.approved
    with unit_of_work(session_factory) as session:
        reevaluate_limits(session, TODAY)  # nothing overdue: no change
        line_row = session.get(CreditLine, line_id)
        assert line_row is not None
        line_row.status = "frozen"
        session.flush()
        frozen = check_drawdown(
            session, line_id=line_id, amount=100_00, business_date=TODAY + timedelta(days=40)
        )
        assert "LINE_FROZEN" in frozen.reason_codes


def test_the_drawdown_check_sees_pending_drawdowns_and_a_frozen_line(
    session_factory: sessionmaker[Session],
) -> None:
    """One available-limit rule (core.credit_line) for the check as for the draw: a pending
    drawdown holds the limit, and a frozen line has nothing available."""
    with unit_of_work(session_factory) as session:
        line = _line(session, limit=10_000_00)
        add_contract(session, line, principal=3_000_00, outstanding_principal=3_000_00)
        add_contract(session, line, principal=2_000_00, outstanding_principal=0, status="pending")
        ctx = drawdown_context(session, line_id=line.id, amount=100_00, business_date=LATER)
        assert ctx.available_limit == 5_000_00
        freeze_line(session, line.id, reason_code="TEST", business_date=LATER, actor="t")
        frozen = drawdown_context(session, line_id=line.id, amount=100_00, business_date=LATER)
        assert (frozen.available_limit, frozen.line_frozen) == (0, True)
