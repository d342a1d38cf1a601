"""What customers are told: Chinese text with amount and date and no PII; reminder offsets from
settings, per product."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.errors import ValidationError
from lendcore.core.money import format_fen
from lendcore.core.notices import (
    DEFAULT_OFFSETS,
    GENERIC,
    SIGNATURE,
    TEMPLATES,
    ReminderPolicy,
    chinese_date,
    parse_offsets,
    reminder_template,
    render,
)


@given(amount=st.integers(min_value=1, max_value=10**10), day=st.dates(date(2000, 1, 1), date(2099, 12, 31)))
def test_a_reminder_says_the_amount_and_the_date(amount: int, day: date) -> None:
    for template in ("reminder_before", "reminder_due", "reminder_overdue"):
        text = render(template, {"amount": amount, "due_date": day.isoformat(), "days": 3})
        assert text.startswith(SIGNATURE) and format_fen(amount) in text and chinese_date(day) in text


def test_an_unknown_template_or_a_missing_field_says_something_true() -> None:
    assert render("no_such_template", {"amount": 1}) == SIGNATURE + GENERIC
    assert render("reminder_due", {"amount": 1}) == SIGNATURE + GENERIC  # no due_date


def test_no_template_can_carry_a_name_phone_or_id_number() -> None:
    fields = {name for pattern in TEMPLATES.values() for name in _fields(pattern)}
    assert fields <= {"amount", "due_date", "days", "take_on", "starts_on", "ends_on"}  # money and dates


def _fields(pattern: str) -> list[str]:
    return [part.split("}")[0] for part in pattern.split("{")[1:]]


def test_offsets_choose_the_text() -> None:
    assert [reminder_template(o) for o in (-3, -1, 0, 1, 5)] == [
        "reminder_before", "reminder_before", "reminder_due", "reminder_overdue", "reminder_overdue",
    ]  # fmt: skip


@given(st.lists(st.integers(-30, 30), min_size=1, max_size=8, unique=True))
def test_offsets_read_back_sorted_from_settings(offsets: list[int]) -> None:
    assert parse_offsets(",".join(map(str, offsets))) == tuple(sorted(offsets))


@pytest.mark.parametrize("text", ["", "x", "-3,-3", "31", "-1,,a", "1.5"])
def test_bad_offsets_are_one_error(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_offsets(text)
    assert caught.value.code == "INVALID_REMINDER_OFFSETS"


def test_a_product_can_have_its_own_offsets() -> None:
    policy = ReminderPolicy.parse("-2,0;installment=-5,-1,0,3")
    assert policy.offsets_for("quick") == (-2, 0) and policy.offsets_for("installment") == (-5, -1, 0, 3)
    assert ReminderPolicy().offsets == DEFAULT_OFFSETS
    with pytest.raises(ValidationError):
        ReminderPolicy.parse("-1;=0")
