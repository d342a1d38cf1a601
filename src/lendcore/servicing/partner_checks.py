"""The funding partners' ledgers checked against the general ledger (invariant 2, extended).

:func:`partner_ledger_mismatches` is what :func:`lendcore.servicing.invariants.check_invariants` runs.
Fast path, two aggregate queries over the whole book: per contract, partner and shared account, the
partner's totals must be exactly ``floor(share × the contract's totals)`` and its postings must balance.
Only a contract that fails it is read entry by entry: a booked partner entry that differs from the rule
is a mismatch; entries not booked yet are a lag (a repayment booked since the last sync), not a fault,
so a check running beside a booking never cries wolf.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendcore.core.errors import InvariantViolationError
from lendcore.core.funding import (
    SHARED_ACCOUNTS,
    ContractEntry,
    PartnerEntry,
    check_partner_ledger,
    part_of,
    partner_entries,
)
from lendcore.core.ledger import Account, Side
from lendcore.core.money import Fen
from lendcore.servicing.partners import _booked, _contract_journal, contract_shares, funded_contracts
from lendcore.store.models import JournalEntry, Posting
from lendcore.store.models_privacy import ContractFunding, PartnerPosting


def _totals(entries: Iterable[ContractEntry]) -> dict[tuple[Account, Side], Fen]:
    out: dict[tuple[Account, Side], Fen] = {}
    for e in entries:
        for line in e.lines:
            out[(line.account, line.side)] = out.get((line.account, line.side), 0) + line.amount
    return out


def _mismatches_of(session: Session, contract_id: str) -> list[str]:
    shares = contract_shares(session, contract_id)
    journal = _contract_journal(session, contract_id)
    expected: dict[tuple[str, str], PartnerEntry] = {
        (e.entry_id, e.partner_id): e for e in partner_entries(journal, shares)
    }
    booked = _booked(session, contract_id)
    found = [
        f"contract {contract_id}: partner entry {entry_id}/{partner_id} differs from its share of the ledger"
        for (entry_id, partner_id), lines in booked.items()
        if (entry_id, partner_id) not in expected or expected[(entry_id, partner_id)].lines != lines
    ]
    if not found and set(expected) == set(booked):
        held: dict[tuple[str, str, Side], Fen] = {}
        for (_, partner_id), lines in booked.items():
            for x in lines:
                held[(partner_id, x.account_code, x.side)] = (
                    held.get((partner_id, x.account_code, x.side), 0) + x.amount
                )
        try:
            check_partner_ledger(contract_id, _totals(journal), held, shares)
        except InvariantViolationError as error:  # reported, not raised
            found.append(str(error))
    return found


def _suspects(session: Session) -> list[str]:
    """Funded contracts whose partner totals are not exactly their shares (two aggregate queries)."""
    shared = [a.value for a in SHARED_ACCOUNTS]
    funded = select(ContractFunding.contract_id)
    rows = session.execute(
        select(
            JournalEntry.contract_id, Posting.account_code, func.sum(Posting.debit), func.sum(Posting.credit)
        )
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(Posting.account_code.in_(shared), JournalEntry.contract_id.in_(funded))
        .group_by(JournalEntry.contract_id, Posting.account_code)
    )
    gl = {(str(c), str(a)): (int(d), int(k)) for c, a, d, k in rows}
    held: dict[tuple[str, str, str], tuple[Fen, Fen]] = {
        (c, p, a): (int(d), int(k))
        for c, p, a, d, k in session.execute(
            select(
                PartnerPosting.contract_id,
                PartnerPosting.partner_id,
                PartnerPosting.account_code,
                func.sum(PartnerPosting.debit),
                func.sum(PartnerPosting.credit),
            ).group_by(PartnerPosting.contract_id, PartnerPosting.partner_id, PartnerPosting.account_code)
        )
    }
    suspects: set[str] = set()
    fundings = session.execute(
        select(ContractFunding.contract_id, ContractFunding.partner_id, ContractFunding.share_bp)
    )
    for contract_id, partner_id, bp in fundings:
        for code in shared:
            d, k = gl.get((contract_id, code), (0, 0))
            if held.get((contract_id, partner_id, code), (0, 0)) != (part_of(d, bp), part_of(k, bp)):
                suspects.add(contract_id)
    net: dict[tuple[str, str], Fen] = {}
    for (c, p, _), (d, k) in held.items():
        net[(c, p)] = net.get((c, p), 0) + d - k
    suspects |= {c for (c, _), balance in net.items() if balance}  # a partner's postings must balance
    orphans = {c for c, _, _ in held} - set(funded_contracts(session))
    return sorted(suspects | orphans)


def partner_ledger_mismatches(session: Session) -> tuple[str, ...]:
    """Every difference between the partners' ledgers and their shares of the general ledger."""
    return tuple(m for c in _suspects(session) for m in _mismatches_of(session, c))


def unsynced_entries(session: Session) -> int:
    """Journal entries of funded contracts whose partner mirror is not booked yet (a lag, not a fault)."""
    lag = 0
    for contract_id in funded_contracts(session):
        expected = {
            (e.entry_id, e.partner_id)
            for e in partner_entries(
                _contract_journal(session, contract_id), contract_shares(session, contract_id)
            )
        }
        lag += len(expected - set(_booked(session, contract_id)))
    return lag
