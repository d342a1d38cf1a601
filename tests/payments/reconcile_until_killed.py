"""Run a reconciliation that stops inside a chunk and waits to be killed (for the crash test).

    python -m tests.payments.reconcile_until_killed URL STATEMENT_FILE CHUNK STOP_AT

Chunks before ``STOP_AT`` commit; inside chunk ``STOP_AT`` (its transaction open, its payments
locked) it prints ``ready`` and blocks on stdin until the parent kills it.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lendcore.payments import reconcile
from lendcore.payments.statement import parse_statement
from lendcore.store.engine import create_engine, create_session_factory


def main() -> None:
    url, file, chunk, stop_at = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    original = reconcile.lock_payments
    calls = 0

    def stopping(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        locked = original(*args)
        if calls == stop_at:
            print("ready", flush=True)
            sys.stdin.read()  # the parent kills this process here
        return locked

    reconcile.lock_payments = stopping  # type: ignore[assignment]
    reconcile.CHUNK = chunk  # type: ignore[misc]
    statement = parse_statement(file.read_text(encoding="utf-8"))
    now = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    reconcile.reconcile_statement(create_session_factory(create_engine(url)), statement, now=now)
    print("finished", flush=True)  # not reached when killed


if __name__ == "__main__":
    main()
