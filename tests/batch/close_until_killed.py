"""Run a daily close that stops inside a chunk and waits to be killed (for the crash tests).

    python -m tests.batch.close_until_killed URL YYYY-MM-DD CHUNK_SIZE STOP_AT

Chunks before ``STOP_AT`` commit; inside chunk ``STOP_AT`` (its transaction open, its contracts
locked) it prints ``ready`` and blocks on stdin until the parent kills it.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

from lendcore.batch import close
from lendcore.store.engine import create_engine, create_session_factory


def main() -> None:
    url, day, chunk_size, stop_at = (
        sys.argv[1],
        date.fromisoformat(sys.argv[2]),
        int(sys.argv[3]),
        int(sys.argv[4]),
    )
    original = close._accrue_chunk
    calls = 0

    def stopping(*args: Any) -> tuple[int, int, int]:
        nonlocal calls
        calls += 1
        result = original(*args)
        if calls == stop_at:
            print("ready", flush=True)
            sys.stdin.read()  # the parent kills this process here
        return result

    close._accrue_chunk = stopping  # type: ignore[assignment]
    close.run_daily_close(create_session_factory(create_engine(url)), day, chunk_size=chunk_size)
    print("finished", flush=True)  # not reached when killed


if __name__ == "__main__":
    main()
