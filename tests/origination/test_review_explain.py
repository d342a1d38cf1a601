from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import BusinessRuleError
from lendcore.origination.explain import explain_decision, replay_decision
from lendcore.origination.monitoring_source import recent_application_records
from lendcore.origination.review import (
    ApproveOverride,
    ConfirmReview,
    ProposeOverride,
    ReviewAsk,
    ReviewResult,
    approve_override,
    confirm_review,
    list_reviews,
    propose_override,
    request_review,
    review_row,
)
from lendcore.risk.scorecard import load_scorecard
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, CreditLine
from lendcore.store.models_origination import CreditApplication, ReviewRequest

from .helpers import NOW, STRATEGIES, TODAY, FakeScorer, apply, register

TINY = Path(__file__).parents[1] / "risk" / "fixtures" / "tiny_scorecard.json"


def test_explain_and_replay_with_a_real_scorecard(session_factory: sessionmaker[Session]) -> None:
    card = load_scorecard(TINY)
    with unit_of_work(session_factory) as session:
        cid = register(session).id
        result = apply(session, cid, scorer=card)
    with unit_of_work(session_factory, read_only=True) as session:
        data = explain_decision(session, result["decision_id"])
        stored, replayed, same = replay_decision(session, result["decision_id"], card, STRATEGIES)
    assert same and stored == replayed and stored.outcome.value == result["outcome"]
    assert data["versions"]["model_id"] == card.model_id
    assert data["score"] == result["score"]
    assert data["contributions"] and {"feature", "points", "max_points", "bin"} <= set(
        data["contributions"][0]
    )
    assert sum(c["points"] for c in data["contributions"]) + card.base_points == data["score"]
    assert data["features"]["duration_in_month"] == 6
    assert "birth_date" not in data["inputs"]["context"] and data["inputs"]["context"]["applicant_age"] == 35
    assert set(data["reasons"]) == {"zh", "en"}


def test_explain_declined_by_rule_and_replay(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        cid = register(session).id
        apply(session, cid, requested_amount=40_000_00)
        second = apply(session, cid, on=TODAY + timedelta(days=3))
    with unit_of_work(session_factory, read_only=True) as session:
        data = explain_decision(session, second["decision_id"])
        _, _, same = replay_decision(session, second["decision_id"], FakeScorer(), STRATEGIES)
    assert same
    assert [h["code"] for h in data["rule_hits"]] == ["REAPPLY_COOLDOWN"]
    assert data["reasons"]["en"] == ["Please wait 30 days after a declined application"]
    assert data["retry_on"] == (TODAY + timedelta(days=30)).isoformat()


def test_review_confirm_and_override_with_maker_checker(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        cid = register(session).id
        declined = apply(session, cid, requested_amount=40_000_00)
    with unit_of_work(session_factory) as session:
        review = request_review(
            session, ReviewAsk(declined["decision_id"], requested_by=cid, reason="please check"), at=NOW
        )
        rid = review.id
    with pytest.raises(BusinessRuleError) as dup, unit_of_work(session_factory) as session:
        request_review(session, ReviewAsk(declined["decision_id"], requested_by=cid, reason=None), at=NOW)
    assert dup.value.code == "REVIEW_ALREADY_OPEN"
    with unit_of_work(session_factory, read_only=True) as session:
        assert [r.id for r in list_reviews(session)] == [rid]
    with pytest.raises(BusinessRuleError) as early, unit_of_work(session_factory) as session:
        approve_override(
            session, ApproveOverride(rid, staff="checker", business_date=TODAY, note=None), at=NOW
        )
    assert early.value.code == "OVERRIDE_NOT_PROPOSED"
    with unit_of_work(session_factory) as session:
        propose_override(
            session,
            ProposeOverride(rid, staff="maker", credit_limit=5_000_00, grade="C", note="income verified"),
            at=NOW,
        )
    with pytest.raises(BusinessRuleError) as same_person, unit_of_work(session_factory) as session:
        approve_override(session, ApproveOverride(rid, staff="maker", business_date=TODAY, note=None), at=NOW)
    assert same_person.value.code == "MAKER_CHECKER_VIOLATION"
    with unit_of_work(session_factory) as session:
        done = approve_override(
            session, ApproveOverride(rid, staff="checker", business_date=TODAY, note="ok"), at=NOW
        )
        assert done.status == "overridden" and done.credit_line_id is not None
        line = session.get(CreditLine, done.credit_line_id)
        assert line is not None and line.credit_limit == 5_000_00 and line.pricing_grade == "C"
        app = session.get(CreditApplication, declined["application_id"])
        assert app is not None and app.status == "approved"
    with pytest.raises(BusinessRuleError) as closed, unit_of_work(session_factory) as session:
        confirm_review(session, ConfirmReview(rid, staff="x", note=None), at=NOW)
    assert closed.value.code == "REVIEW_ALREADY_RESOLVED"
    with unit_of_work(session_factory, read_only=True) as session:
        trail = session.scalars(
            select(
                AuditRecord.action,
            )
            .where(AuditRecord.target_type == "review_request")
            .order_by(AuditRecord.id)
        ).all()
        assert trail == ["review.requested", "review.override_proposed", "review.overridden"]
        actors = session.scalars(
            select(AuditRecord.actor).where(AuditRecord.action == "credit_line.review_override")
        ).all()
        assert actors == ["checker"]
        explained = explain_decision(session, declined["decision_id"])
        assert explained["reviews"][0]["status"] == "overridden"


def test_review_confirm(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        cid = register(session).id
        approved = apply(session, cid)
        rid = request_review(
            session, ReviewAsk(approved["decision_id"], requested_by=cid, reason=None), at=NOW
        ).id
    with unit_of_work(session_factory) as session:
        r = confirm_review(session, ConfirmReview(rid, staff="s1", note="decision stands"), at=NOW)
        assert r.status == "confirmed" and r.resolved_by == "s1"
        # the typed result reads back from its JSON form exactly, and that form is the review's row
        assert ReviewResult.from_json(r.to_json()) == r
        row = session.get(ReviewRequest, rid)
        assert row is not None and review_row(row) == r.to_json()


def test_monitoring_records(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        a = register(session).id
        b = register(session).id
        apply(session, a, device="x1")
        apply(session, b, device="x2", requested_amount=40_000_00)
    with unit_of_work(session_factory, read_only=True) as session:
        records = recent_application_records(session, TODAY, TODAY)
        assert recent_application_records(session, TODAY + timedelta(days=1), TODAY + timedelta(days=9)) == []
    assert [r["decision"] for r in records] == ["approved", "declined"]
    assert records[0]["duration_in_month"] == 6 and records[0]["score"] is not None
    assert records[1]["rule_hits"] == [] and records[1]["reason_codes"] == ["GRADE_DECLINED"]
