"""Operations: ``/healthz`` (the process answers), ``/readyz`` (the database answers and its schema
is at this version's head; else 503), ``/metrics`` (Prometheus text)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from lendcore import metrics
from lendcore.api.errors import ServiceUnavailableError
from lendcore.api.problems import problem_responses
from lendcore.api.state import StateDep
from lendcore.store.migrate import current_revision, head_revision

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    revision: str


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="The database answers and its schema is at this version's head",
    responses=problem_responses(503),
)
async def readyz(state: StateDep) -> Readiness:
    try:
        revision = await run_in_threadpool(current_revision, state.database.engine)
    except SQLAlchemyError:
        raise ServiceUnavailableError("the database cannot be reached", code="DATABASE_UNAVAILABLE") from None
    head = head_revision()
    if revision != head:
        raise ServiceUnavailableError(
            f"the database schema is at {revision or 'no revision'}, this version needs {head}: "
            "run `lendcore db upgrade`",
            code="SCHEMA_NOT_AT_HEAD",
        )
    return Readiness(status="ready", revision=revision or "")


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "metrics"}},
)
def metrics_endpoint() -> Response:
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)
