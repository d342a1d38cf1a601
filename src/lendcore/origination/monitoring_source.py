"""Stored decisions as plain records for scorecard monitoring (:func:`lendcore.risk.monitoring.monitor`).

Each record holds the model's feature values by name (as decided), plus ``score``, ``decision``
(``approved`` / ``declined``), ``rule_hits`` (list of codes), ``reason_codes``, ``grade``,
``decision_id``, ``application_id``, ``business_date``, ``model_id`` and ``model_version``. Declines by
hard rules were never scored: their ``score`` is None (pass ``score_field="score"`` and the monitor
rescoring them from the features, or filter with ``scored_only=True``).

Performance (:mod:`lendcore.core.performance`), as known on ``until``: ``outcome`` (``"bad"``,
``"good"`` or None), ``matured`` (the outcome is known), ``outcome_reason`` (``bad_dpd``,
``written_off``, ``good``, ``window_open``, ``not_drawn``, ``declined``) and ``performance_window_end``
(ISO date, None for declines). It is read from the contracts on the credit line the decision opened
(``decisions.credit_line_id``). A contract whose ``max_days_past_due`` stayed under the threshold and
that was never written off cannot be bad; only the others are replayed from their transactions, to date
the first day at the threshold (and the write-off) against the window.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.contract import Status
from lendcore.core.performance import (
    ContractPerformance,
    PerformanceDefinition,
    contract_performance,
    performance_outcome,
)
from lendcore.servicing.repository import load_book
from lendcore.store.models import Contract
from lendcore.store.models_origination import CreditDecision

_APPROVED: Final = "approved"
_NOT_DRAWN: Final = frozenset({Status.PENDING.value, "cancelled"})
_CHUNK: Final = 500


def line_performance(
    session: Session, line_ids: Sequence[str], definition: PerformanceDefinition, until: date
) -> dict[str, list[ContractPerformance]]:
    """Per credit line, the performance of its contracts drawn on or before ``until``."""
    result: dict[str, list[ContractPerformance]] = defaultdict(list)
    ids = sorted(set(line_ids))
    for i in range(0, len(ids), _CHUNK):
        query = (
            select(Contract)
            .where(Contract.credit_line_id.in_(ids[i : i + _CHUNK]), Contract.start_date <= until)
            .order_by(Contract.credit_line_id, Contract.id)
        )
        for contract in session.scalars(query):
            drawn_on = None if contract.status in _NOT_DRAWN else contract.start_date
            if drawn_on is None or (
                contract.max_days_past_due < definition.bad_dpd
                and contract.status != Status.WRITTEN_OFF.value
            ):
                perf = ContractPerformance(contract.id, drawn_on)  # never bad, over its whole life
            else:
                book = load_book(session, contract)
                history = [(a.txn.value_date, a.state) for a in book.applied]
                through = min(until, contract.as_of or until)  # as booked: no later than the last booking
                perf = contract_performance(
                    contract.id, drawn_on, history, bad_dpd=definition.bad_dpd, through=through
                )
            result[contract.credit_line_id].append(perf)
    return result


def recent_application_records(
    session: Session,
    since: date,
    until: date,
    *,
    scored_only: bool = False,
    model_id: str | None = None,
    definition: PerformanceDefinition | None = None,
) -> list[dict[str, Any]]:
    """Decisions with ``since <= business_date <= until``, oldest first, as monitoring records with
    their performance outcome as known on ``until``."""
    definition = definition or PerformanceDefinition()
    query = (
        select(CreditDecision)
        .where(CreditDecision.business_date >= since, CreditDecision.business_date <= until)
        .order_by(CreditDecision.business_date, CreditDecision.id)
    )
    if scored_only:
        query = query.where(CreditDecision.score.is_not(None))
    if model_id is not None:
        query = query.where(CreditDecision.model_id == model_id)
    rows = list(session.scalars(query))
    lines = line_performance(
        session,
        [r.credit_line_id for r in rows if r.outcome == _APPROVED and r.credit_line_id],
        definition,
        until,
    )
    records: list[dict[str, Any]] = []
    for row in rows:
        decision = row.record.get("decision", {})
        record: dict[str, Any] = dict(decision.get("features", {}))
        perf = performance_outcome(
            approved=row.outcome == _APPROVED and row.credit_line_id is not None,
            decided_on=row.business_date,
            as_of=until,
            contracts=lines.get(row.credit_line_id or "", ()),
            definition=definition,
        )
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
                "outcome": perf.outcome,
                "matured": perf.matured,
                "outcome_reason": perf.reason,
                "performance_window_end": perf.window_end.isoformat() if perf.window_end else None,
            }
        )
        records.append(record)
    return records
