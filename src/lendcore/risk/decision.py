"""The credit decision pipeline: hard rules → features → score → grade → strategy → decision.

Pure and in-process: the caller passes the application, the context it gathered, a warm scorecard,
the strategies and the configuration, plus a ``perf_counter`` function used *only* to time the stages
(timings are recorded, never compared). :func:`to_record` turns a decision and its inputs into a
JSON-able dict; :func:`replay` recomputes a record and :func:`same_outcome` compares ignoring timings.

Also here: :func:`evaluate_drawdown`, the real-time check before each drawdown (综合评估).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, Protocol

from lendcore.core.errors import ConfigurationError, ValidationError
from lendcore.core.money import Fen
from lendcore.risk import rules as rl
from lendcore.risk.features import Application, FeatureConfig, FeatureValue, build_features
from lendcore.risk.jsonable import from_jsonable as from_jsonable
from lendcore.risk.jsonable import to_jsonable as to_jsonable
from lendcore.risk.rules import ApplicationContext, BlacklistKind, RuleHit, RulesConfig, evaluate_rules
from lendcore.risk.strategy import (
    DEFAULT_APR_CAP,
    DEFAULT_PRICING,
    GRADE_DECLINED,
    INSUFFICIENT_INCOME,
    PRICE_ABOVE_CAP,
    PRICING_UNAVAILABLE,
    PriceBand,
    StrategyInput,
    StrategyResult,
    StrategySet,
    in_challenger_sample,
)

RECORD_FORMAT: Final = "lendcore.decision/1"


# --- scorer protocol (implemented by lendcore.risk.scorecard.Scorecard) -------------------------------
class ScoreResultLike(Protocol):
    @property
    def score(self) -> int: ...
    @property
    def probability_bad(self) -> float: ...


class Scorer(Protocol):
    @property
    def model_id(self) -> str: ...
    @property
    def version(self) -> str: ...
    def score(self, features: Mapping[str, FeatureValue], /) -> Any: ...


# --- reason-code catalog ------------------------------------------------------------------------------
#: code → (中文, English): customer-facing wording; internal detail (which list, which threshold) stays out.
REASONS: Final[Mapping[str, tuple[str, str]]] = {
    rl.AGE_BELOW_MINIMUM: ("申请人须年满18周岁", "Applicants must be at least 18 years old"),
    rl.AGE_ABOVE_MAXIMUM: (
        "申请人年龄超出产品适用范围",
        "The applicant's age is outside this product's range",
    ),
    rl.ID_INVALID: ("身份信息校验未通过", "Identity verification failed"),
    rl.BLACKLIST_ID: ("综合评估未通过", "The application did not pass our overall assessment"),
    rl.BLACKLIST_PHONE: ("综合评估未通过", "The application did not pass our overall assessment"),
    rl.BLACKLIST_CARD: ("综合评估未通过", "The application did not pass our overall assessment"),
    rl.BLACKLIST_DEVICE: ("综合评估未通过", "The application did not pass our overall assessment"),
    rl.FRAUD_SUSPECTED: (
        "申请环境存在风险，请更换设备或网络后再试",
        "Risk detected in the application environment",
    ),
    rl.EXISTING_OVERDUE: (
        "您有逾期未还的借款，请先还清",
        "You have an overdue loan with us; please repay it first",
    ),
    rl.VELOCITY_DEVICE: ("申请过于频繁，请稍后再试", "Too many applications; please try again later"),
    rl.VELOCITY_PHONE: ("申请过于频繁，请稍后再试", "Too many applications; please try again later"),
    rl.VELOCITY_ID: ("申请过于频繁，请稍后再试", "Too many applications; please try again later"),
    rl.APPLICATION_FREQUENCY_LIMIT: (
        "每半年仅可申请一次额度",
        "Only one credit-line application per half year",
    ),
    rl.REAPPLY_COOLDOWN: (
        "距上次申请未满30天，请到期后再试",
        "Please wait 30 days after a declined application",
    ),
    GRADE_DECLINED: ("综合信用评分未达到要求", "Your overall credit score does not meet our requirements"),
    INSUFFICIENT_INCOME: (
        "收入与负债情况暂不满足最低额度要求",
        "Income and debts do not support the minimum limit",
    ),
    PRICING_UNAVAILABLE: ("暂无适合您的产品定价", "No pricing is available for this product and term"),
    PRICE_ABOVE_CAP: ("暂无符合利率上限的产品", "No offer within the interest-rate cap is available"),
    "LIMIT_EXCEEDED": ("借款金额超过可用额度", "The amount exceeds your available limit"),
    "LINE_FROZEN": ("额度已冻结", "Your credit line is frozen"),
    "DRAWDOWN_OVERDUE": ("您有逾期未还的借款，请先还清", "You have an overdue loan; please repay it first"),
    "DRAWDOWN_NEW_OVERDUE": (
        "近期还款表现未通过评估",
        "Recent repayment behaviour did not pass our assessment",
    ),
    "DRAWDOWN_REPAYMENT_FAILURES": ("近期扣款多次失败", "Several recent repayments failed"),
    "DRAWDOWN_VELOCITY": ("借款过于频繁，请稍后再试", "Too many drawdowns; please try again later"),
    "DRAWDOWN_COOLDOWN": ("综合评估未通过，请到期后再试", "Please try again after the date shown"),
}


def reason_text(code: str, lang: str = "zh") -> str:
    zh, en = REASONS.get(code, ("综合评估未通过", "The application did not pass our overall assessment"))
    return zh if lang == "zh" else en


# --- configuration and result -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DecisionConfig:
    rules: RulesConfig = field(default_factory=RulesConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    pricing: tuple[PriceBand, ...] = DEFAULT_PRICING
    apr_cap: Decimal = DEFAULT_APR_CAP


class Outcome(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"


@dataclass(frozen=True, slots=True)
class ChallengerResult:
    strategy_id: str
    strategy_version: str
    approved: bool
    grade: str
    limit: Fen | None
    daily_rate: Decimal | None
    reason_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    application_id: str
    business_date: date
    outcome: Outcome
    limit: Fen | None
    daily_rate: Decimal | None
    apr: Decimal | None
    grade: str | None
    score: int | None
    probability_bad: float | None
    reason_codes: tuple[str, ...]
    rule_hits: tuple[RuleHit, ...]
    retry_on: date | None
    model_id: str
    model_version: str
    strategy_id: str
    strategy_version: str
    features: Mapping[str, FeatureValue]
    challenger: ChallengerResult | None
    timings_ms: Mapping[str, float] = field(default_factory=dict, compare=False)

    @property
    def approved(self) -> bool:
        return self.outcome is Outcome.APPROVED

    def reasons(self, lang: str = "zh") -> tuple[str, ...]:
        """Customer-facing reasons, de-duplicated, in code order."""
        return tuple(dict.fromkeys(reason_text(c, lang) for c in self.reason_codes))


def decide(
    application: Application,
    context: ApplicationContext,
    scorecard: Scorer,
    strategies: StrategySet,
    config: DecisionConfig = DecisionConfig(),
    *,
    perf_counter: Callable[[], float] | None = None,
) -> Decision:
    """Decide one credit-line application. Deterministic given its inputs (timings aside)."""
    clock = perf_counter or _zero_clock
    timings: dict[str, float] = {}
    t0 = clock()
    hits = evaluate_rules(context, config.rules)
    t1 = clock()
    timings["rules"] = (t1 - t0) * 1000
    features = build_features(application, context, config.features)
    t2 = clock()
    timings["features"] = (t2 - t1) * 1000
    common: dict[str, Any] = {
        "application_id": application.application_id,
        "business_date": context.business_date,
        "model_id": scorecard.model_id,
        "model_version": scorecard.version,
        "strategy_id": strategies.champion.strategy_id,
        "strategy_version": strategies.champion.version,
        "features": features,
        "rule_hits": hits,
    }
    if hits:
        timings["total"] = (clock() - t0) * 1000
        return Decision(
            outcome=Outcome.DECLINED,
            limit=None,
            daily_rate=None,
            apr=None,
            grade=None,
            score=None,
            probability_bad=None,
            reason_codes=tuple(dict.fromkeys(h.code for h in hits)),
            retry_on=rl.retry_date(hits),
            challenger=None,
            timings_ms=timings,
            **common,
        )
    scored = scorecard.score(features)
    score = int(scored.score)
    pd = float(scored.probability_bad)
    t3 = clock()
    timings["score"] = (t3 - t2) * 1000
    inp = StrategyInput(
        score=score,
        probability_bad=pd,
        term_months=application.term_months,
        monthly_income=application.monthly_income,
        monthly_debt_payments=application.monthly_debt_payments,
        is_new_customer=context.is_new_customer,
        bureau_authorised=context.bureau_authorised,
    )
    result = strategies.champion.evaluate(inp, config.pricing, apr_cap=config.apr_cap)
    t4 = clock()
    timings["strategy"] = (t4 - t3) * 1000
    challenger: ChallengerResult | None = None
    if strategies.challenger is not None and in_challenger_sample(
        application.application_id, strategies.challenger_share
    ):
        ch = strategies.challenger.evaluate(inp, config.pricing, apr_cap=config.apr_cap)
        challenger = _challenger(ch)
        timings["challenger"] = (clock() - t4) * 1000
    timings["total"] = (clock() - t0) * 1000
    retry_on = None
    if not result.approved:
        retry_on = context.business_date + timedelta(days=config.rules.cooldown_days)
    return Decision(
        outcome=Outcome.APPROVED if result.approved else Outcome.DECLINED,
        limit=result.limit,
        daily_rate=result.daily_rate,
        apr=result.apr,
        grade=result.grade,
        score=score,
        probability_bad=pd,
        reason_codes=result.reason_codes,
        retry_on=retry_on,
        challenger=challenger,
        timings_ms=timings,
        **common,
    )


def _zero_clock() -> float:
    return 0.0


def _challenger(r: StrategyResult) -> ChallengerResult:
    return ChallengerResult(
        r.strategy_id, r.version, r.approved, r.grade, r.limit, r.daily_rate, r.reason_codes
    )


# --- records and replay -------------------------------------------------------------------------------
def to_record(
    decision: Decision, application: Application, context: ApplicationContext, config: DecisionConfig
) -> dict[str, Any]:
    """A JSON-able record of the decision and every input needed to replay it."""
    return {
        "format": RECORD_FORMAT,
        "inputs": {
            "application": to_jsonable(application),
            "context": to_jsonable(context),
            "config": to_jsonable(config),
        },
        "decision": to_jsonable(decision),
    }


def decision_from_record(record: Mapping[str, Any]) -> Decision:
    _check_format(record)
    decision: Decision = from_jsonable(Decision, record["decision"])
    return decision


def inputs_from_record(record: Mapping[str, Any]) -> tuple[Application, ApplicationContext, DecisionConfig]:
    _check_format(record)
    inputs = record["inputs"]
    return (
        from_jsonable(Application, inputs["application"]),
        from_jsonable(ApplicationContext, inputs["context"]),
        from_jsonable(DecisionConfig, inputs["config"]),
    )


def replay(record: Mapping[str, Any], scorecard: Scorer, strategies: StrategySet) -> Decision:
    """Recompute a stored decision from its inputs with the model and strategy it names.

    The caller resolves the artefacts (by ``model_id``/``model_version`` and strategy id/version);
    a mismatch raises ``REPLAY_VERSION_MISMATCH`` rather than silently deciding with other versions.
    The challenger is re-run only if the stored decision had one and the set holds its version.
    """
    stored = decision_from_record(record)
    if (scorecard.model_id, scorecard.version) != (stored.model_id, stored.model_version):
        raise ConfigurationError(
            "replay needs the model version of the record", code="REPLAY_VERSION_MISMATCH"
        )
    champion = strategies.get(stored.strategy_id, stored.strategy_version)
    if champion is None:
        raise ConfigurationError(
            "replay needs the strategy version of the record", code="REPLAY_VERSION_MISMATCH"
        )
    challenger = None
    if stored.challenger is not None:
        challenger = strategies.get(stored.challenger.strategy_id, stored.challenger.strategy_version)
        if challenger is None:
            raise ConfigurationError(
                "replay needs the challenger strategy version of the record", code="REPLAY_VERSION_MISMATCH"
            )
    # The recorded sample decision is authoritative: share 1 re-runs a recorded challenger, 0 none.
    replay_set = StrategySet(champion, challenger, Decimal(1) if challenger is not None else Decimal(0))
    application, context, config = inputs_from_record(record)
    return decide(application, context, scorecard, replay_set, config)


def same_outcome(a: Decision, b: Decision) -> bool:
    """Equal in everything but timings (``timings_ms`` is excluded from dataclass equality)."""
    return a == b


def _check_format(record: Mapping[str, Any]) -> None:
    if record.get("format") != RECORD_FORMAT:
        raise ValidationError("not a lendcore decision record", code="DECISION_RECORD_INVALID")


# --- drawdown-time check ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DrawdownContext:
    business_date: date
    amount: Fen
    available_limit: Fen
    line_frozen: bool = False
    current_overdue_days: int = 0
    new_overdue_since_approval: bool = False  # any overdue since the line was opened / last review
    recent_drawdown_dates: tuple[date, ...] = ()  # earlier drawdowns (not this one)
    recent_failed_repayments: int = 0  # failed deductions in the last ``failure_window_days``
    blacklist_hits: frozenset[BlacklistKind] = frozenset()
    fraud_flags: frozenset[str] = frozenset()
    last_drawdown_decline_on: date | None = None


@dataclass(frozen=True, slots=True)
class DrawdownConfig:
    velocity_window_days: int = 1
    max_drawdowns_per_window: int = 3  # including this one
    max_failed_repayments: int = 1
    cooldown_days: int = 30
    blocking_fraud_flags: frozenset[str] = field(
        default_factory=lambda: frozenset(
            {"emulator", "device_tampered", "known_fraud_ring", "identity_mismatch"}
        )
    )


@dataclass(frozen=True, slots=True)
class DrawdownDecision:
    approved: bool
    reason_codes: tuple[str, ...]
    retry_on: date | None  # None when approved, or when only the amount is the problem


def evaluate_drawdown(ctx: DrawdownContext, config: DrawdownConfig = DrawdownConfig()) -> DrawdownDecision:
    """Real-time check of one drawdown (综合评估). A decline changes nothing: it only says why and when
    to try again (``cooldown_days`` after today, or after the previous drawdown decline while that
    cooldown runs). An amount over the available limit is declined without a wait."""
    codes: list[str] = []
    timed = False
    if ctx.amount <= 0 or ctx.amount > ctx.available_limit:
        codes.append("LIMIT_EXCEEDED")
    checks = (
        (ctx.line_frozen, "LINE_FROZEN"),
        (ctx.current_overdue_days > 0, "DRAWDOWN_OVERDUE"),
        (ctx.new_overdue_since_approval, "DRAWDOWN_NEW_OVERDUE"),
        (ctx.recent_failed_repayments > config.max_failed_repayments, "DRAWDOWN_REPAYMENT_FAILURES"),
        (
            rl.count_within(ctx.recent_drawdown_dates, ctx.business_date, config.velocity_window_days) + 1
            > config.max_drawdowns_per_window,
            "DRAWDOWN_VELOCITY",
        ),
        (bool(ctx.fraud_flags & config.blocking_fraud_flags), rl.FRAUD_SUSPECTED),
    )
    for failed, code in checks:
        if failed:
            codes.append(code)
            timed = True
    for kind in BlacklistKind:
        if kind in ctx.blacklist_hits:
            codes.append(rl._BLACKLIST_CODES[kind])
            timed = True
    retry_on: date | None = None
    if ctx.last_drawdown_decline_on is not None:
        until = ctx.last_drawdown_decline_on + timedelta(days=config.cooldown_days)
        if ctx.business_date < until:
            codes.append("DRAWDOWN_COOLDOWN")
            retry_on = until
    if timed:
        retry_on = max(
            retry_on or ctx.business_date, ctx.business_date + timedelta(days=config.cooldown_days)
        )
    return DrawdownDecision(not codes, tuple(codes), retry_on if codes else None)
