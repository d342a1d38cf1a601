from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources

import pytest

from lendcore.core.errors import ConfigurationError
from lendcore.risk.strategy import (
    DEFAULT_PRICING,
    PriceBand,
    Strategy,
    StrategyInput,
    StrategySet,
    default_strategies,
    in_challenger_sample,
    price_for,
)


@pytest.fixture(scope="module")
def champion() -> Strategy:
    return Strategy.packaged("champion")


def inp(
    pd: float,
    *,
    income: int = 10_000_00,
    debts: int = 0,
    term: int = 6,
    new: bool = True,
    bureau: bool = False,
) -> StrategyInput:
    return StrategyInput(600, pd, term, income, debts, new, bureau)


@pytest.mark.parametrize(
    ("pd", "grade"), [(0.01, "A"), (0.0799, "A"), (0.08, "B"), (0.2, "C"), (0.3, "D"), (0.4, "E"), (0.9, "E")]
)
def test_grade_bands(champion: Strategy, pd: float, grade: str) -> None:
    r = champion.evaluate(inp(pd), DEFAULT_PRICING)
    assert r.grade == grade
    assert r.approved is (grade != "E")
    if grade == "E":
        assert r.reason_codes == ("GRADE_DECLINED",) and r.limit is None


def test_versioned(champion: Strategy) -> None:
    assert champion.strategy_id == "champion" and champion.version == "2025.11-1"
    assert len(champion.content_sha256) == 64


def test_limit_new_customer_low_and_floor(champion: Strategy) -> None:
    new = champion.evaluate(inp(0.01, income=20_000_00), DEFAULT_PRICING)
    old = champion.evaluate(inp(0.01, income=20_000_00, new=False), DEFAULT_PRICING)
    assert new.limit == 10_000_00 and old.limit == 30_000_00
    # income caps: 3 x 3,333.33 = 9,999.99 → floored to 9,900
    r = champion.evaluate(inp(0.01, income=3_333_33), DEFAULT_PRICING)
    assert r.limit == 9_900_00
    assert r.limit % 100_00 == 0


def test_dti_and_minimum(champion: Strategy) -> None:
    # C: max DTI 0.45 × 5,000 − 2,000 = 250/month × 12 = 3,000 = base
    assert champion.evaluate(inp(0.2, income=5_000_00, debts=2_000_00), DEFAULT_PRICING).limit == 3_000_00
    low = champion.evaluate(inp(0.2, income=5_000_00, debts=2_200_00), DEFAULT_PRICING)
    assert low.limit == 600_00  # (0.45 × 5,000 − 2,200) × 12 = 600 ≥ 500
    r = champion.evaluate(inp(0.2, income=5_000_00, debts=2_240_00), DEFAULT_PRICING)  # 10 × 12 = 120 < 500
    assert not r.approved and r.reason_codes == ("INSUFFICIENT_INCOME",)


def test_max_clip_and_bureau_uplift(champion: Strategy) -> None:
    r = champion.evaluate(inp(0.01, income=100_000_00, new=False, bureau=True), DEFAULT_PRICING)
    assert r.limit == 36_000_00  # 30,000 × 1.2
    big = Strategy(_with_limits(champion, max_yuan=20_000))
    assert big.evaluate(inp(0.01, income=100_000_00, new=False), DEFAULT_PRICING).limit == 20_000_00


def _with_limits(s: Strategy, **limits: int) -> bytes:
    raw = resources.files("lendcore").joinpath("risk/strategy/champion.json").read_bytes()
    doc = json.loads(raw)
    doc["lendcore"]["limits"].update(limits)
    return json.dumps(doc).encode()


def test_price_by_grade_and_tenor(champion: Strategy) -> None:
    assert price_for(DEFAULT_PRICING, "A", 3) == Decimal("0.0002")
    assert price_for(DEFAULT_PRICING, "A", 4) == Decimal("0.00025")
    assert price_for(DEFAULT_PRICING, "C", 12) == Decimal("0.0005")
    assert price_for(DEFAULT_PRICING, "A", 48) is None
    generic = (
        PriceBand(3, Decimal("0.0003")),
        PriceBand(6, Decimal("0.0004")),
        PriceBand(12, Decimal("0.0005")),
    )
    assert price_for(generic, "B", 5) == Decimal("0.0004")
    r = champion.evaluate(inp(0.2, term=12), DEFAULT_PRICING)
    assert r.daily_rate == Decimal("0.0005") and r.apr == Decimal("0.1825")


def test_price_cap_declines(champion: Strategy) -> None:
    pricey = (PriceBand(36, Decimal("0.00066")),)  # 24.09% > 24%
    r = champion.evaluate(inp(0.01), pricey)
    assert not r.approved and r.reason_codes == ("PRICE_ABOVE_CAP",)
    ok = champion.evaluate(inp(0.01), (PriceBand(36, Decimal("0.00065")),))
    assert ok.approved
    none = champion.evaluate(inp(0.01), ())
    assert none.reason_codes == ("PRICING_UNAVAILABLE",)
    fee_apr = champion.evaluate(inp(0.01), DEFAULT_PRICING, apr_fn=lambda d, t: Decimal("0.30"))
    assert fee_apr.reason_codes == ("PRICE_ABOVE_CAP",)


def test_bad_strategy_files() -> None:
    with pytest.raises(ConfigurationError):
        Strategy(b"{}")
    with pytest.raises(ConfigurationError) as exc:
        Strategy.packaged("nope")
    assert exc.value.code == "STRATEGY_NOT_FOUND"
    with pytest.raises(ConfigurationError):
        StrategySet(Strategy.packaged("champion"), None, Decimal("1.5"))


def test_challenger_split_deterministic_and_share() -> None:
    ids = [f"app_{i}" for i in range(4000)]
    picked = [i for i in ids if in_challenger_sample(i, Decimal("0.1"))]
    assert 0.08 < len(picked) / len(ids) < 0.12
    assert picked == [i for i in ids if in_challenger_sample(i, Decimal("0.1"))]
    assert not any(in_challenger_sample(i, Decimal(0)) for i in ids[:100])
    assert all(in_challenger_sample(i, Decimal(1)) for i in ids[:100])


def test_default_strategies() -> None:
    s = default_strategies()
    assert s.challenger is not None and s.challenger.version == "2025.11-c1"
    assert s.get("champion", "2025.11-1") is s.champion and s.get("champion", "old") is None
