from __future__ import annotations

from datetime import date, timedelta

import pytest

from lendcore.risk.rules import (
    ApplicationContext,
    BlacklistKind,
    PriorApplication,
    PriorOutcome,
    RulesConfig,
    evaluate_rules,
    retry_date,
)

D = date(2025, 6, 15)
CFG = RulesConfig()
BIRTH = date(1990, 1, 1)


def codes(**kw: object) -> list[str]:
    ctx = ApplicationContext(**{"business_date": D, "birth_date": BIRTH, **kw})  # type: ignore[arg-type]
    return [h.code for h in evaluate_rules(ctx, CFG)]


def test_clean_passes() -> None:
    assert codes() == []


def test_id_invalid() -> None:
    assert codes(id_valid=False) == ["ID_INVALID"]
    assert codes(birth_date=None) == ["ID_INVALID"]


def test_age() -> None:
    hits = evaluate_rules(ApplicationContext(D, birth_date=date(2007, 6, 16)), CFG)
    assert [h.code for h in hits] == ["AGE_BELOW_MINIMUM"]
    assert hits[0].retry_on == date(2025, 6, 16)
    assert codes(birth_date=date(2007, 6, 15)) == []
    assert codes(birth_date=date(1964, 6, 14)) == ["AGE_ABOVE_MAXIMUM"]
    assert codes(birth_date=date(1965, 6, 15)) == []


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (BlacklistKind.ID_NUMBER, "BLACKLIST_ID"),
        (BlacklistKind.PHONE, "BLACKLIST_PHONE"),
        (BlacklistKind.CARD, "BLACKLIST_CARD"),
        (BlacklistKind.DEVICE, "BLACKLIST_DEVICE"),
    ],
)
def test_blacklist(kind: BlacklistKind, code: str) -> None:
    assert codes(blacklist_hits=frozenset({kind})) == [code]


def test_fraud_flags() -> None:
    assert codes(fraud_flags=frozenset({"emulator"})) == ["FRAUD_SUSPECTED"]
    assert codes(fraud_flags=frozenset({"new_device"})) == []


def test_existing_overdue() -> None:
    assert codes(existing_overdue_days=1) == ["EXISTING_OVERDUE"]
    assert codes(existing_overdue_days=0) == []


@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("device_application_dates", "VELOCITY_DEVICE"),
        ("phone_application_dates", "VELOCITY_PHONE"),
        ("id_application_dates", "VELOCITY_ID"),
    ],
)
def test_velocity(field: str, code: str) -> None:
    two = (D - timedelta(days=1), D - timedelta(days=6))
    assert codes(**{field: two}) == []  # 2 earlier + this one = 3 = max
    three = (*two, D)
    ctx = ApplicationContext(D, birth_date=BIRTH, **{field: three})  # type: ignore[arg-type]
    hits = evaluate_rules(ctx, CFG)
    assert [h.code for h in hits] == [code]
    assert hits[0].retry_on == D - timedelta(days=6) + timedelta(days=7)
    assert codes(**{field: (*two, D - timedelta(days=7))}) == []  # outside the 7-day window


def test_half_year_frequency() -> None:
    approved = PriorApplication(date(2025, 1, 1), PriorOutcome.APPROVED)
    ctx = ApplicationContext(D, birth_date=BIRTH, prior_applications=(approved,))
    hits = evaluate_rules(ctx, CFG)
    assert [h.code for h in hits] == ["APPLICATION_FREQUENCY_LIMIT"]
    assert hits[0].retry_on == date(2025, 1, 1) + timedelta(days=183)
    on_retry = ApplicationContext(date(2025, 7, 3), birth_date=BIRTH, prior_applications=(approved,))
    assert date(2025, 1, 1) + timedelta(days=183) == date(2025, 7, 3)
    assert evaluate_rules(on_retry, CFG) == ()
    pending = PriorApplication(date(2025, 6, 1), PriorOutcome.PENDING)
    assert codes(prior_applications=(pending,)) == ["APPLICATION_FREQUENCY_LIMIT"]


def test_declined_application_does_not_count_against_frequency() -> None:
    declined = PriorApplication(date(2025, 4, 1), PriorOutcome.DECLINED)
    assert codes(prior_applications=(declined,)) == []


def test_cooldown_after_decline() -> None:
    declined = PriorApplication(date(2025, 6, 1), PriorOutcome.DECLINED, reason_codes=("GRADE_DECLINED",))
    ctx = ApplicationContext(D, birth_date=BIRTH, prior_applications=(declined,))
    hits = evaluate_rules(ctx, CFG)
    assert [h.code for h in hits] == ["REAPPLY_COOLDOWN"]
    assert hits[0].retry_on == date(2025, 7, 1)
    assert retry_date(hits) == date(2025, 7, 1)
    assert codes(business_date=date(2025, 6, 30), prior_applications=(declined,)) == ["REAPPLY_COOLDOWN"]
    assert codes(business_date=date(2025, 7, 1), prior_applications=(declined,)) == []


def test_cooldown_configurable_and_not_extended_by_repeat_requests() -> None:
    first = PriorApplication(date(2025, 6, 1), PriorOutcome.DECLINED, reason_codes=("GRADE_DECLINED",))
    again = PriorApplication(date(2025, 6, 10), PriorOutcome.DECLINED, reason_codes=("REAPPLY_COOLDOWN",))
    ctx = ApplicationContext(D, birth_date=BIRTH, prior_applications=(first, again))
    assert evaluate_rules(ctx, CFG)[0].retry_on == date(2025, 7, 1)
    assert evaluate_rules(ctx, RulesConfig(cooldown_days=10)) == ()


def test_retry_date_none_when_permanent() -> None:
    ctx = ApplicationContext(
        D,
        birth_date=BIRTH,
        blacklist_hits=frozenset({BlacklistKind.PHONE}),
        prior_applications=(PriorApplication(date(2025, 6, 1), PriorOutcome.DECLINED),),
    )
    hits = evaluate_rules(ctx, CFG)
    assert [h.code for h in hits] == ["BLACKLIST_PHONE", "REAPPLY_COOLDOWN"]
    assert retry_date(hits) is None
