"""``/api/v1/staff/ledger`` (trial balance, journal), ``/api/v1/staff/daily-close`` (run, status and
report of the end-of-day close), ``/api/v1/staff/reconciliations`` (what reconciling each channel
statement found, in fen) and ``/api/v1/staff/channel-suspense`` (money a channel took that no payment
of ours books, until an approved ``channel-suspense`` proposal clears it): finance's endpoints
(``admin`` too). Roles: docs/api.md.

Running a close is synchronous (the request returns the report of the last date closed) and
idempotent per date (a closed date reports ``skipped``); it also takes an ``Idempotency-Key`` so a
retried request replays the first answer. ``replay_sample`` (0–10,000, default 50) is how many active
contracts the close replays against their snapshots after the invariant check.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, cast, get_args

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, PlainValidator, WithJsonSchema
from sqlalchemy import select

from lendcore.api.auth import require_roles
from lendcore.api.idempotency import IdempotencyKeyDep
from lendcore.api.pagination import Page, PageRequest, page_request, paginate
from lendcore.api.problems import problem_responses
from lendcore.api.routers import API_PREFIX
from lendcore.api.state import StateDep
from lendcore.api.types import ApiModel, ContractId, IsoDate, Money, as_field_error
from lendcore.auth.principal import StaffRole
from lendcore.batch.close import JOB, close_business_days
from lendcore.batch.close_options import (
    DEFAULT_REPLAY_SAMPLE,
    MAX_SAMPLE,
    CloseOptions,
    check_replay_sample_size,
)
from lendcore.core.errors import NotFoundError
from lendcore.servicing.business_day import resolve_close_date
from lendcore.servicing.invariants import trial_balance_from_db
from lendcore.store.models import JobRun, JournalEntry
from lendcore.store.models_payments import SUSPENSE_STATUSES, ChannelSuspense, ReconciliationRun

router = APIRouter(
    prefix=f"{API_PREFIX}/staff",
    tags=["staff: ledger and daily close"],
    dependencies=[Depends(require_roles(StaffRole.FINANCE))],
)


class PostingOut(BaseModel):
    account_code: str
    debit: int
    credit: int
    contract_id: str | None
    customer_id: str | None


class JournalEntryOut(BaseModel):
    id: str
    business_date: date
    value_date: date
    description: str
    contract_id: str | None
    payment_id: str | None
    reverses_entry_id: str | None
    created_at: datetime
    postings: list[PostingOut]

    @classmethod
    def of(cls, entry: JournalEntry) -> JournalEntryOut:
        return cls(
            id=entry.id, business_date=entry.business_date, value_date=entry.value_date,
            description=entry.description, contract_id=entry.contract_id, payment_id=entry.payment_id,
            reverses_entry_id=entry.reverses_entry_id, created_at=entry.created_at,
            postings=[
                PostingOut(account_code=p.account_code, debit=p.debit, credit=p.credit,
                           contract_id=p.contract_id, customer_id=p.customer_id)
                for p in entry.postings
            ],
        )  # fmt: skip


ReplaySample = Annotated[
    int,
    PlainValidator(as_field_error(check_replay_sample_size)),
    WithJsonSchema(
        {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_SAMPLE,
            "description": "active contracts replayed against their snapshots after the check (0: none)",
        }
    ),
]


class CloseBody(ApiModel):
    business_date: IsoDate | None = None
    replay_sample: ReplaySample = DEFAULT_REPLAY_SAMPLE


class CloseStatus(BaseModel):
    business_date: date
    status: str
    started_at: datetime
    finished_at: datetime | None
    report: dict[str, Any]


@router.get(
    "/ledger/trial-balance",
    summary="The trial balance over every posting (amounts in fen)",
    responses=problem_responses(401, 403),
)
def trial_balance(state: StateDep) -> dict[str, Any]:
    with state.database.read() as session:
        return dict(trial_balance_from_db(session).to_dict())


@router.get(
    "/ledger/journal",
    response_model=Page[JournalEntryOut],
    summary="Journal entries with their postings, by id (optionally of one date or contract)",
    responses=problem_responses(401, 403, 422),
)
def journal(
    state: StateDep,
    page: Annotated[PageRequest, Depends(page_request)],
    business_date: Annotated[IsoDate | None, Query()] = None,
    contract_id: Annotated[ContractId | None, Query()] = None,
) -> Page[JournalEntryOut]:
    statement = select(JournalEntry)
    if business_date is not None:
        statement = statement.where(JournalEntry.business_date == business_date)
    if contract_id is not None:
        statement = statement.where(JournalEntry.contract_id == contract_id)
    name = f"journal:{business_date or ''}:{contract_id or ''}"
    with state.database.read() as session:
        return paginate(
            session, statement, key=JournalEntry.id, page=page, to_item=JournalEntryOut.of, list_name=name
        )


@router.post(
    "/daily-close",
    summary="Close the open business date (and any unclosed date before business_date); the report",
    responses=problem_responses(400, 401, 403, 409, 422),
)
def run_close(body: CloseBody, state: StateDep, _key: IdempotencyKeyDep) -> dict[str, Any]:
    today = state.clock().date()
    with state.database.read() as session:
        through = resolve_close_date(session, body.business_date, today=today)
    options = CloseOptions(replay_sample=body.replay_sample)
    reports = close_business_days(state.database.session_factory, through, clock=state.clock, options=options)
    return reports[-1].to_dict() | {"closed": [r.business_date.isoformat() for r in reports]}


@router.get(
    "/daily-close/{business_date}",
    response_model=CloseStatus,
    summary="The status and report of one date's close",
    responses=problem_responses(401, 403, 404, 422),
)
def close_status(business_date: IsoDate, state: StateDep) -> CloseStatus:
    with state.database.read() as session:
        run = session.scalars(
            select(JobRun).where(JobRun.job == JOB, JobRun.business_date == business_date)
        ).one_or_none()
        if run is None:
            raise NotFoundError(f"{business_date} has not been closed", code="CLOSE_NOT_FOUND")
        return CloseStatus(
            business_date=run.business_date, status=run.status, started_at=run.started_at,
            finished_at=run.finished_at, report=dict(run.details),
        )  # fmt: skip


class IssueTotal(BaseModel):
    count: int
    amount: Money


class ReconciliationOut(BaseModel):
    """A statement's reconciliation: ``total = matched_amount + resolved_amount + unexplained_amount``;
    ``issues`` per kind (``statement_missing`` is ours, on no row of the statement)."""

    id: str
    channel: str
    statement_date: date
    rows: int
    total: Money
    matched: int
    matched_amount: Money
    resolved: int
    resolved_amount: Money
    discrepancies: int
    unexplained_amount: Money
    #: of the unexplained, what the channel took that no payment of ours books (held in 2241.03)
    suspense_amount: Money
    issues: dict[str, IssueTotal]
    runs: int
    first_run_at: datetime
    last_run_at: datetime

    @classmethod
    def of(cls, row: ReconciliationRun) -> ReconciliationOut:
        issues = {
            kind: IssueTotal(count=int(v["count"]), amount=Money.of(int(v["amount"])))
            for kind, v in sorted(row.issues.items())
        }
        return cls(
            id=row.id, channel=row.channel, statement_date=row.statement_date, rows=row.rows,
            total=Money.of(row.total), matched=row.matched, matched_amount=Money.of(row.matched_amount),
            resolved=row.resolved, resolved_amount=Money.of(row.resolved_amount),
            discrepancies=row.discrepancies, unexplained_amount=Money.of(row.unexplained_amount),
            suspense_amount=Money.of(row.suspense_amount), issues=issues, runs=row.runs,
            first_run_at=row.first_run_at, last_run_at=row.last_run_at,
        )  # fmt: skip


@router.get(
    "/reconciliations",
    response_model=Page[ReconciliationOut],
    summary="Each channel statement's reconciliation, in fen, by id (optionally of one date or channel)",
    responses=problem_responses(401, 403, 422),
)
def reconciliations(
    state: StateDep,
    page: Annotated[PageRequest, Depends(page_request)],
    statement_date: Annotated[IsoDate | None, Query()] = None,
    channel: Annotated[str | None, Query(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")] = None,
) -> Page[ReconciliationOut]:
    statement = select(ReconciliationRun)
    if statement_date is not None:
        statement = statement.where(ReconciliationRun.statement_date == statement_date)
    if channel is not None:
        statement = statement.where(ReconciliationRun.channel == channel)
    name = f"reconciliations:{statement_date or ''}:{channel or ''}"
    with state.database.read() as session:
        return paginate(
            session, statement, key=ReconciliationRun.id, page=page, to_item=ReconciliationOut.of,
            list_name=name,
        )  # fmt: skip


SuspenseStatus = Literal["open", "applied", "returned"]
assert set(get_args(SuspenseStatus)) == set(SUSPENSE_STATUSES)


class ChannelSuspenseOut(BaseModel):
    """Money a channel took that no payment of ours books: ``open`` until a second person approves a
    ``channel-suspense`` proposal (``applied`` as a repayment, ``returned`` to the payer)."""

    id: str
    status: SuspenseStatus
    amount: Money
    channel: str
    statement_date: date
    named_payment_id: str
    channel_reference: str
    payment_id: str | None
    customer_id: str | None
    value_date: date
    raised_at: datetime
    cleared_at: datetime | None
    cleared_by: str | None
    clearing_reference: str | None
    applied_payment_id: str | None

    @classmethod
    def of(cls, row: ChannelSuspense) -> ChannelSuspenseOut:
        return cls(
            id=row.id, status=cast(SuspenseStatus, row.status), amount=Money.of(row.amount),
            channel=row.channel, statement_date=row.statement_date,
            named_payment_id=row.named_payment_id, channel_reference=row.channel_reference,
            payment_id=row.payment_id, customer_id=row.customer_id, value_date=row.value_date,
            raised_at=row.raised_at, cleared_at=row.cleared_at, cleared_by=row.cleared_by,
            clearing_reference=row.clearing_reference, applied_payment_id=row.applied_payment_id,
        )  # fmt: skip


@router.get(
    "/channel-suspense",
    response_model=Page[ChannelSuspenseOut],
    summary="Money a channel took that no payment of ours books, by id (optionally of one status)",
    responses=problem_responses(401, 403, 422),
)
def channel_suspense(
    state: StateDep,
    page: Annotated[PageRequest, Depends(page_request)],
    status: Annotated[SuspenseStatus | None, Query()] = None,
) -> Page[ChannelSuspenseOut]:
    statement = select(ChannelSuspense)
    if status is not None:
        statement = statement.where(ChannelSuspense.status == status)
    with state.database.read() as session:
        return paginate(
            session, statement, key=ChannelSuspense.id, page=page, to_item=ChannelSuspenseOut.of,
            list_name=f"channel-suspense:{status or ''}",
        )  # fmt: skip
