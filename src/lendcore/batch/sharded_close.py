"""The daily close over every shard (:mod:`lendcore.store.shards`): each shard closed for the date by
its own process, the reports merged.

A shard's close is the ordinary :func:`~lendcore.batch.close.run_daily_close` on that shard's
database — its own lease, its own job row, its own invariant check, its own business date — so
everything that makes one close safe (one close per date, resumable, idempotent) holds per shard, and
a shard that fails is closed again alone: rerunning the sharded close skips the shards already closed
(``skipped``) and retries the rest. The shards run in parallel processes (the close is CPU-bound
Python; threads would share one core): ``workers`` of them at a time, one per shard by default.

:class:`ShardedCloseReport` is the merge: totals summed, bucket and class counts summed, ``ok`` only
if every shard is.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from multiprocessing import get_context
from typing import Any

from lendcore.batch.close import run_daily_close
from lendcore.batch.report import CloseReport
from lendcore.store.engine import create_engine, create_session_factory
from lendcore.store.shards import ShardMap

_SUMMED = ("contracts", "chunks", "interest_accrued", "penalty_accrued", "overdue", "credit_applied")


@dataclass(frozen=True, slots=True)
class ShardedCloseReport:
    business_date: date
    shards: tuple[CloseReport, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(report.ok for report in self.shards)

    def total(self, name: str) -> int:
        return sum(int(getattr(report, name)) for report in self.shards)

    def counts(self, name: str) -> dict[str, int]:
        merged: Counter[str] = Counter()
        for report in self.shards:
            merged.update(getattr(report, name))
        return dict(sorted(merged.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "business_date": self.business_date.isoformat(),
            "ok": self.ok,
            **{name: self.total(name) for name in _SUMMED},
            "buckets": self.counts("buckets"),
            "classes": self.counts("classes"),
            "seconds": round(self.seconds, 3),
            "shards": [
                {"shard": i, "status": r.status, "contracts": r.contracts, "seconds": round(r.seconds, 3)}
                for i, r in enumerate(self.shards)
            ],
        }


def _close_one(url: str, business_date: date) -> tuple[str, dict[str, Any]]:
    """One shard's close, in a worker process (an engine of its own: nothing crosses a fork)."""
    engine = create_engine(url)
    try:
        report = run_daily_close(create_session_factory(engine), business_date)
    finally:
        engine.dispose()
    details = report.to_dict()
    details["seconds"] = report.seconds
    return report.status, details


def _report(business_date: date, status: str, details: dict[str, Any]) -> CloseReport:
    stored = CloseReport.stored(business_date, details, status)
    return replace(stored, seconds=float(details.get("seconds") or 0.0))


def close_shards(
    shard_map: ShardMap, business_date: date, *, workers: int | None = None
) -> ShardedCloseReport:
    """Close ``business_date`` on every shard of ``shard_map`` (see the module docstring)."""
    started = time.perf_counter()
    urls = shard_map.urls
    with ProcessPoolExecutor(max_workers=workers or len(urls), mp_context=get_context("spawn")) as pool:
        results = list(pool.map(_close_one, urls, [business_date] * len(urls)))
    reports = tuple(_report(business_date, status, details) for status, details in results)
    return ShardedCloseReport(business_date, reports, time.perf_counter() - started)
