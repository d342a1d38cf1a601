"""The payment benchmarks run, at a tiny N, on both databases, so they cannot rot: the sweeper over a
backlog against the channel simulator process (every payment resolved), and the autopay run over a
seeded book with mandates (every contract requested, then submitted), and the reconciliation of a day's
statement (its report accounting every fen; the rerun resolving nothing). No timing is asserted: the
figures are the benchmarks' business (benchmarks/, docs/payments.md "Measured")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SECONDS = 600


def bench(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        cwd=BENCHMARKS.parent,
        capture_output=True,
        text=True,
        timeout=SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_sweeper_benchmark_resolves_every_stuck_payment(database_url: str) -> None:
    out = bench("bench_sweeper.py", "--payments", "12", "--batch", "5", "--database-url", database_url)
    assert "N=12 " in out and "3 batches, left open 0" in out


def test_the_autopay_benchmark_requests_and_submits_every_due_contract(database_url: str) -> None:
    out = bench("bench_autopay.py", "--contracts", "5", "--chunk", "2", "--database-url", database_url)
    assert "requested 5 skipped 0, payments 5 submit jobs 5" in out
    assert "(5 by 4 threads)" in out


def test_the_reconciliation_benchmark_accounts_every_row_and_the_rerun_resolves_nothing(
    database_url: str,
) -> None:
    out = bench("bench_reconcile.py", "--payments", "300", "--database-url", database_url)
    assert "N=300 " in out and "rerun resolved 0 " in out
