"""Stored decisions as plain records for scorecard monitoring (:func:`lendcore.risk.monitoring.monitor`).

Each record holds the model's feature values by name (as decided), plus ``score``, ``decision``
(``approved`` / ``declined``), ``rule_hits`` (list of codes), ``reason_codes``, ``grade``,
``decision_id``, ``application_id``, ``business_date``, ``model_id`` and ``model_version``. Declines by
hard rules were never scored: their ``score`` is None (pass ``score_field="score"`` and the monitor
rescoring them from the features, or filter with ``scored_only=True``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.store.models_origination import CreditDecision


def recent_application_records(
    session: Session, since: date, until: date, *, scored_only: bool = False, model_id: str | None = None
) -> list[dict[str, Any]]:
    """Decisions with ``since <= business_date <= until``, oldest first, as monitoring records."""
    query = (
        select(CreditDecision)
        .where(CreditDecision.business_date >= since, CreditDecision.business_date <= until)
        .order_by(CreditDecision.business_date, CreditDecision.id)
    )
    if scored_only:
        query = query.where(CreditDecision.score.is_not(None))
    if model_id is not None:
        query = query.where(CreditDecision.model_id == model_id)
    records: list[dict[str, Any]] = []
    for row in session.scalars(query):
        decision = row.record.get("decision", {})
        record: dict[str, Any] = dict(decision.get("features", {}))
        record.update(
            {
                "decision_id": row.id,
                "application_id": row.application_id,
                "business_date": row.business_date.isoformat(),
                "score": row.score,
                "grade": row.grade,
                "decision": row.outcome,
                "rule_hits": [h["code"] for h in decision.get("rule_hits", [])],
                "reason_codes": list(row.reason_codes),
                "model_id": row.model_id,
                "model_version": row.model_version,
            }
        )
        records.append(record)
    return records
