"""Official repayment accounts (pure): a number is compared without its spaces and dashes, and it is
official on a day only if a registry entry for it is valid that day."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.errors import ValidationError
from lendcore.core.official_accounts import (
    OfficialAccount,
    check_account,
    mask_account_number,
    normalise_account_number,
)

ICBC = OfficialAccount(
    "6222020000001234", "ICBC", "Lendcore Ltd", "repayments", date(2026, 1, 1), date(2026, 6, 30)
)


def test_spaces_and_dashes_are_removed() -> None:
    assert normalise_account_number(" 6222 0200-0000 1234 ") == "6222020000001234"
    assert normalise_account_number("6222\t0200--0000\u30001234") == "6222020000001234"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12345678",
        "1" * 31,
        "6222O20000001234",
        "６２２２０２０００００１２３４",
        "6222.0200.0000.1234",
        "+6222020000001",
    ],
)
def test_anything_but_9_to_30_ascii_digits_is_not_an_account_number(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        normalise_account_number(text)
    assert caught.value.code == "INVALID_ACCOUNT_NUMBER"


@given(
    digits=st.text("0123456789", min_size=9, max_size=30),
    separators=st.lists(st.sampled_from([" ", "-", "  ", " - "]), min_size=30, max_size=30),
)
def test_separators_anywhere_never_change_the_number(digits: str, separators: list[str]) -> None:
    written = "".join(d + s for d, s in zip(digits, separators, strict=False))
    assert normalise_account_number(written) == digits


@pytest.mark.parametrize(
    ("on", "official"),
    [
        (date(2025, 12, 31), False),  # not valid yet
        (date(2026, 1, 1), True),  # valid-from is inclusive
        (date(2026, 6, 30), True),  # valid-to is inclusive
        (date(2026, 7, 1), False),  # retired: exactly the account a fraudster would quote
    ],
)
def test_an_entry_is_official_only_inside_its_validity(on: date, official: bool) -> None:
    check = check_account([ICBC], "6222-0200-0000-1234", on)
    assert check.official is official
    assert check.number == "6222020000001234"
    assert check.message.startswith("official: ICBC") if official else "do not pay" in check.message


def test_an_unknown_number_is_not_official() -> None:
    check = check_account([ICBC], "6222020000009999", date(2026, 3, 1))
    assert not check.official and check.account is None
    assert check.message == "not official - do not pay into this account"


def test_an_open_ended_entry_stays_official() -> None:
    open_ended = OfficialAccount("123456789", "BOC", "Lendcore Ltd", "repayments", date(2026, 1, 1))
    assert check_account([open_ended], "123 456 789", date(2099, 1, 1)).official


def test_validity_must_be_ordered() -> None:
    with pytest.raises(ValidationError) as caught:
        OfficialAccount("123456789", "BOC", "L", "r", date(2026, 2, 2), date(2026, 2, 1))
    assert caught.value.code == "ACCOUNT_VALIDITY_INVALID"


def test_a_number_is_masked_to_its_last_four_digits() -> None:
    assert mask_account_number("6222020000001234") == "****1234"
