"""Limit re-evaluation (额度调整): a job that raises, lowers or freezes lines from repayment behaviour.

For every active or frozen line, as of ``business_date`` (the rules, in order; the first that applies):

* **freeze** – any contract on the line is past due (DPD > ``freeze_dpd``, default 0) and the line is
  active: status ``frozen`` (``OVERDUE_FREEZE``);
* **lower** – DPD > ``lower_dpd`` (30): the limit drops to the outstanding principal
  (``OVERDUE_LOWER``), and the line is frozen too;
* **raise** – an active line with no delinquency for ``raise_after_months`` (6): no contract past due
  now, no overdue limit change (freeze/lower) and no written-off contract in that time, opened and
  unchanged for at least that long, at least ``min_repaid_contracts`` closed contracts, utilisation
  (outstanding / limit) ≥ ``min_utilisation`` (70 %): limit + ``raise_step`` (20 %), floored to
  100 yuan, capped at ``max_limit`` (50,000 yuan) (``GOOD_BEHAVIOUR_RAISE``).

Frozen lines are not unfrozen automatically (a person decides: :func:`lendcore.servicing.lines.
unfreeze_line`). Each change is a ``limit_changes`` row with its reason and an audit record.

Idempotent per business date: the job inserts its ``job_runs`` marker (``limits.reevaluate``,
business date: unique) first; a second run for the same date changes nothing and returns the first
run's summary.

History: lendcore keeps current days past due on contracts, not a DPD history; an overdue seen by this
job is remembered by the freeze/lower row it writes, which is what "no delinquency for N months" reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lendcore.core.calendar import add_months
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.servicing.lines import OPEN_CONTRACT_STATUSES, change_limit, freeze_line
from lendcore.store.models import Contract, CreditLine, JobRun
from lendcore.store.models_origination import LimitChange
from lendcore.store.types import utc_now

JOB_NAME: Final = "limits.reevaluate"
ACTOR: Final = "system:limits"
OVERDUE_FREEZE: Final = "OVERDUE_FREEZE"
OVERDUE_LOWER: Final = "OVERDUE_LOWER"
GOOD_BEHAVIOUR_RAISE: Final = "GOOD_BEHAVIOUR_RAISE"
OVERDUE_REASONS: Final = frozenset({OVERDUE_FREEZE, OVERDUE_LOWER})


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    raise_after_months: int = 6
    min_utilisation: Decimal = Decimal("0.70")
    raise_step: Decimal = Decimal("0.20")
    max_limit: Fen = 50_000_00
    step: Fen = 100_00
    min_repaid_contracts: int = 0
    freeze_dpd: int = 0
    lower_dpd: int = 30


@dataclass(frozen=True, slots=True)
class LimitAction(JsonRecord):
    line_id: str
    reason_code: str
    old_limit: Fen
    new_limit: Fen
    old_status: str
    new_status: str


@dataclass(frozen=True, slots=True)
class LimitReview(JsonRecord):
    """The job's summary for one business date; its JSON form (less ``already_ran``) is what the job
    run stores, so a second run for the date returns the first one's summary."""

    business_date: date
    lines: int
    changes: tuple[LimitAction, ...]
    already_ran: bool = False


def reevaluate_limits(
    session: Session, business_date: date, config: LimitPolicy | None = None
) -> LimitReview:
    """Run the job for ``business_date`` (see the module docstring) once; a repeated run returns the
    stored summary with ``already_ran``."""
    policy = config or LimitPolicy()
    existing = session.scalars(
        select(JobRun).where(JobRun.job == JOB_NAME, JobRun.business_date == business_date)
    ).one_or_none()
    if existing is not None:
        return LimitReview.from_json({**existing.details, "already_ran": True})
    savepoint = session.begin_nested()
    run = JobRun(job=JOB_NAME, business_date=business_date, status="running")
    try:
        session.add(run)
        session.flush()
    except IntegrityError:  # a concurrent run for the same date committed first
        savepoint.rollback()
        other = session.scalars(
            select(JobRun).where(JobRun.job == JOB_NAME, JobRun.business_date == business_date)
        ).one()
        return LimitReview.from_json({**other.details, "already_ran": True})
    savepoint.commit()

    lines = session.scalars(
        select(CreditLine).where(CreditLine.status.in_(("active", "frozen"))).order_by(CreditLine.id)
    ).all()
    actions = [
        a for line in lines if (a := _reevaluate_line(session, line, business_date, policy)) is not None
    ]
    review = LimitReview(business_date, len(lines), tuple(actions))
    summary = review.to_json()
    del summary["already_ran"]  # stored as the run's details, in the form earlier runs stored
    run.status = "succeeded"
    run.finished_at = utc_now()
    run.details = summary
    session.flush()
    return review


