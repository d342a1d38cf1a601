"""Decision latency: the full pipeline (rules → features → score → strategy) in process, warm model.

Run: ``python benchmarks/bench_decision.py [N]``. Uses the shipped default scorecard when present,
else the tiny test fixture (and says which). Target: p99 < 5 ms.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from lendcore.core.errors import LendcoreError
from lendcore.risk.decision import decide
from lendcore.risk.features import AccountStanding, Application, Housing, LoanPurpose, Occupation
from lendcore.risk.rules import ApplicationContext, PriorApplication, PriorOutcome
from lendcore.risk.scorecard import Scorecard, default_scorecard, load_scorecard
from lendcore.risk.strategy import default_strategies


def load_model() -> tuple[Scorecard, str]:
    try:
        return default_scorecard(), "shipped default scorecard"
    except (LendcoreError, OSError):
        fixture = Path(__file__).resolve().parents[1] / "tests/risk/fixtures/tiny_scorecard.json"
        return load_scorecard(fixture), "tiny test fixture (no default scorecard shipped yet)"


def main(n: int = 20_000) -> None:
    card, which = load_model()
    strategies = default_strategies(Decimal("0.1"))  # 10% also scored by the challenger
    today = date(2025, 6, 15)
    ctx = ApplicationContext(
        today,
        birth_date=date(1990, 5, 5),
        phone_real_name_verified=True,
        device_application_dates=(today - timedelta(days=2),),
        prior_applications=(PriorApplication(date(2024, 1, 1), PriorOutcome.APPROVED),),
    )
    apps = [
        Application(
            f"app_{i}",
            "quick",
            (1_000 + (i * 37) % 30_000) * 100,
            (3, 6, 12)[i % 3],
            tuple(LoanPurpose)[i % len(LoanPurpose)],
            (5_000 + (i * 13) % 20_000) * 100,
            (i * 7) % 3_000 * 100,
            account_standing=tuple(AccountStanding)[i % 4],
            employment_years=i % 10,
            occupation=tuple(Occupation)[i % 4],
            housing=tuple(Housing)[i % 3],
            years_at_address=i % 6,
        )
        for i in range(1000)
    ]
    for a in apps[:200]:  # warm-up
        decide(a, ctx, card, strategies)
    lat: list[float] = []
    approved = 0
    pc = time.perf_counter
    start = pc()
    for i in range(n):
        a = apps[i % len(apps)]
        c = ctx if i % 10 else replace(ctx, is_new_customer=False)
        t = pc()
        d = decide(a, c, card, strategies, perf_counter=pc)
        lat.append((pc() - t) * 1000)
        approved += d.approved
    wall = pc() - start
    lat.sort()
    q = statistics.quantiles(lat, n=100)
    print(f"model: {which} ({card.model_id} v{card.version}, {len(card.feature_names)} features)")
    print(f"strategy: {strategies.champion.strategy_id} {strategies.champion.version}, challenger share 10%")
    print(f"decisions: {n}, approved {approved / n:.1%}")
    print(f"p50 {q[49]:.3f} ms   p99 {q[98]:.3f} ms   max {lat[-1]:.3f} ms")
    print(f"throughput: {n / wall:,.0f} decisions/s (single thread)")
    print("target p99 < 5 ms:", "met" if q[98] < 5 else "MISSED")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
