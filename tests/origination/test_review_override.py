"""A staff override is checked when it is proposed and applied in full when it is approved: the
limit and the pricing grade both reach the credit line."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import LendcoreError
from lendcore.origination.drawdown_check import drawdown_gate
from lendcore.origination.review import (
    ApproveOverride,
    ProposeOverride,
    ReviewAsk,
    approve_override,
    override_limit_range,
    propose_override,
    request_review,
)
from lendcore.products.catalog import default_catalog
from lendcore.servicing.codecs import contract_state
from lendcore.servicing.draw import DrawRequest, draw
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, Contract, CreditLine
from lendcore.store.models_origination import LimitChange, ReviewRequest

from .helpers import NOW, TODAY, apply, register


def _review_of(session_factory: sessionmaker[Session], **form: Any) -> tuple[str, dict[str, Any]]:
    with unit_of_work(session_factory) as session:
        cid = register(session).id
        decided = apply(session, cid, **form)
        rid = request_review(
            session, ReviewAsk(decided["decision_id"], requested_by=cid, reason=None), at=NOW
        ).id
    return rid, decided


def _propose(session_factory: sessionmaker[Session], rid: str, limit: int, grade: str | None) -> None:
    with unit_of_work(session_factory) as session:
        propose_override(
            session, ProposeOverride(rid, staff="maker", credit_limit=limit, grade=grade, note=None), at=NOW
        )


def _approve(session_factory: sessionmaker[Session], rid: str) -> str:
    with unit_of_work(session_factory) as session:
        done = approve_override(
            session, ApproveOverride(rid, staff="checker", business_date=TODAY, note=None), at=NOW
        )
        assert done.credit_line_id is not None
        return done.credit_line_id


def test_an_override_of_an_approval_applies_the_staff_grade_to_the_line(
    session_factory: sessionmaker[Session],
) -> None:
    rid, approved = _review_of(session_factory)
    assert approved["outcome"] == "approved" and approved["grade"] == "A"
    _propose(session_factory, rid, 8_000_00, "C")
    line_id = _approve(session_factory, rid)
    assert line_id == approved["credit_line_id"]
    with unit_of_work(session_factory) as session:
        line = session.get(CreditLine, line_id)
        assert line is not None and (line.credit_limit, line.pricing_grade) == (8_000_00, "C")
        changes = session.scalars(
            select(LimitChange).where(LimitChange.reason_code == "REVIEW_OVERRIDE").order_by(LimitChange.id)
        ).all()
        assert [c.new_limit for c in changes] == [8_000_00, 8_000_00]
        assert changes[-1].details["old_grade"] == "A" and changes[-1].details["new_grade"] == "C"
        # a drawdown after the override is priced at the staff's grade: quick, 6 months, grade C
        request = DrawRequest(
            line_id=line_id, amount=1_000_00, term=6, business_date=TODAY, idempotency_key="d1"
        )
        drawn = draw(session, request, gate=drawdown_gate())
        contract = session.get(Contract, drawn.contract_id)
        assert contract is not None
        quick = default_catalog().get("quick")
        assert quick.daily_rate(6, "C") != quick.daily_rate(6, "A")
        assert contract_state(contract).terms.daily_rate == quick.daily_rate(6, "C")


def test_an_override_of_a_decline_opens_the_line_at_the_staff_grade(
    session_factory: sessionmaker[Session],
) -> None:
    rid, declined = _review_of(session_factory, requested_amount=40_000_00)
    assert declined["outcome"] == "declined"
    _propose(session_factory, rid, 5_000_00, "B")
    with unit_of_work(session_factory, read_only=True) as session:
        line = session.get(CreditLine, _approve(session_factory, rid))
        assert line is not None and (line.credit_limit, line.pricing_grade) == (5_000_00, "B")


def _quick_range() -> tuple[int, int]:
    return override_limit_range(default_catalog().get("quick"))


@pytest.mark.parametrize(
    ("limit", "grade", "code"),
    [
        (_quick_range()[0] - 1, "C", "LIMIT_OUT_OF_RANGE"),
        (_quick_range()[1] + 1, "C", "LIMIT_OUT_OF_RANGE"),
        (10**18, "C", "LIMIT_OUT_OF_RANGE"),
        (0, "C", "INVALID_LIMIT"),
        (-5, "C", "INVALID_LIMIT"),
        (5_000_00, "Z", "UNKNOWN_GRADE"),
        (5_000_00, "", "UNKNOWN_GRADE"),
    ],
)
def test_an_impossible_proposal_is_refused_when_proposed_and_changes_nothing(
    session_factory: sessionmaker[Session], limit: int, grade: str, code: str
) -> None:
    rid, _ = _review_of(session_factory, requested_amount=40_000_00)
    with unit_of_work(session_factory, read_only=True) as session:
        audits = session.scalar(select(func.count()).select_from(AuditRecord))
    with pytest.raises(LendcoreError) as caught, unit_of_work(session_factory) as session:
        propose_override(
            session,
            ProposeOverride(rid, staff="maker", credit_limit=limit, grade=grade or "", note=None),
            at=NOW,
        )
    assert caught.value.code == code
    with unit_of_work(session_factory, read_only=True) as session:
        review = session.get(ReviewRequest, rid)
        assert review is not None and review.status == "queued" and review.proposed_limit is None
        assert session.scalar(select(func.count()).select_from(AuditRecord)) == audits


@pytest.mark.parametrize("edge", ["low", "high"])
def test_a_proposal_accepted_at_the_edge_of_the_range_is_one_the_checker_can_apply(
    session_factory: sessionmaker[Session], edge: str
) -> None:
    low, high = _quick_range()
    rid, _ = _review_of(session_factory, requested_amount=40_000_00)
    _propose(session_factory, rid, low if edge == "low" else high, "C")
    with unit_of_work(session_factory, read_only=True) as session:
        line = session.get(CreditLine, _approve(session_factory, rid))
        assert line is not None and line.credit_limit == (low if edge == "low" else high)


def test_a_proposed_limit_below_what_the_line_lends_is_refused(
    session_factory: sessionmaker[Session],
) -> None:
    rid, approved = _review_of(session_factory)
    with unit_of_work(session_factory) as session:
        request = DrawRequest(
            line_id=approved["credit_line_id"],
            amount=2_000_00,
            term=6,
            business_date=TODAY,
            idempotency_key="d1",
        )
        draw(session, request, gate=drawdown_gate())
    low, _ = _quick_range()
    with pytest.raises(LendcoreError) as caught, unit_of_work(session_factory) as session:
        propose_override(
            session,
            ProposeOverride(rid, staff="maker", credit_limit=low + 1_00, grade="C", note=None),
            at=NOW,
        )
    assert caught.value.code == "LIMIT_BELOW_OUTSTANDING"