def _reevaluate_line(session: Session, line: CreditLine, on: date, policy: LimitPolicy) -> LimitAction | None:
    """An overdue line is lowered and/or frozen; only a line with nothing overdue may be raised."""
    contracts = session.execute(
        select(Contract.status, Contract.days_past_due, Contract.outstanding_principal).where(
            Contract.credit_line_id == line.id
        )
    ).all()
    open_rows = [c for c in contracts if c.status in OPEN_CONTRACT_STATUSES]
    dpd = max((c.days_past_due for c in open_rows), default=0)
    outstanding = sum(c.outstanding_principal for c in open_rows)
    lower = dpd > policy.lower_dpd and line.credit_limit > outstanding
    if lower:
        return _lower_and_freeze(session, line, on, dpd, outstanding)
    if dpd > policy.freeze_dpd:
        return _freeze(session, line, on, dpd) if line.status == "active" else None
    if not _may_raise(session, line, on, policy, contracts, outstanding):
        return None
    return _raise(session, line, on, policy, outstanding)


def _lower_and_freeze(
    session: Session, line: CreditLine, on: date, dpd: int, outstanding: int
) -> LimitAction:
    """Past ``lower_dpd`` with headroom: the limit drops to the outstanding and an active line is frozen."""
    old_limit, old_status = line.credit_limit, line.status
    details = {"days_past_due": dpd, "outstanding": outstanding}
    change_limit(
        session,
        line.id,
        new_limit=outstanding,
        reason_code=OVERDUE_LOWER,
        business_date=on,
        actor=ACTOR,
        details=details,
    )
    if line.status == "active":
        freeze_line(
            session, line.id, reason_code=OVERDUE_FREEZE, business_date=on, actor=ACTOR, details=details
        )
    return LimitAction(line.id, OVERDUE_LOWER, old_limit, line.credit_limit, old_status, line.status)


def _freeze(session: Session, line: CreditLine, on: date, dpd: int) -> LimitAction:
    old_limit, old_status = line.credit_limit, line.status
    freeze_line(
        session,
        line.id,
        reason_code=OVERDUE_FREEZE,
        business_date=on,
        actor=ACTOR,
        details={"days_past_due": dpd},
    )
    return LimitAction(line.id, OVERDUE_FREEZE, old_limit, line.credit_limit, old_status, line.status)


def _may_raise(
    session: Session,
    line: CreditLine,
    on: date,
    policy: LimitPolicy,
    contracts: Sequence[Any],  # rows of (status, days_past_due, outstanding_principal)
    outstanding: int,
) -> bool:
    """The good-behaviour gate: active, old enough, nothing written off or overdue recently, no recent
    limit change, enough repaid contracts and enough utilisation."""
    if line.status != "active" or line.credit_limit <= 0:
        return False
    since = add_months(on, -policy.raise_after_months)
    if line.opened_on > since or any(c.status == "written-off" for c in contracts):
        return False
    changes = session.execute(
        select(LimitChange.reason_code, LimitChange.business_date).where(
            LimitChange.credit_line_id == line.id
        )
    ).all()
    if any(c.reason_code in OVERDUE_REASONS and c.business_date > since for c in changes):
        return False
    last_limit_change = max(
        (c.business_date for c in changes if c.reason_code != OVERDUE_FREEZE), default=line.opened_on
    )
    if last_limit_change > since:
        return False
    if sum(1 for c in contracts if c.status == "closed") < policy.min_repaid_contracts:
        return False
    return Decimal(outstanding) >= policy.min_utilisation * line.credit_limit


def _raise(
    session: Session, line: CreditLine, on: date, policy: LimitPolicy, outstanding: int
) -> LimitAction | None:
    """One raise step, floored to the policy's step and capped at its maximum (None when no higher)."""
    old_limit, old_status = line.credit_limit, line.status
    raised = Decimal(line.credit_limit) * (1 + policy.raise_step)
    new_limit = min(
        int((raised / policy.step).to_integral_value(rounding=ROUND_FLOOR)) * policy.step, policy.max_limit
    )
    if new_limit <= line.credit_limit:
        return None
    utilisation = (Decimal(outstanding) / line.credit_limit).quantize(Decimal("0.0001"))
    change_limit(
        session,
        line.id,
        new_limit=new_limit,
        reason_code=GOOD_BEHAVIOUR_RAISE,
        business_date=on,
        actor=ACTOR,
        details={"utilisation": str(utilisation), "months_clean": policy.raise_after_months},
        max_limit=policy.max_limit,
    )
    return LimitAction(line.id, GOOD_BEHAVIOUR_RAISE, old_limit, line.credit_limit, old_status, line.status)
