"""Looking at jobs and bringing dead ones back (``lendcore jobs list``, ``lendcore jobs retry``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.errors import BusinessRuleError, NotFoundError, ValidationError
from lendcore.store.audit import record_audit
from lendcore.store.engine import for_update
from lendcore.store.models_jobs import JOB_QUEUE_STATUSES, Job

MAX_LIST: Final = 1000


@dataclass(frozen=True, slots=True)
class JobView:
    id: int
    kind: str
    status: str
    attempts: int
    max_attempts: int
    run_at: datetime
    dedupe_key: str | None
    last_error: str | None
    payload: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "run_at": self.run_at.isoformat(),
            "dedupe_key": self.dedupe_key,
            "last_error": self.last_error,
            "payload": self.payload,
        }


def _view(job: Job) -> JobView:
    return JobView(
        job.id, job.kind, job.status, job.attempts, job.max_attempts, job.run_at, job.dedupe_key,
        job.last_error, dict(job.payload),
    )  # fmt: skip


def list_jobs(session: Session, *, status: str | None = None, limit: int = 100) -> list[JobView]:
    """Jobs, newest first; only those in ``status`` when given."""
    if status is not None and status not in JOB_QUEUE_STATUSES:
        raise ValidationError(f"unknown job status {status!r}", code="INVALID_JOB_STATUS")
    if not 1 <= limit <= MAX_LIST:
        raise ValidationError(f"limit must be 1-{MAX_LIST}", code="INVALID_LIMIT")
    statement = select(Job).order_by(Job.id.desc()).limit(limit)
    if status is not None:
        statement = statement.where(Job.status == status)
    return [_view(job) for job in session.scalars(statement)]


def retry_job(session: Session, job_id: int, *, now: datetime, actor: str = "cli") -> JobView:
    """Put a dead job back in the queue, due now, with a fresh count of attempts (audited)."""
    job = session.scalars(for_update(select(Job).where(Job.id == job_id))).one_or_none()
    if job is None:
        raise NotFoundError(f"no job {job_id}", code="JOB_NOT_FOUND", id=job_id)
    if job.status != "dead":
        raise BusinessRuleError(
            f"job {job_id} is {job.status}, only a dead job can be retried",
            code="JOB_NOT_DEAD",
            status=job.status,
        )
    record_audit(
        session,
        actor=actor,
        action="job.retry",
        target_type="job",
        target_id=str(job.id),
        details={"kind": job.kind, "attempts": job.attempts, "last_error": (job.last_error or "")[:500]},
    )
    job.status = "queued"
    job.attempts = 0
    job.run_at = now
    job.finished_at = None
    job.updated_at = now
    session.flush()
    return _view(job)
