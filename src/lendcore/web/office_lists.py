"""Back-office lists: applications with their decisions (inputs summarised, score, grade, reasons), the
audit log, the undelivered customer messages (failed or never confirmed, with the lender fault each
reminder opened) and the channel statements' reconciliations (every fen: matched, resolved,
unexplained, issues per kind) with the open channel suspense (each a link to propose clearing it),
newest first, :data:`lendcore.web.office.PAGE_ROWS` rows."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from lendcore.api.state import StateDep
from lendcore.store.models import AuditRecord
from lendcore.store.models_origination import CreditApplication, CreditDecision
from lendcore.store.models_payments import ChannelSuspense, ReconciliationRun
from lendcore.web.office import PAGE_ROWS, is_staff
from lendcore.web.render import page

router = APIRouter(prefix="/office", include_in_schema=False)


@router.get("/applications")
def applications(request: Request, state: StateDep) -> Response:
    if not is_staff(state, request):
        return RedirectResponse("/office/login", status_code=303)
    with state.database.read() as session:
        query = (
            select(CreditApplication, CreditDecision)
            .join(CreditDecision, CreditDecision.application_id == CreditApplication.id, isouter=True)
            .order_by(CreditApplication.created_at.desc(), CreditApplication.id)
            .limit(PAGE_ROWS)
        )
        rows = [
            {
                "id": a.id,
                "customer_id": a.customer_id,
                "product_code": a.product_code,
                "requested_amount": a.requested_amount,
                "term": a.term,
                "applied_on": a.applied_on,
                "outcome": d.outcome if d else a.status,
                "score": d.score if d else None,
                "grade": d.grade if d else None,
                "credit_limit": d.credit_limit if d else None,
                "reason_codes": list(d.reason_codes) if d else [],
                "decision_id": d.id if d else None,
            }
            for a, d in session.execute(query).all()
        ]
    return page(state, request, "office_applications.html", "applications_title", signed_in=True, rows=rows)


@router.get("/audit")
def audit_log(request: Request, state: StateDep) -> Response:
    if not is_staff(state, request):
        return RedirectResponse("/office/login", status_code=303)
    with state.database.read() as session:
        records = session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(PAGE_ROWS)).all()
        rows = [
            {"at": r.at, "actor": r.actor, "action": r.action, "target": f"{r.target_type} {r.target_id}"}
            for r in records
        ]
    return page(state, request, "office_audit.html", "audit_title", signed_in=True, rows=rows)


@router.get("/notifications")
def undelivered_notifications(request: Request, state: StateDep) -> Response:
    if not is_staff(state, request):
        return RedirectResponse("/office/login", status_code=303)
    from lendcore.notify.queries import undelivered

    with state.database.read() as session:
        rows = undelivered(session, limit=PAGE_ROWS)
    return page(state, request, "office_notifications.html", "undelivered_title", signed_in=True, rows=rows)


@router.get("/reconciliations")
def reconciliations(request: Request, state: StateDep) -> Response:
    if not is_staff(state, request):
        return RedirectResponse("/office/login", status_code=303)
    with state.database.read() as session:
        runs = session.scalars(
            select(ReconciliationRun)
            .order_by(ReconciliationRun.statement_date.desc(), ReconciliationRun.channel)
            .limit(PAGE_ROWS)
        ).all()
        rows = [
            {
                "statement_date": r.statement_date, "channel": r.channel, "rows": r.rows, "total": r.total,
                "matched": r.matched, "matched_amount": r.matched_amount, "resolved": r.resolved,
                "resolved_amount": r.resolved_amount, "unexplained_amount": r.unexplained_amount,
                "suspense_amount": r.suspense_amount, "issues": sorted(r.issues.items()), "runs": r.runs,
            }
            for r in runs
        ]  # fmt: skip
        held = session.scalars(
            select(ChannelSuspense)
            .where(ChannelSuspense.status == "open")
            .order_by(ChannelSuspense.raised_at, ChannelSuspense.id)
            .limit(PAGE_ROWS)
        ).all()
        suspense = [
            {
                "id": i.id, "amount": i.amount, "channel": i.channel, "statement_date": i.statement_date,
                "named_payment_id": i.named_payment_id, "customer_id": i.customer_id,
                "value_date": i.value_date,
            }
            for i in held
        ]  # fmt: skip
    return page(
        state, request, "office_reconciliations.html", "reconciliations_title", signed_in=True, rows=rows,
        suspense=suspense,
    )  # fmt: skip
