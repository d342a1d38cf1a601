"""Official repayment accounts (pure): is this the account a customer may pay into?

Fraudsters tell borrowers to "repay" into an account of theirs. The lender publishes the accounts it
collects into (the registry: bank, holder, purpose, valid from/to) and anyone can check a number
against it. A number is compared in its normal form: spaces and dashes removed (``6222 0200-1234``
and ``62220200 1234`` are the same account); anything else but digits is refused, so a check never
answers "not official" for a number that was merely mistyped with a letter in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

from lendcore.core.errors import ValidationError

#: Bank account numbers in China are 9 to 30 digits (corporate accounts vary by bank).
MIN_DIGITS: Final = 9
MAX_DIGITS: Final = 30
_SEPARATORS: Final = re.compile(r"[\s\-]+")
_DIGITS: Final = re.compile(r"[0-9]+")


def normalise_account_number(text: str) -> str:
    """``text`` without spaces and dashes; ``INVALID_ACCOUNT_NUMBER`` unless 9-30 ASCII digits remain."""
    number = _SEPARATORS.sub("", text)
    if not (MIN_DIGITS <= len(number) <= MAX_DIGITS) or _DIGITS.fullmatch(number) is None:
        raise ValidationError(
            f"an account number is {MIN_DIGITS}-{MAX_DIGITS} digits (spaces and dashes allowed)",
            code="INVALID_ACCOUNT_NUMBER",
        )
    return number


def mask_account_number(number: str) -> str:
    """The last four digits only, for answers and logs: ``****1234``."""
    return f"****{number[-4:]}"


@dataclass(frozen=True, slots=True)
class OfficialAccount:
    """One registry entry. ``valid_to`` is inclusive; None while the account is in use."""

    number: str  # normalised
    bank_name: str
    holder: str
    purpose: str
    valid_from: date
    valid_to: date | None = None

    def __post_init__(self) -> None:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValidationError(
                f"valid-to {self.valid_to} is before valid-from {self.valid_from}",
                code="ACCOUNT_VALIDITY_INVALID",
            )

    def valid_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


@dataclass(frozen=True, slots=True)
class AccountCheck:
    """The answer to "may I pay into this account on ``on``?": ``account`` is the entry valid that day."""

    number: str
    on: date
    account: OfficialAccount | None

    @property
    def official(self) -> bool:
        return self.account is not None

    @property
    def message(self) -> str:
        if self.account is None:
            return "not official - do not pay into this account"
        return f"official: {self.account.bank_name}, {self.account.holder} ({self.account.purpose})"


def check_account(entries: Iterable[OfficialAccount], number: str, on: date) -> AccountCheck:
    """Whether ``number`` (any form) is an official account on ``on``: an entry for it valid that day.
    An entry that expired, or is not valid yet, is not official (that is exactly the old account a
    fraudster would quote)."""
    normal = normalise_account_number(number)
    valid = [e for e in entries if e.number == normal and e.valid_on(on)]
    return AccountCheck(normal, on, valid[0] if valid else None)
