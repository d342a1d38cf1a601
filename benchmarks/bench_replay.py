"""Replay time of a contract with 1,000 transactions, apply throughput, and backdated rebooking cost.

Run: ``.venv/bin/python benchmarks/bench_replay.py`` (single process, pure core, no database).

Contract: ¥50,000 等额本息 over 36 months at 0.05 %/day. Transactions: the disbursement, then one per
day: a daily penalty accrual (the end-of-day close), with a repayment every 7th day (every 5th one
late enough to incur penalty) and a fee every 50th day: 1,000 in all.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from lendcore.core.book import book_all
from lendcore.core.contract import LoanState, LoanTerms
from lendcore.core.loan import (
    Disbursement,
    Fee,
    PenaltyAccrual,
    Repayment,
    Transaction,
    apply,
    replay,
)
from lendcore.core.schedule import Method, Rate, ScheduleTerms, build_schedule

START = date(2026, 1, 15)


def contract() -> LoanTerms:
    schedule = build_schedule(
        ScheduleTerms(5_000_000, 36, Method.EQUAL_INSTALLMENT, START, rate=Rate.daily(Decimal("0.0005")))
    )
    return LoanTerms(
        "ln_bench",
        "cus_bench",
        "premium",
        5_000_000,
        Decimal("0.0005"),
        Method.EQUAL_INSTALLMENT,
        schedule.installments,
    )


def transactions(n: int = 1_000) -> list[Transaction]:
    txns: list[Transaction] = [Disbursement("t0", START, 0, 5_000_000)]
    for i in range(1, n):
        on = START + timedelta(days=i)
        if i % 50 == 0:
            txns.append(Fee(f"t{i}", on, i, 1_000))
        elif i % 7 == 0:
            txns.append(Repayment(f"t{i}", on, i, 38_000))
        else:
            txns.append(PenaltyAccrual(f"t{i}", on, i))
    return txns


def timed(
    fn: Callable[[], object], repeat: int = 5, clock: Callable[[], float] = time.perf_counter
) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        runs.append(clock() - t0)
    return min(runs), statistics.median(runs)


def main() -> None:
    terms = contract()
    txns = transactions()
    assert len(txns) == 1_000

    best, median = timed(lambda: replay(terms, txns))
    print(f"replay, 1,000 txns from nothing:       best {best * 1e3:7.1f} ms   median {median * 1e3:7.1f} ms")
    # CPU time of this process: what to compare on a shared machine (wall time counts other jobs)
    best, median = timed(lambda: replay(terms, txns), repeat=10, clock=time.process_time)
    print(f"  the same, CPU time (process_time):   best {best * 1e3:7.1f} ms   median {median * 1e3:7.1f} ms")

    def fold() -> None:
        state = LoanState.new(terms)
        for t in txns:
            state = apply(state, t).state

    best, median = timed(fold)
    print(f"apply throughput:                     {len(txns) / median:9,.0f} txn/s (median)")

    best, median = timed(lambda: book_all(terms, txns), repeat=3)
    print(f"LoanBook.book x1,000 (with journal):  best {best * 1e3:7.1f} ms   median {median * 1e3:7.1f} ms")

    book = book_all(terms, txns)
    middle = Repayment("late", START + timedelta(days=500), 5_000, 10_000)
    best, median = timed(lambda: book.book(middle))
    print(f"backdated repayment at txn 500 of 1,000 (rebook 500): best {best * 1e3:7.1f} ms")
    early = Repayment("early", START + timedelta(days=3), 5_001, 10_000)
    best, median = timed(lambda: book.book(early))
    print(f"backdated repayment at txn 3 of 1,000 (rebook ~997):  best {best * 1e3:7.1f} ms")
    tail = Repayment("tail", START + timedelta(days=999), 5_002, 10_000)
    best, median = timed(lambda: book.book(tail))
    print(f"on-time repayment appended to 1,000:                  best {best * 1e3:7.2f} ms")


if __name__ == "__main__":
    main()
