"""Schedules built per second and APR solves per second, on one core.

.venv/bin/python benchmarks/bench_schedule.py [--json] [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from lendcore.core.apr import effective_apr, nominal_apr
from lendcore.core.schedule import InterestRule, Method, Rate, ScheduleTerms, build_schedule


def rate_per_second(work: Callable[[int], object], seconds: float) -> float:
    """Calls of ``work`` per CPU-second of this process (best of three runs; robust to a shared machine)."""
    best = 0.0
    for _ in range(3):
        count = 0
        started = time.process_time()
        elapsed = 0.0
        while elapsed < seconds / 3:
            for _ in range(200):
                work(count)
                count += 1
            elapsed = time.process_time() - started
        best = max(best, count / elapsed)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--seconds", type=float, default=1.5, help="time per measurement")
    args = parser.parse_args()

    def terms(n: int, i: int) -> ScheduleTerms:
        # Vary principal and start date so no cache can help.
        return ScheduleTerms(
            principal=1_000_000 + i % 997,
            term=n,
            method=Method.EQUAL_INSTALLMENT,
            start_date=date.fromordinal(date(2026, 1, 1).toordinal() + i % 365),
            rate=Rate.daily(Decimal("0.0005")),
            interest_rule=InterestRule.DAYS,
        )

    sample = build_schedule(terms(12, 0))
    results = {
        "schedules_per_second_12": rate_per_second(lambda i: build_schedule(terms(12, i)), args.seconds),
        "schedules_per_second_24": rate_per_second(lambda i: build_schedule(terms(24, i)), args.seconds),
        "apr_nominal_irr_per_second_12": rate_per_second(lambda i: nominal_apr(sample), args.seconds),
        "apr_effective_xirr_per_second_12": rate_per_second(lambda i: effective_apr(sample), args.seconds),
    }
    if args.json:
        print(json.dumps({k: round(v) for k, v in results.items()}, indent=2))
        return
    print(f"{'measure (one core)':<40} {'per second':>12}")
    for name, value in results.items():
        print(f"{name:<40} {value:>12,.0f}")
    target = 20_000
    verdict = "meets" if results["schedules_per_second_12"] >= target else "BELOW"
    print(f"target ≥ {target:,} twelve-period schedules/s: {verdict}")


if __name__ == "__main__":
    main()
