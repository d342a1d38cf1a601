"""Repayment schedules (还款计划): pure functions from plain terms to immutable installment rows.

INTERFACE NOTE (to be completed by the schedule implementation): the row types below are the
contract every other module relies on (servicing, quotes, APR). Do not rename their fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from lendcore.core.money import Fen


class Method(StrEnum):
    """Repayment methods, named as on the CLI."""

    EQUAL_INSTALLMENT = "equal-installment"  # 等额本息 (annuity)
    EQUAL_PRINCIPAL = "equal-principal"  # 等额本金
    INTEREST_ONLY = "interest-only"  # 先息后本
    BULLET = "bullet"  # 一次性还本付息
    FLAT_FEE = "flat-fee"  # POS installments: principal ÷ n plus a fixed fee per period


class InterestRule(StrEnum):
    """How a period's interest is computed."""

    DAYS = "days"  # actual days × daily rate (日利率 × 天数), how Chinese consumer loans are priced
    PERIOD = "period"  # annual ÷ periods per year (the textbook annuity)


@dataclass(frozen=True, slots=True)
class Installment:
    """One period (期) of a schedule. Amounts in fen; interest covers [start_date, due_date)."""

    period: int  # 1-based
    start_date: date
    due_date: date
    days: int
    principal: Fen
    interest: Fen
    fee: Fen
    total: Fen  # principal + interest + fee
    remaining_principal: Fen  # principal still owed after this installment is paid


@dataclass(frozen=True, slots=True)
class Schedule:
    installments: tuple[Installment, ...]

    @property
    def total_principal(self) -> Fen:
        return sum(i.principal for i in self.installments)

    @property
    def total_interest(self) -> Fen:
        return sum(i.interest for i in self.installments)

    @property
    def total_fee(self) -> Fen:
        return sum(i.fee for i in self.installments)

    @property
    def total(self) -> Fen:
        return sum(i.total for i in self.installments)
