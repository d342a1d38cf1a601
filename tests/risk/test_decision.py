from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lendcore.core.errors import ConfigurationError
from lendcore.risk.decision import (
    REASONS,
    DecisionConfig,
    DrawdownContext,
    Outcome,
    decide,
    evaluate_drawdown,
    from_jsonable,
    replay,
    same_outcome,
    to_jsonable,
    to_record,
)
from lendcore.risk.features import (
    YUAN_TO_MODEL_AMOUNT,
    Application,
    FeatureConfig,
    LoanPurpose,
    build_features,
)
from lendcore.risk.rules import ApplicationContext, BlacklistKind, PriorApplication, PriorOutcome
from lendcore.risk.strategy import StrategySet, default_strategies

D = date(2025, 6, 15)
FIXTURE = Path(__file__).parent / "fixtures" / "tiny_scorecard.json"


@dataclass(frozen=True)
class _Result:
    score: int
    probability_bad: float
    contributions: tuple[Any, ...] = ()


class FakeScorer:
    """PD driven by the requested amount so tests can pick a grade: requested yuan / 100,000
    (credit_amount is converted back from the model's units with the default scale)."""

    model_id = "fake"
    version = "1"

    def score(self, features: Any) -> _Result:
        pd = float(features["credit_amount"]) / float(YUAN_TO_MODEL_AMOUNT) / 100_000
        return _Result(int(700 - pd * 1000), pd)


def app(amount_yuan: int = 3_000, app_id: str = "app_1", **kw: Any) -> Application:
    base: dict[str, Any] = {
        "application_id": app_id,
        "product_code": "quick",
        "requested_amount": amount_yuan * 100,
        "term_months": 6,
        "purpose": LoanPurpose.ELECTRONICS,
        "monthly_income": 12_000_00,
        "monthly_debt_payments": 1_000_00,
    }
    return Application(**{**base, **kw})


CTX = ApplicationContext(D, birth_date=date(1990, 5, 5), phone_real_name_verified=True)


@pytest.fixture(scope="module")
def strategies() -> StrategySet:
    return default_strategies(Decimal("0.5"))


def test_approve(strategies: StrategySet) -> None:
    d = decide(app(3_000), CTX, FakeScorer(), strategies)
    assert d.outcome is Outcome.APPROVED and d.grade == "A"  # pd 0.03
    assert d.limit == 10_000_00 and d.daily_rate == Decimal("0.00025")
    assert d.reason_codes == () and d.retry_on is None
    assert d.model_id == "fake" and d.strategy_version == "2025.11-1"
    assert d.features["age_in_years"] == 35 and d.features["duration_in_month"] == 6


def test_decline_by_grade_with_retry(strategies: StrategySet) -> None:
    d = decide(app(45_000), CTX, FakeScorer(), strategies)
    assert d.outcome is Outcome.DECLINED and d.reason_codes == ("GRADE_DECLINED",)
    assert d.retry_on == date(2025, 7, 15)
    assert d.reasons("zh") == ("综合信用评分未达到要求",)
    assert d.reasons("en")[0].startswith("Your overall credit score")


def test_rule_hits_skip_scoring(strategies: StrategySet) -> None:
    ctx = replace(CTX, blacklist_hits=frozenset({BlacklistKind.DEVICE}), existing_overdue_days=3)
    d = decide(app(), ctx, FakeScorer(), strategies)
    assert d.outcome is Outcome.DECLINED and d.score is None
    assert d.reason_codes == ("BLACKLIST_DEVICE", "EXISTING_OVERDUE") and d.retry_on is None
    assert len(d.reasons("en")) == 2


def test_cooldown_decision_says_when(strategies: StrategySet) -> None:
    ctx = replace(CTX, prior_applications=(PriorApplication(date(2025, 6, 1), PriorOutcome.DECLINED),))
    d = decide(app(), ctx, FakeScorer(), strategies)
    assert d.reason_codes == ("REAPPLY_COOLDOWN",) and d.retry_on == date(2025, 7, 1)


def test_every_reason_code_has_both_languages() -> None:
    from lendcore.risk import rules, strategy

    codes = [v for k, v in vars(rules).items() if k.isupper() and isinstance(v, str)]
    codes += [strategy.GRADE_DECLINED, strategy.INSUFFICIENT_INCOME, strategy.PRICE_ABOVE_CAP]
    for c in codes:
        zh, en = REASONS[c]
        assert zh and en


def test_timings_recorded_but_not_compared(strategies: StrategySet) -> None:
    ticks = iter(range(100))
    d1 = decide(app(), CTX, FakeScorer(), strategies, perf_counter=lambda: float(next(ticks)))
    d2 = decide(app(), CTX, FakeScorer(), strategies)
    assert d1.timings_ms["total"] > 0 and set(d1.timings_ms) >= {"rules", "features", "score", "strategy"}
    assert same_outcome(d1, d2)


