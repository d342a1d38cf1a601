"""Hard rules (准入规则): pure functions over an :class:`ApplicationContext`, thresholds in
:class:`RulesConfig`.

Every rule returns ``None`` or a :class:`RuleHit` with a stable reason code; a hit declines the
application. :func:`evaluate_rules` runs them all (no short-circuit, so every hit is recorded) in a
fixed order. Dates are explicit: the business date is in the context, nothing reads a clock.

Repeat-application rules:

* ``REAPPLY_COOLDOWN`` – after a decline the applicant may retry on or after
  ``last decline date + cooldown_days`` (30 by default); ``retry_on`` carries that date.
* ``APPLICATION_FREQUENCY_LIMIT`` – at most ``max_applications_per_period`` (1) credit-line
  applications per ``application_period_days`` (183, half a year), counting only applications that
  were *not* declined (a decline never counts against later applications). Declines caused only by
  these two rules are ignored by the cooldown too, so asking again early does not extend the wait.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from lendcore.core.identity import Sex, age_on

# --- reason codes -------------------------------------------------------------------------------------
AGE_BELOW_MINIMUM: Final = "AGE_BELOW_MINIMUM"
AGE_ABOVE_MAXIMUM: Final = "AGE_ABOVE_MAXIMUM"
ID_INVALID: Final = "ID_INVALID"
BLACKLIST_ID: Final = "BLACKLIST_ID"
BLACKLIST_PHONE: Final = "BLACKLIST_PHONE"
BLACKLIST_CARD: Final = "BLACKLIST_CARD"
BLACKLIST_DEVICE: Final = "BLACKLIST_DEVICE"
FRAUD_SUSPECTED: Final = "FRAUD_SUSPECTED"
EXISTING_OVERDUE: Final = "EXISTING_OVERDUE"
VELOCITY_DEVICE: Final = "VELOCITY_DEVICE"
VELOCITY_PHONE: Final = "VELOCITY_PHONE"
VELOCITY_ID: Final = "VELOCITY_ID"
APPLICATION_FREQUENCY_LIMIT: Final = "APPLICATION_FREQUENCY_LIMIT"
REAPPLY_COOLDOWN: Final = "REAPPLY_COOLDOWN"

REPEAT_REQUEST_CODES: Final = frozenset({APPLICATION_FREQUENCY_LIMIT, REAPPLY_COOLDOWN})


class BlacklistKind(StrEnum):
    ID_NUMBER = "id_number"
    PHONE = "phone"
    CARD = "card_number"
    DEVICE = "device"


_BLACKLIST_CODES: Final = {
    BlacklistKind.ID_NUMBER: BLACKLIST_ID,
    BlacklistKind.PHONE: BLACKLIST_PHONE,
    BlacklistKind.CARD: BLACKLIST_CARD,
    BlacklistKind.DEVICE: BLACKLIST_DEVICE,
}


class PriorOutcome(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    PENDING = "pending"  # in manual review: counts as an application


@dataclass(frozen=True, slots=True)
class PriorApplication:
    """An earlier credit-line application by the same person (matched by ID hash)."""

    applied_on: date
    outcome: PriorOutcome
    decided_on: date | None = None  # defaults to applied_on
    reason_codes: tuple[str, ...] = ()

    @property
    def decision_date(self) -> date:
        return self.decided_on or self.applied_on


@dataclass(frozen=True, slots=True)
class ApplicationContext:
    """Everything the rules and features need besides the application form, as of ``business_date``.

    Gathered by the use case (store lookups, blind-index blacklist checks, bureau if authorised);
    velocity lists hold the dates of *other* applications (not this one), any age – the rules window them.
    """

    business_date: date
    id_valid: bool = True
    birth_date: date | None = None
    sex: Sex | None = None
    blacklist_hits: frozenset[BlacklistKind] = frozenset()
    fraud_flags: frozenset[str] = frozenset()  # e.g. "emulator", "rooted", "proxy" from device risk
    existing_overdue_days: int = 0  # max days past due on any contract with us today
    device_application_dates: tuple[date, ...] = ()
    phone_application_dates: tuple[date, ...] = ()
    id_application_dates: tuple[date, ...] = ()
    prior_applications: tuple[PriorApplication, ...] = ()
    # own history (features)
    is_new_customer: bool = True
    active_contracts_with_us: int = 0
    repaid_contracts_with_us: int = 0
    max_days_past_due_ever_with_us: int = 0
    has_credits_elsewhere: bool | None = None  # declared or from the bureau (if authorised)
    phone_real_name_verified: bool = False  # 运营商实名: the phone is registered in the applicant's name
    bureau_authorised: bool = False  # 征信授权 active at decision time

    @property
    def applicant_age(self) -> int | None:
        return None if self.birth_date is None else age_on(self.birth_date, self.business_date)


@dataclass(frozen=True, slots=True)
class RulesConfig:
    minimum_age: int = 18
    maximum_age: int | None = 60
    max_overdue_days: int = 0  # any overdue with us today declines
    velocity_window_days: int = 7
    max_applications_per_device: int = 3  # in the window, including this one
    max_applications_per_phone: int = 3
    max_applications_per_id: int = 3
    application_period_days: int = 183
    max_applications_per_period: int = 1
    cooldown_days: int = 30
    blocking_fraud_flags: frozenset[str] = field(
        default_factory=lambda: frozenset(
            {"emulator", "device_tampered", "known_fraud_ring", "identity_mismatch"}
        )
    )


@dataclass(frozen=True, slots=True)
class RuleHit:
    code: str
    rule: str
    detail: str = ""
    retry_on: date | None = None  # None: not a matter of waiting


Rule = Callable[[ApplicationContext, RulesConfig], "RuleHit | None"]


def rule_age(ctx: ApplicationContext, cfg: RulesConfig) -> RuleHit | None:
    if ctx.birth_date is None:
        return None  # no usable ID: rule_id_valid reports it
    age = age_on(ctx.birth_date, ctx.business_date)
    if age < cfg.minimum_age:
        birthday = _add_years(ctx.birth_date, cfg.minimum_age)
        return RuleHit(AGE_BELOW_MINIMUM, "age", f"age {age} < {cfg.minimum_age}", retry_on=birthday)
    if cfg.maximum_age is not None and age > cfg.maximum_age:
        return RuleHit(AGE_ABOVE_MAXIMUM, "age", f"age {age} > {cfg.maximum_age}")
    return None


def rule_id_valid(ctx: ApplicationContext, cfg: RulesConfig) -> RuleHit | None:
    if not ctx.id_valid or ctx.birth_date is None:
        return RuleHit(ID_INVALID, "id_valid", "resident ID failed validation")
    return None


def rule_blacklist(ctx: ApplicationContext, cfg: RulesConfig) -> tuple[RuleHit, ...]:
    return tuple(
        RuleHit(_BLACKLIST_CODES[kind], "blacklist", f"{kind} on blacklist")
        for kind in BlacklistKind
        if kind in ctx.blacklist_hits
    )


def rule_fraud_flags(ctx: ApplicationContext, cfg: RulesConfig) -> RuleHit | None:
    flags = sorted(ctx.fraud_flags & cfg.blocking_fraud_flags)
    if flags:
        return RuleHit(FRAUD_SUSPECTED, "fraud_flags", ",".join(flags))
    return None


def rule_existing_overdue(ctx: ApplicationContext, cfg: RulesConfig) -> RuleHit | None:
    if ctx.existing_overdue_days > cfg.max_overdue_days:
        return RuleHit(EXISTING_OVERDUE, "existing_overdue", f"{ctx.existing_overdue_days} days past due")
    return None


def count_within(dates: Iterable[date], on: date, window_days: int) -> int:
    """Dates in ``(on − window_days, on]``: the last ``window_days`` days including ``on``."""
    start = on - timedelta(days=window_days)
    return sum(1 for d in dates if start < d <= on)


def _velocity(
    dates: tuple[date, ...], ctx: ApplicationContext, window: int, limit: int, code: str, what: str
) -> RuleHit | None:
    n = count_within(dates, ctx.business_date, window) + 1  # + this application
    if n > limit:
        oldest = sorted(d for d in dates if ctx.business_date - timedelta(days=window) < d)[n - 1 - limit]
        return RuleHit(
            code,
            "velocity",
            f"{n} applications from one {what} in {window} days (max {limit})",
            retry_on=oldest + timedelta(days=window),
        )
    return None


def rule_velocity(ctx: ApplicationContext, cfg: RulesConfig) -> tuple[RuleHit, ...]:
    w = cfg.velocity_window_days
    hits = (
        _velocity(
            ctx.device_application_dates, ctx, w, cfg.max_applications_per_device, VELOCITY_DEVICE, "device"
        ),
        _velocity(
            ctx.phone_application_dates, ctx, w, cfg.max_applications_per_phone, VELOCITY_PHONE, "phone"
        ),
        _velocity(ctx.id_application_dates, ctx, w, cfg.max_applications_per_id, VELOCITY_ID, "ID"),
    )
    return tuple(h for h in hits if h is not None)


def rule_application_frequency(ctx: ApplicationContext, cfg: RulesConfig) -> RuleHit | None:
    """At most N non-declined applications per period (this one included)."""
    start = ctx.business_date - timedelta(days=cfg.application_period_days)
    counted = sorted(
        p.applied_on
        for p in ctx.prior_applications
        if p.outcome is not PriorOutcome.DECLINED and start < p.applied_on <= ctx.business_date
    )
    if len(counted) + 1 > cfg.max_applications_per_period:
        # the earliest counted application that must leave the window for this one to fit
        pivot = (
            counted[len(counted) - cfg.max_applications_per_period]
            if cfg.max_applications_per_period
            else None
        )
        retry = None if pivot is None else pivot + timedelta(days=cfg.application_period_days)
        return RuleHit(
            APPLICATION_FREQUENCY_LIMIT,
            "application_frequency",
            f"{len(counted)} application(s) in the last {cfg.application_period_days} days",
            retry_on=retry,
        )
    return None


def last_counted_decline(ctx: ApplicationContext) -> date | None:
    """Date of the last decline that starts a cooldown (not one caused only by repeat-request rules)."""
    dates = [
        p.decision_date
        for p in ctx.prior_applications
        if p.outcome is PriorOutcome.DECLINED
        and not (p.reason_codes and set(p.reason_codes) <= REPEAT_REQUEST_CODES)
        and p.decision_date <= ctx.business_date
    ]
    return max(dates, default=None)


def rule_cooldown(ctx: ApplicationContext, cfg: RulesConfig) -> RuleHit | None:
    last = last_counted_decline(ctx)
    if last is None:
        return None
    retry_on = last + timedelta(days=cfg.cooldown_days)
    if ctx.business_date < retry_on:
        return RuleHit(REAPPLY_COOLDOWN, "cooldown", f"declined on {last.isoformat()}", retry_on=retry_on)
    return None


def evaluate_rules(ctx: ApplicationContext, cfg: RulesConfig) -> tuple[RuleHit, ...]:
    """Run every hard rule; the hits in a fixed order (empty tuple = pass)."""
    hits: list[RuleHit] = []
    for single in (rule_id_valid, rule_age):
        h = single(ctx, cfg)
        if h is not None:
            hits.append(h)
    hits.extend(rule_blacklist(ctx, cfg))
    for single in (rule_fraud_flags, rule_existing_overdue):
        h = single(ctx, cfg)
        if h is not None:
            hits.append(h)
    hits.extend(rule_velocity(ctx, cfg))
    for single in (rule_application_frequency, rule_cooldown):
        h = single(ctx, cfg)
        if h is not None:
            hits.append(h)
    return tuple(hits)


def retry_date(hits: Iterable[RuleHit]) -> date | None:
    """When the applicant may try again: the latest ``retry_on`` if every hit is time-bound, else None."""
    hits = tuple(hits)
    if not hits or any(h.retry_on is None for h in hits):
        return None
    return max(h.retry_on for h in hits if h.retry_on is not None)


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February → 1 March (the age is completed on 1 March)
        return date(d.year + years, 3, 1)
