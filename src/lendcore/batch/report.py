"""What a daily close reports for one business date (stored in ``job_runs.details`` when it ends)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True, slots=True)
class CloseReport:
    """The close of one date. Totals (``contracts`` … ``credit_applications``) cover the whole date:
    a close resumed after a crash adds what the earlier runs committed. ``seconds`` and
    ``accrual_seconds`` time this run only."""

    business_date: date
    status: str  # succeeded | failed | skipped (already closed)
    contracts: int = 0
    chunks: int = 0
    interest_accrued: int = 0
    penalty_accrued: int = 0
    overdue: int = 0
    buckets: dict[str, int] = field(default_factory=dict)
    classes: dict[str, int] = field(default_factory=dict)
    credit_applied: int = 0  # customer credit (unapplied funds) applied to amounts due, fen
    credit_applications: list[dict[str, Any]] = field(default_factory=list)
    invariants: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    accrual_seconds: float = 0.0
    runs: int = 0  # how many runs the close took (2 or more: resumed)
    open_business_date: date | None = None  # after this close
    engine: str = ""  # aggregate | per-contract (lendcore.batch.close.ENGINES)
    quiet_contracts: int = 0  # of ``contracts``: accrued in aggregate, not folded one by one
    partitions: int = 0  # id-range partitions of the aggregate step (reruns included)
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step of this run

    @property
    def ok(self) -> bool:
        return self.status in ("succeeded", "skipped")

    def totals(self) -> dict[str, Any]:
        """What a clean single run and a resumed one agree on (timing and run count aside)."""
        d = self.to_dict()
        timing = (
            "status",
            "seconds",
            "accrual_seconds",
            "contracts_per_second",
            "runs",
            "invariants",
            "steps",
        )
        for k in (*timing, "partitions"):
            d.pop(k)
        return d

    def to_dict(self) -> dict[str, Any]:
        return {
            "business_date": self.business_date.isoformat(),
            "status": self.status,
            "contracts": self.contracts,
            "chunks": self.chunks,
            "interest_accrued": self.interest_accrued,
            "penalty_accrued": self.penalty_accrued,
            "overdue": self.overdue,
            "buckets": self.buckets,
            "classes": self.classes,
            "credit_applied": self.credit_applied,
            "credit_applications": self.credit_applications,
            "invariants": self.invariants,
            "seconds": round(self.seconds, 4),
            "accrual_seconds": round(self.accrual_seconds, 4),
            "contracts_per_second": round(self.contracts / self.accrual_seconds, 1)
            if self.accrual_seconds
            else None,
            "runs": self.runs,
            "open_business_date": self.open_business_date.isoformat() if self.open_business_date else None,
            "engine": self.engine,
            "quiet_contracts": self.quiet_contracts,
            "partitions": self.partitions,
            "steps": self.steps,
        }

    @classmethod
    def stored(cls, business_date: date, details: Mapping[str, Any], status: str) -> CloseReport:
        """The report kept in a job row's ``details``, under ``status`` (``skipped`` for a rerun)."""
        opened = details.get("open_business_date")
        return cls(
            business_date,
            status,
            contracts=int(details.get("contracts", 0)),
            chunks=int(details.get("chunks", 0)),
            interest_accrued=int(details.get("interest_accrued", 0)),
            penalty_accrued=int(details.get("penalty_accrued", 0)),
            overdue=int(details.get("overdue", 0)),
            buckets=dict(details.get("buckets", {})),
            classes=dict(details.get("classes", {})),
            credit_applied=int(details.get("credit_applied", 0)),
            credit_applications=list(details.get("credit_applications", [])),
            invariants=dict(details.get("invariants", {})),
            runs=int(details.get("runs", 0)),
            open_business_date=date.fromisoformat(opened) if opened else None,
            engine=str(details.get("engine", "")),
            quiet_contracts=int(details.get("quiet_contracts", 0)),
            partitions=int(details.get("partitions", 0)),
            steps=dict(details.get("steps", {})),
        )
