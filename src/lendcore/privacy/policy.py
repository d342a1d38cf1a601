"""Retention periods: how long each kind of record is kept, and the rule that says so.

The periods are configuration (:class:`RetentionPolicy`, the ``lendcore privacy retention`` options);
the defaults and their legal source:

* identity records (name, ID number, birth date) and transaction records (contracts, transactions,
  payments, the ledger, the cards money moved through): **10 years** after the business relationship
  ends (中华人民共和国反洗钱法, 2024 revision, Art. 40; 金融机构客户尽职调查和客户身份资料及交易记录保存
  管理办法 Art. 27: "至少保存10年"). The relationship of a customer who asks for deletion ends on the
  day the request is accepted (no contract may be open then).
* answers of a credit application that did not lead to a line (income, savings, debts, marital status,
  device): **3 years** after the application. No statute fixes this one: it is lendcore's default
  under PIPL Art. 19 ("the shortest time necessary"), long enough to answer a complaint or a review of
  the decision; a lender sets its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from lendcore.core.errors import ValidationError

AML_RULE: Final = "AML law (2024) Art. 40: identity and transaction records kept 10 years"


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    identity_years: int = 10
    declined_application_years: int = 3

    def __post_init__(self) -> None:
        for name in ("identity_years", "declined_application_years"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
                raise ValidationError(f"{name} must be 0 to 100 years", code="RETENTION_POLICY_INVALID")

    def identity_kept_until(self, relationship_ended: date) -> date:
        return add_years(relationship_ended, self.identity_years)

    def application_kept_until(self, applied_on: date) -> date:
        return add_years(applied_on, self.declined_application_years)


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later (29 February → 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


DEFAULT_POLICY: Final = RetentionPolicy()