def test_record_round_trip_and_replay(strategies: StrategySet) -> None:
    ctx = replace(
        CTX,
        fraud_flags=frozenset({"new_device"}),
        prior_applications=(PriorApplication(date(2024, 1, 1), PriorOutcome.APPROVED, reason_codes=("X",)),),
    )
    for amount in (3_000, 12_000, 20_000, 45_000):
        a = app(amount, app_id=f"app_{amount}")
        d = decide(a, ctx, FakeScorer(), strategies)
        record = json.loads(json.dumps(to_record(d, a, ctx, DecisionConfig())))
        again = replay(record, FakeScorer(), strategies)
        assert same_outcome(d, again)
        assert again.outcome is d.outcome and again.limit == d.limit and again.challenger == d.challenger


def test_replay_with_real_scorecard_fixture(strategies: StrategySet) -> None:
    from lendcore.risk.scorecard import load_scorecard

    card = load_scorecard(FIXTURE)
    d = decide(app(), CTX, card, strategies)
    record = json.loads(json.dumps(to_record(d, app(), CTX, DecisionConfig())))
    assert same_outcome(d, replay(record, card, strategies))


def test_replay_refuses_other_versions(strategies: StrategySet) -> None:
    d = decide(app(), CTX, FakeScorer(), strategies)
    record = to_record(d, app(), CTX, DecisionConfig())

    class Other(FakeScorer):
        version = "2"

    with pytest.raises(ConfigurationError) as exc:
        replay(record, Other(), strategies)
    assert exc.value.code == "REPLAY_VERSION_MISMATCH"


def test_challenger_share_recorded_not_acted_on() -> None:
    s = default_strategies(Decimal("0.3"))
    n = 600
    with_ch = 0
    for i in range(n):
        d = decide(app(20_000, app_id=f"app_{i}"), CTX, FakeScorer(), s)
        if d.challenger is not None:
            with_ch += 1
            assert d.challenger.strategy_id == "challenger"
        assert d.strategy_id == "champion"
    assert 0.24 < with_ch / n < 0.36
    # pd 0.2 → champion grade C; challenger differs in limit but the decision is the champion's
    none = decide(app(20_000), CTX, FakeScorer(), default_strategies(Decimal(0)))
    assert none.challenger is None


def test_config_serialises() -> None:
    cfg = DecisionConfig(features=FeatureConfig(amount_scale=Decimal("0.5")))
    assert from_jsonable(DecisionConfig, json.loads(json.dumps(to_jsonable(cfg)))) == cfg


def test_sensitive_features_off_by_default() -> None:
    f = build_features(app(), CTX)
    assert f["personal_status_and_sex"] is None and f["foreign_worker"] is None
    assert len(f) == 20


def test_drawdown_ok_and_limit() -> None:
    ok = evaluate_drawdown(DrawdownContext(D, 1_000_00, 5_000_00))
    assert ok.approved and ok.retry_on is None
    over = evaluate_drawdown(DrawdownContext(D, 6_000_00, 5_000_00))
    assert over.reason_codes == ("LIMIT_EXCEEDED",) and over.retry_on is None


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"line_frozen": True}, "LINE_FROZEN"),
        ({"current_overdue_days": 2}, "DRAWDOWN_OVERDUE"),
        ({"new_overdue_since_approval": True}, "DRAWDOWN_NEW_OVERDUE"),
        ({"recent_failed_repayments": 2}, "DRAWDOWN_REPAYMENT_FAILURES"),
        ({"recent_drawdown_dates": (D, D, D)}, "DRAWDOWN_VELOCITY"),
        ({"fraud_flags": frozenset({"emulator"})}, "FRAUD_SUSPECTED"),
        ({"blacklist_hits": frozenset({BlacklistKind.CARD})}, "BLACKLIST_CARD"),
    ],
)
def test_drawdown_declines_with_retry(kw: dict[str, Any], code: str) -> None:
    r = evaluate_drawdown(DrawdownContext(D, 1_000_00, 5_000_00, **kw))
    assert not r.approved and r.reason_codes == (code,) and r.retry_on == date(2025, 7, 15)


def test_drawdown_cooldown() -> None:
    r = evaluate_drawdown(DrawdownContext(D, 1_000_00, 5_000_00, last_drawdown_decline_on=date(2025, 6, 1)))
    assert r.reason_codes == ("DRAWDOWN_COOLDOWN",) and r.retry_on == date(2025, 7, 1)
    ok = evaluate_drawdown(
        DrawdownContext(date(2025, 7, 1), 1_000_00, 5_000_00, last_drawdown_decline_on=date(2025, 6, 1))
    )
    assert ok.approved
