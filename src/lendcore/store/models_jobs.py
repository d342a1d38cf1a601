"""The durable job queue (transactional outbox): ``jobs``. Migration ``0007_payments_jobs``.

A job is written by :func:`lendcore.jobs.outbox.enqueue` in the same transaction as the business
change that calls for it, so it exists if and only if that change committed. Workers claim due jobs
with a lease (``locked_by`` / ``locked_until``): a worker that dies leaves a lease that expires, and
another worker takes the job over. ``attempts`` counts claims and is the fencing token: a worker may
finish a job only if the row still carries the attempt it claimed.

``dedupe_key`` is unique (NULLs allowed, any number): the scheduler's ``schedule:<name>:<instant>`` makes
each scheduled run exist once however many schedulers tick.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lendcore.store.models import STATUS, Base, _one_of
from lendcore.store.types import BigIntPK, utc_now

JOB_QUEUE_STATUSES: Final = ("queued", "running", "succeeded", "dead")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_one_of("status", JOB_QUEUE_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        CheckConstraint("max_attempts >= 1", name="max_attempts_positive"),
        Index(None, "status", "run_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(STATUS, default="queued")
    run_at: Mapped[datetime] = mapped_column(default=utc_now)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column()
