"""Explain and replay a stored decision (PIPL Art. 24: automated decisions are explainable).

:func:`explain_decision` assembles, from the stored record, what went in (the form, the context, the
feature values), how it was scored (per-feature points, best possible points), which rules fired,
the reasons in Chinese and English, the model and strategy versions and the stage timings. No PII:
the context's birth date is replaced by the applicant's age.

:func:`replay_decision` recomputes the decision from its record with the given artefacts
(:func:`lendcore.risk.decision.replay`, ``REPLAY_VERSION_MISMATCH`` if they are not the recorded
versions) and compares it with the stored one (timings excluded).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.errors import NotFoundError
from lendcore.core.identity import age_on
from lendcore.risk.decision import Decision, Scorer, decision_from_record, reason_text, replay, same_outcome
from lendcore.risk.strategy import StrategySet
from lendcore.store.models_origination import CreditApplication, CreditDecision, ReviewRequest


def _load(session: Session, decision_id: str) -> CreditDecision:
    row = session.get(CreditDecision, decision_id)
    if row is None:
        raise NotFoundError(f"decision {decision_id} not found", code="DECISION_NOT_FOUND")
    return row


def explain_decision(session: Session, decision_id: str) -> dict[str, Any]:
    """A JSON-able explanation of one stored decision (see the module docstring)."""
    row = _load(session, decision_id)
    app = session.get(CreditApplication, row.application_id)
    assert app is not None  # foreign key
    record = row.record
    decision = record["decision"]
    inputs = record["inputs"]
    context = dict(inputs["context"])
    birth = context.pop("birth_date", None)
    if birth is not None:
        context["applicant_age"] = age_on(
            date.fromisoformat(birth), date.fromisoformat(context["business_date"])
        )
    for key in ("device_application_dates", "phone_application_dates", "id_application_dates"):
        context[key] = len(context.get(key) or ())  # counts are enough to explain velocity
    codes = list(decision["reason_codes"])
    contributions = row.contributions or []
    reviews = session.scalars(
        select(ReviewRequest)
        .where(ReviewRequest.decision_id == decision_id)
        .order_by(ReviewRequest.requested_at)
    ).all()
    return {
        "decision_id": row.id,
        "application_id": row.application_id,
        "customer_id": app.customer_id,
        "product_code": app.product_code,
        "business_date": row.business_date.isoformat(),
        "decided_at": row.decided_at.isoformat(),
        "outcome": row.outcome,
        "grade": row.grade,
        "score": row.score,
        "probability_bad": decision.get("probability_bad"),
        "credit_limit": row.credit_limit,
        "daily_rate": decision.get("daily_rate"),
        "apr": decision.get("apr"),
        "retry_on": None if row.retry_on is None else row.retry_on.isoformat(),
        "credit_line_id": row.credit_line_id,
        "reason_codes": codes,
        "reasons": {
            "zh": list(dict.fromkeys(reason_text(c, "zh") for c in codes)),
            "en": list(dict.fromkeys(reason_text(c, "en") for c in codes)),
        },
        "rule_hits": decision["rule_hits"],
        "features": decision["features"],
        "contributions": sorted(contributions, key=lambda c: c["points"] - c["max_points"]),
        "inputs": {"application": inputs["application"], "context": context, "config": inputs["config"]},
        "versions": {
            "record_format": record.get("format"),
            "model_id": row.model_id,
            "model_version": row.model_version,
            "strategy_id": row.strategy_id,
            "strategy_version": row.strategy_version,
        },
        "challenger": row.challenger,
        "timings_ms": decision.get("timings_ms", {}),
        "reviews": [
            {
                "id": r.id,
                "status": r.status,
                "requested_at": r.requested_at.isoformat(),
                "resolved_by": r.resolved_by,
                "resolved_at": None if r.resolved_at is None else r.resolved_at.isoformat(),
            }
            for r in reviews
        ],
    }


def replay_decision(
    session: Session, decision_id: str, scorecard: Scorer, strategies: StrategySet
) -> tuple[Decision, Decision, bool]:
    """(stored, replayed, same): recompute the stored decision from its record and compare."""
    row = _load(session, decision_id)
    stored = decision_from_record(row.record)
    replayed = replay(row.record, scorecard, strategies)
    return stored, replayed, same_outcome(stored, replayed)
