"""The end-of-day close: accrual postings, DPD / bucket / classification, idempotency, resume, checks."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import CloseOptions, run_daily_close
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, JobRun, LoanTransaction
from tests.servicing.support import D0, assert_invariants, do_draw, do_repay, open_line, snapshot

DUE = date(2026, 4, 1)


def test_overdue_penalty_and_cure(session_factory: sessionmaker[Session]) -> None:
    """¥10,000 quick bullet for 1 month at 0.03 %/day from 2026-03-01, due 04-01 (grace 3 days).
    Interest 1,000,000 × 0.0003 × 31 = 9,300. Penalty 1.5 × 0.03 % = 0.045 %/day (under the 24 % cap:
    0.24 / 365 = 0.0658 %): 450 fen a day from DPD 1 once DPD exceeds 3."""
    cid, line = open_line(session_factory)
    contract_id = do_draw(session_factory, line, 1_000_000, 1, method="bullet")["contract_id"]
    seen = []
    for day in range(0, 6):  # closes of 04-01 … 04-06
        report = run_daily_close(session_factory, DUE + timedelta(days=day))
        assert report.ok
        with unit_of_work(session_factory, read_only=True) as session:
            c = session.get(Contract, contract_id)
            assert c is not None
            seen.append((c.days_past_due, c.penalty_receivable, c.classification))
    assert seen == [
        (0, 0, "normal"),
        (1, 0, "special-mention"),
        (2, 0, "special-mention"),
        (3, 0, "special-mention"),
        (4, 1_800, "special-mention"),  # grace lapsed: penalty counts from DPD 1, 4 × 450
        (5, 2_250, "special-mention"),
    ]
    assert report.buckets == {"M1": 1} and report.overdue == 1
    # cure: pay 1,000,000 + 9,300 + 2,250 on 04-06
    result = do_repay(session_factory, cid, 1_011_550, DUE + timedelta(days=5))
    line_ = result["contracts"][0]
    assert (line_["penalty"], line_["interest"], line_["principal"], line_["status"]) == (
        2_250,
        9_300,
        1_000_000,
        "closed",
    )
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None and (c.days_past_due, c.classification) == (0, "normal")
    assert_invariants(session_factory)


def test_close_is_idempotent_per_date(session_factory: sessionmaker[Session]) -> None:
    _, line = open_line(session_factory)
    do_draw(session_factory, line, 100_000, 3)
    first = run_daily_close(session_factory, D0 + timedelta(days=1))
    assert (first.status, first.contracts, first.interest_accrued) == ("succeeded", 1, 30)
    before = snapshot(session_factory)
    again = run_daily_close(session_factory, D0 + timedelta(days=1))
    assert again.status == "skipped"
    assert snapshot(session_factory) == before
    with unit_of_work(session_factory, read_only=True) as session:
        runs = session.scalars(select(JobRun)).all()
        assert [(r.job, r.status) for r in runs] == [("daily-close", "succeeded")]


def test_close_processes_in_chunks_and_resumes(session_factory: sessionmaker[Session]) -> None:
    for _ in range(5):
        _, line = open_line(session_factory)
        do_draw(session_factory, line, 100_000, 3)
    on = D0 + timedelta(days=2)
    # a close that stopped after some contracts: simulate by a job row left "running" and 2 done
    with unit_of_work(session_factory) as session:
        session.add(JobRun(job="daily-close", business_date=on, status="running", details={}))
    report = run_daily_close(session_factory, on, options=CloseOptions(engine="per-contract", chunk_size=2))
    assert (report.status, report.contracts, report.chunks) == ("succeeded", 5, 3)
    with unit_of_work(session_factory, read_only=True) as session:
        n = session.scalar(
            select(func.count()).select_from(LoanTransaction).where(LoanTransaction.type == "penalty-accrual")
        )
        assert n == 5
    assert run_daily_close(session_factory, on).status == "skipped"
    report = assert_invariants(session_factory)
    assert report.contracts == 5
