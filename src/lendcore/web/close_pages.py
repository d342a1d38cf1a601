"""The daily close from the back office (``/office/close``): the open business date, a button that
closes it (finance; admin passes), and the reports of the recent closes with their invariants
(:func:`lendcore.batch.close.close_business_days`, the same run as the CLI's and the API's).

The form names the date it closes (rendered with the page), so a double submit closes that date once:
the second finds it closed and reports ``skipped`` instead of closing the next day.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from lendcore.api.state import AppState, StateDep
from lendcore.auth.errors import PermissionDeniedError
from lendcore.auth.principal import StaffRole
from lendcore.batch.close import JOB, close_business_days
from lendcore.core.errors import LendcoreError
from lendcore.error_table import spec_for
from lendcore.servicing.business_day import open_business_date, resolve_close_date
from lendcore.store.models import JobRun
from lendcore.web.common import Csrf
from lendcore.web.office import is_staff
from lendcore.web.render import page
from lendcore.web.session import check_csrf, session_principal

router = APIRouter(prefix="/office", include_in_schema=False)
#: Who may run the close (as the API's finance endpoints).
CLOSERS: Final = frozenset({StaffRole.FINANCE})
#: How many recent closes the page lists.
RECENT_CLOSES: Final = 10


def _close_page(state: AppState, request: Request, *, status_code: int = 200, **context: Any) -> Response:
    today = state.clock().date()
    with state.database.read() as session:
        next_date = open_business_date(session) or today
        runs = session.scalars(
            select(JobRun).where(JobRun.job == JOB).order_by(JobRun.business_date.desc()).limit(RECENT_CLOSES)
        ).all()
        recent = [
            {"business_date": r.business_date, "status": r.status, "finished_at": r.finished_at} for r in runs
        ]
        latest = dict(runs[0].details) if runs else None
    values: dict[str, Any] = {"report": latest}
    values.update(context)
    return page(
        state, request, "office_close.html", "close_title", status_code=status_code, signed_in=True,
        next_date=next_date, can_close=next_date <= today, recent=recent, **values,
    )  # fmt: skip


@router.get("/close")
def close_page(request: Request, state: StateDep) -> Response:
    if not is_staff(state, request):
        return RedirectResponse("/office/login", status_code=303)
    return _close_page(state, request)


@router.post("/close")
def run_close(
    request: Request,
    state: StateDep,
    csrf: Csrf,
    business_date: Annotated[date, Form()],
) -> Response:
    """Close the business dates up to ``business_date`` (the one the page showed as open)."""
    principal = session_principal(state, request)
    if principal is None or not is_staff(state, request):
        return RedirectResponse("/office/login", status_code=303)
    check_csrf(state, request, csrf)
    try:
        if not principal.has_any_role(CLOSERS):
            raise PermissionDeniedError(
                "running the daily close needs the finance role", code="PERMISSION_DENIED"
            )
        with state.database.read() as session:
            through = resolve_close_date(session, business_date, today=state.clock().date())
        reports = close_business_days(state.database.session_factory, through, clock=state.clock)
    except LendcoreError as error:
        message = f"{error.message} ({error.code})"
        return _close_page(state, request, status_code=spec_for(error).http_status, error=message)
    closed = [r.business_date for r in reports if r.status != "skipped"]
    return _close_page(state, request, report=reports[-1].to_dict(), closed=closed)
