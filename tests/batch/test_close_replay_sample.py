"""The close replays a sample of active contracts against their stored snapshots (issue 12: replay
stays the oracle of the snapshot a repayment books on), on both databases.

By default 50 active contracts (all of them on a smaller book), picked by the business date, so the
same date picks the same contracts on the same book; 0 turns it off; with ``verify_replay`` every
contract is replayed and the sample is skipped. A snapshot that its history no longer gives fails the
close like any broken invariant: the job fails and the business date stays. The size is 0–10,000 in
the options and the CLI (``--replay-sample``; the API's ``replay_sample``: tests/api/test_finance.py),
refused with ``INVALID_ARGUMENT`` and nothing written otherwise.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from lendcore.batch.close import CloseOptions, run_daily_close
from lendcore.batch.close_options import replay_seed
from lendcore.batch.seed import seed_book
from lendcore.cli.main import app
from lendcore.core.errors import ValidationError
from lendcore.servicing.business_day import open_business_date
from lendcore.servicing.invariants import check_invariants
from lendcore.servicing.replay_sample import check_replay_sample
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, JobRun
from tests.batch.books import CLOSE_ON, build_book

AS_OF = date(2026, 6, 1)
BAD_SIZES: tuple[Any, ...] = (-1, 10_001, True, 2.5, "5")
ERROR_LINE = re.compile(r"^error: .+ \[INVALID_ARGUMENT\]$")


def _active(factory: sessionmaker[Session]) -> set[str]:
    with unit_of_work(factory, read_only=True) as session:
        return set(session.scalars(select(Contract.id).where(Contract.status == "active")).all())


def _jobs(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory, read_only=True) as session:
        return int(session.scalar(select(func.count()).select_from(JobRun)) or 0)


def _tamper(factory: sessionmaker[Session]) -> str:
    """Shift the accrual remainder (the last row's exact interest) of an active contract the close
    leaves active by a quarter fen: the ledger and every figure the check compares stay right, only a
    replay tells."""
    with unit_of_work(factory) as session:
        victim = session.scalars(
            select(Contract).where(Contract.status == "active").order_by(Contract.id.desc())
        ).first()
        assert victim is not None
        state = json.loads(json.dumps(victim.state))
        row = state["rows"][-1]
        row["interest_exact"] = str(Decimal(row["interest_exact"]) + Decimal("0.25"))
        victim.state = state
        return victim.id


def test_the_default_close_replays_fifty_active_contracts_picked_by_the_date(
    session_factory: sessionmaker[Session],
) -> None:
    seed_book(session_factory, 90, as_of=AS_OF)
    active = _active(session_factory)
    assert len(active) > 50  # the sample is capped, not the whole book
    report = run_daily_close(session_factory, AS_OF)
    assert report.status == "succeeded", report.invariants
    assert report.invariants["replay_sampled"] == 50
    assert report.invariants["replay_sample_seed"] == replay_seed(AS_OF)
    assert report.invariants["replay_mismatches"] == [] and "replay_sample" in report.steps
    # the same date picks the same 50 distinct active contracts on the same book
    with unit_of_work(session_factory, read_only=True) as session:
        first = check_replay_sample(session, size=50, seed=replay_seed(AS_OF), active_only=True)
        again = check_replay_sample(session, size=50, seed=replay_seed(AS_OF), active_only=True)
    assert first == again and first.ok
    assert len(set(first.checked)) == 50 and set(first.checked) <= _active(session_factory)


def test_a_book_smaller_than_the_sample_is_replayed_whole(session_factory: sessionmaker[Session]) -> None:
    build_book(session_factory)
    report = run_daily_close(session_factory, CLOSE_ON)
    active = len(_active(session_factory))  # at the check: the close's credit paid one off
    assert report.ok and report.invariants["replay_sampled"] == min(50, active) == active


def test_zero_samples_nothing_and_a_full_replay_skips_the_sample(
    session_factory: sessionmaker[Session],
) -> None:
    build_book(session_factory)
    off = run_daily_close(session_factory, CLOSE_ON, options=CloseOptions(replay_sample=0))
    assert off.ok and (off.invariants["replay_sampled"], off.invariants["replay_sample_seed"]) == (0, None)
    assert "replay_sample" not in off.steps
    full = run_daily_close(
        session_factory, date(2026, 4, 12), options=CloseOptions(verify_replay=True, replay_sample=500)
    )
    assert full.ok and full.invariants["replay_checked"] is True
    assert (full.invariants["replay_sampled"], full.invariants["replay_sample_seed"]) == (0, None)


def test_a_tampered_snapshot_in_the_sample_halts_the_close(session_factory: sessionmaker[Session]) -> None:
    build_book(session_factory)
    victim = _tamper(session_factory)
    with unit_of_work(session_factory, read_only=True) as session:
        assert check_invariants(session).ok  # only the replay finds it
    report = run_daily_close(session_factory, CLOSE_ON, options=CloseOptions(replay_sample=1_000))
    assert report.status == "failed"
    assert report.invariants["ok"] is False and report.invariants["replay_mismatches"] == [victim]
    with unit_of_work(session_factory, read_only=True) as session:
        assert open_business_date(session) == CLOSE_ON  # halted: the date is not advanced
        run = session.scalars(select(JobRun).where(JobRun.business_date == CLOSE_ON)).one()
        assert run.status == "failed"


@pytest.mark.parametrize("bad", BAD_SIZES)
def test_bad_sample_sizes_are_refused_before_anything_is_written(
    session_factory: sessionmaker[Session], bad: Any
) -> None:
    build_book(session_factory, overdue=1)
    with pytest.raises(ValidationError) as refused:
        run_daily_close(session_factory, CLOSE_ON, options=CloseOptions(replay_sample=bad))
    assert refused.value.code == "INVALID_ARGUMENT"
    assert _jobs(session_factory) == 0


def test_the_cli_flag_sets_the_sample_and_bad_values_are_one_line(
    database_url: str, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    build_book(session_factory)
    runner = CliRunner()
    for bad in ("-1", "10001", "many"):
        refused = runner.invoke(app, ["eod", "run", "--date", CLOSE_ON.isoformat(), "--replay-sample", bad])
        assert refused.exit_code == 2, refused.output
        assert ERROR_LINE.match(refused.output.strip()), refused.output
    assert _jobs(session_factory) == 0
    ran = runner.invoke(app, ["eod", "run", "--date", CLOSE_ON.isoformat(), "--replay-sample", "3"])
    assert ran.exit_code == 0, ran.output
    assert f"replay sample: 3 active contract(s) replayed, seed {replay_seed(CLOSE_ON)}" in ran.output
    as_json = runner.invoke(app, ["eod", "run", "--date", "2026-04-12", "--replay-sample", "0", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["invariants"]["replay_sampled"] == 0
