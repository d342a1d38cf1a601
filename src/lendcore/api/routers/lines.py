"""``/api/v1/lines``: credit lines with their limit and available limit (read only).

The available limit is :func:`lendcore.servicing.lines.line_available` (the rule in
:mod:`lendcore.core.credit_line`): never recomputed here.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.api.auth import ensure_owner
from lendcore.api.pagination import Page, PageRequest, page_request, paginate
from lendcore.api.problems import problem_responses
from lendcore.api.routers import API_PREFIX
from lendcore.api.routers.access import Reader, owned_by
from lendcore.api.state import StateDep
from lendcore.api.types import LineId, Money
from lendcore.core.errors import NotFoundError
from lendcore.servicing.lines import line_available, line_usage
from lendcore.store.models import CreditLine

router = APIRouter(prefix=API_PREFIX, tags=["credit lines"])


class LineView(BaseModel):
    id: str
    customer_id: str
    product_code: str
    status: str
    pricing_grade: str
    credit_limit: Money
    available_limit: Money
    outstanding_principal: Money
    pending_drawdowns: Money
    opened_on: date
    closed_on: date | None

    @classmethod
    def of(cls, session: Session, line: CreditLine) -> LineView:
        usage = line_usage(session, line.id)
        return cls(
            id=line.id,
            customer_id=line.customer_id,
            product_code=line.product_code,
            status=line.status,
            pricing_grade=line.pricing_grade,
            credit_limit=Money.of(line.credit_limit),
            available_limit=Money.of(line_available(session, line)),
            outstanding_principal=Money.of(usage.outstanding_principal),
            pending_drawdowns=Money.of(usage.pending_drawdowns),
            opened_on=line.opened_on,
            closed_on=line.closed_on,
        )


@router.get(
    "/lines",
    response_model=Page[LineView],
    summary="Credit lines (a customer's own; staff: all), by id",
    responses=problem_responses(401, 403, 422),
)
def list_lines(
    principal: Reader, state: StateDep, page: Annotated[PageRequest, Depends(page_request)]
) -> Page[LineView]:
    with state.database.read() as session:
        return paginate(
            session,
            select(CreditLine).where(owned_by(principal, CreditLine.customer_id)),
            key=CreditLine.id,
            page=page,
            to_item=lambda line: LineView.of(session, line),
        )


@router.get(
    "/lines/{line_id}",
    response_model=LineView,
    summary="One credit line: limit, available limit, what it is lending",
    responses=problem_responses(401, 403, 404, 422),
)
def show_line(line_id: LineId, principal: Reader, state: StateDep) -> LineView:
    with state.database.read() as session:
        line = session.get(CreditLine, line_id)
        if line is None:
            raise NotFoundError("no such credit line", code="LINE_NOT_FOUND")
        ensure_owner(principal, line.customer_id, code="LINE_NOT_FOUND", what="credit line")
        return LineView.of(session, line)
