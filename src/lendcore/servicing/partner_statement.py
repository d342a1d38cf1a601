"""A funding partner's daily statement (对账单): its accounts and its contracts on one business day.

:func:`partner_statement` ``(session, partner_id, on)`` first books what is not booked yet of the
partner's ledger (:func:`~lendcore.servicing.partners.sync_partner_ledgers`, idempotent), then reports
from the partner's own postings: per account (principal, interest and penalty receivable, income,
waivers, write-offs, recoveries, the settlement account) the opening balance, the day's debits and
credits (postings of business date ``on``) and the closing balance, on the account's normal side; and
per contract the partner's share, its principal outstanding and the day's movements.

Personal information goes to a partner only with the customer's consent (PIPL Art. 23): a contract
line names the customer only while the ``funding_partner_sharing`` consent for this partner is active
at the end of ``on``; after a revocation the line shows the contract and the money, never the person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendcore.core.funding import SETTLEMENT, SHARED_ACCOUNTS
from lendcore.core.ledger import Account, Side
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.servicing.partners import consented, partner_view, sync_partner_ledgers
from lendcore.store.models import Contract
from lendcore.store.models_privacy import ContractFunding, PartnerPosting

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")
_DEBIT_NORMAL: Final = frozenset(
    {SETTLEMENT, *(a.value for a in SHARED_ACCOUNTS if a.normal_side is Side.DEBIT)}
)
_TITLES: Final = {
    **{a.value: a.label for a in SHARED_ACCOUNTS},
    SETTLEMENT: "Due to / from the partner (出资方往来)",
}


@dataclass(frozen=True, slots=True)
class AccountBalance:
    account: str
    title: str
    opening: Fen
    debits: Fen
    credits: Fen
    closing: Fen


@dataclass(frozen=True, slots=True)
class ContractLine:
    contract_id: str
    customer_id: str | None  # None: the customer has not consented (or revoked) sharing with it
    share_bp: int
    funded_amount: Fen
    principal_outstanding: Fen
    principal_repaid_today: Fen
    interest_income_today: Fen


@dataclass(frozen=True, slots=True)
class PartnerStatement(JsonRecord):
    partner_id: str
    name: str
    business_date: date
    concentration_limit: Fen
    exposure: Fen
    accounts: tuple[AccountBalance, ...]
    contracts: tuple[ContractLine, ...]
    booked_now: int  # partner entries booked by this statement's sync


def _signed(code: str, debit: Fen, credit: Fen) -> Fen:
    return debit - credit if code in _DEBIT_NORMAL else credit - debit


def _sums(session: Session, partner_id: str, *conditions: object) -> dict[tuple[str, str], tuple[Fen, Fen]]:
    rows = session.execute(
        select(
            PartnerPosting.contract_id,
            PartnerPosting.account_code,
            func.coalesce(func.sum(PartnerPosting.debit), 0),
            func.coalesce(func.sum(PartnerPosting.credit), 0),
        )
        .where(PartnerPosting.partner_id == partner_id, *conditions)  # type: ignore[arg-type]
        .group_by(PartnerPosting.contract_id, PartnerPosting.account_code)
    ).all()
    return {(c, a): (int(d), int(k)) for c, a, d, k in rows}


def _by_account(sums: dict[tuple[str, str], tuple[Fen, Fen]], code: str) -> tuple[Fen, Fen]:
    debit = sum(d for (_, a), (d, _) in sums.items() if a == code)
    credit = sum(k for (_, a), (_, k) in sums.items() if a == code)
    return debit, credit


def partner_statement(session: Session, partner_id: str, on: date) -> PartnerStatement:
    """The statement of ``partner_id`` for business date ``on`` (see the module docstring)."""
    partner = partner_view(session, partner_id)
    booked_now = sync_partner_ledgers(session, partner_id)
    before = _sums(session, partner_id, PartnerPosting.business_date < on)
    today = _sums(session, partner_id, PartnerPosting.business_date == on)
    accounts = []
    for code in (*(a.value for a in SHARED_ACCOUNTS), SETTLEMENT):
        d0, c0 = _by_account(before, code)
        d1, c1 = _by_account(today, code)
        opening = _signed(code, d0, c0)
        accounts.append(AccountBalance(code, _TITLES[code], opening, d1, c1, opening + _signed(code, d1, c1)))
    end_of_day = datetime.combine(on + timedelta(days=1), time(0), tzinfo=SHANGHAI).astimezone(UTC)
    lines = []
    fundings = session.execute(
        select(ContractFunding, Contract.customer_id)
        .join(Contract, Contract.id == ContractFunding.contract_id)
        .where(ContractFunding.partner_id == partner_id, ContractFunding.funded_on <= on)
        .order_by(ContractFunding.contract_id)
    ).all()
    principal = Account.LOAN_PRINCIPAL.value
    for funding, customer_id in fundings:
        c = funding.contract_id
        d_all = before.get((c, principal), (0, 0))
        d_today = today.get((c, principal), (0, 0))
        outstanding = d_all[0] + d_today[0] - d_all[1] - d_today[1]
        income = today.get((c, Account.INTEREST_INCOME.value), (0, 0))
        shown = customer_id if consented(session, customer_id, partner_id, end_of_day) else None
        lines.append(
            ContractLine(
                c,
                shown,
                funding.share_bp,
                funding.funded_amount,
                outstanding,
                d_today[1],
                income[1] - income[0],
            )
        )
    return PartnerStatement(
        partner.id,
        partner.name,
        on,
        partner.concentration_limit,
        partner.exposure,
        tuple(accounts),
        tuple(lines),
        booked_now,
    )
