"""Maker-checker proposals (``approval_proposals``, ``apv_…``): a staff action waiting for a second pair
of eyes. Migration ``0008_approvals``; imported at the bottom of :mod:`lendcore.store.models`.

A proposal names its ``kind`` (what use case it runs), its target (a contract, a payment, a credit
line), the use case's ``payload`` (JSON), the proposer's reason and address; the decision (approve or
reject) records who, when, why and from where. ``status``: ``proposed`` → ``executed`` (approved and
run in the same transaction) or ``rejected``; ``approved`` and ``expired`` are reserved for deferred
execution and time-outs (a proposal past ``expires_at`` is refused as ``PROPOSAL_EXPIRED``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lendcore.store.ids import new_id
from lendcore.store.models import ID, STATUS, Base, _one_of
from lendcore.store.types import JSONDocument, utc_now

PROPOSAL_STATUSES: Final = ("proposed", "approved", "rejected", "executed", "expired")


class ApprovalProposal(Base):
    """One maker-checker proposal (see the module docstring)."""

    __tablename__ = "approval_proposals"
    __table_args__ = (
        CheckConstraint(_one_of("status", PROPOSAL_STATUSES), name="status"),
        Index(None, "status", "id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("apv"))
    kind: Mapped[str] = mapped_column(String(32))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    reason: Mapped[str] = mapped_column(Text)
    proposer: Mapped[str] = mapped_column(String(64))
    proposer_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(STATUS, default="proposed")
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_ip: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column()
    decision_reason: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
