"""Funding partners (出资方): the registry, funding at drawdown, each partner's ledger, its check.

* :func:`register_partner` adds a partner with its concentration limit (the most outstanding
  principal it may fund, in fen), audited.
* :func:`plan_funding` is what a drawdown asks before it creates the contract: the requested shares
  (:class:`~lendcore.core.funding.Share`) checked (``FUNDING_SHARES_INVALID``, the lender's minimum
  share ``LENDER_SHARE_TOO_LOW``, ``PARTNER_NOT_FOUND``, ``PARTNER_NOT_ACTIVE``), each partner's row
  locked and its concentration limit checked (``PARTNER_CONCENTRATION_EXCEEDED``). A partner the
  customer has not consented to share their personal information with (PIPL Art. 23, consent
  ``funding_partner_sharing`` scoped to the partner or to all) does not fund: that part stays with the
  lender, so without the consent the contract is 100 % lender-funded. :func:`record_funding` stores the
  shares with the contract.
* :func:`sync_partner_ledger` books each partner's mirror of the contract's journal entries
  (:func:`lendcore.core.funding.partner_entries`) that are not booked yet: one row per (entry,
  partner, line), so it is idempotent and may run at any time (the drawdown runs it, the statement
  and ``lendcore partners sync`` run it for every funded contract).
* :func:`partner_ledger_mismatches` is the invariant: every partner entry booked equals the one the
  rule gives for the general ledger as it stands, and, once every entry is mirrored, each partner's
  totals are exactly its share of the contract's (the lender holds the rest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.consent import ConsentKind, ConsentRecord, has_consent
from lendcore.core.errors import BusinessRuleError, NotFoundError, ValidationError
from lendcore.core.funding import (
    DEFAULT_LENDER_MIN_SHARE_BP,
    SHARED_ACCOUNTS,
    ContractEntry,
    EntryLine,
    PartnerLine,
    Share,
    check_concentration,
    check_shares,
    part_of,
    partner_entries,
    split,
)
from lendcore.core.ledger import Account, Side
from lendcore.core.money import MAX_AMOUNT, Fen
from lendcore.core.records import JsonRecord
from lendcore.store.audit import record_audit
from lendcore.store.engine import for_update
from lendcore.store.models import Contract, JournalEntry, Posting
from lendcore.store.models_origination import Consent
from lendcore.store.models_privacy import ContractFunding, FundingPartner, PartnerPosting

#: Contract statuses whose principal a partner still has out.
_EXPOSED: Final = ("pending", "active", "written-off")


@dataclass(frozen=True, slots=True)
class PartnerView(JsonRecord):
    id: str
    name: str
    concentration_limit: Fen
    status: str
    exposure: Fen


def register_partner(
    session: Session, *, name: str, concentration_limit: Fen, actor: str, at: datetime
) -> PartnerView:
    """Add a funding partner (``PARTNER_NAME_TAKEN`` if the name is registered)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError("a partner name (1-100 characters) is required", code="INVALID_PARTNER_NAME")
    limit = concentration_limit
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_AMOUNT:
        raise ValidationError(
            "the concentration limit must be 0 to ¥100,000,000.00", code="AMOUNT_OUT_OF_RANGE"
        )
    if not actor.strip():
        raise ValidationError("an actor is required", code="ACTOR_REQUIRED")
    if session.scalar(select(FundingPartner.id).where(FundingPartner.name == name)) is not None:
        raise BusinessRuleError(f"a partner named {name!r} is registered", code="PARTNER_NAME_TAKEN")
    row = FundingPartner(name=name, concentration_limit=limit, status="active", created_at=at)
    session.add(row)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="partner.registered",
        target_type="funding_partner",
        target_id=row.id,
        details={"name": name, "concentration_limit": limit},
        at=at,
    )
    return PartnerView(row.id, row.name, limit, row.status, 0)


def partner_view(session: Session, partner_id: str) -> PartnerView:
    row = _partner(session, partner_id)
    return PartnerView(
        row.id, row.name, row.concentration_limit, row.status, partner_exposure(session, row.id)
    )


def _partner(session: Session, partner_id: str, *, lock: bool = False) -> FundingPartner:
    query = select(FundingPartner).where(FundingPartner.id == partner_id)
    row = session.scalars(for_update(query) if lock else query).one_or_none()
    if row is None:
        raise NotFoundError(f"funding partner {partner_id} not found", code="PARTNER_NOT_FOUND")
    return row


def partner_exposure(session: Session, partner_id: str) -> Fen:
    """The partner's outstanding principal: its funded part of a contract not yet disbursed, its
    share of the outstanding principal of the others (rounded down, as the split is)."""
    rows = session.execute(
        select(
            Contract.status,
            Contract.outstanding_principal,
            ContractFunding.share_bp,
            ContractFunding.funded_amount,
        )
        .join(ContractFunding, ContractFunding.contract_id == Contract.id)
        .where(ContractFunding.partner_id == partner_id, Contract.status.in_(_EXPOSED))
    ).all()
    return sum(funded if status == "pending" else part_of(left, bp) for status, left, bp, funded in rows)


def consented(session: Session, customer_id: str, partner_id: str, at: datetime) -> bool:
    rows = session.scalars(
        select(Consent).where(
            Consent.customer_id == customer_id, Consent.kind == ConsentKind.FUNDING_PARTNER_SHARING.value
        )
    ).all()
    records = [
        ConsentRecord(ConsentKind(r.kind), r.text_version, r.granted_at, r.scope, r.revoked_at) for r in rows
    ]
    return has_consent(records, ConsentKind.FUNDING_PARTNER_SHARING, at, scope=partner_id)


def plan_funding(
    session: Session,
    *,
    customer_id: str,
    amount: Fen,
    shares: Sequence[Share],
    at: datetime,
    lender_min_share_bp: int = DEFAULT_LENDER_MIN_SHARE_BP,
) -> tuple[Share, ...]:
    """The shares that will fund a drawdown of ``amount`` (see the module docstring)."""
    if not shares:
        return ()
    check_shares(shares, lender_min_share_bp)
    _, parts = split(amount, shares)
    planned = []
    for share in sorted(shares, key=lambda s: s.partner_id):  # lock order: by id, no deadlock
        partner = _partner(session, share.partner_id, lock=True)
        if partner.status != "active":
            raise BusinessRuleError(
                f"funding partner {partner.id} is {partner.status}", code="PARTNER_NOT_ACTIVE"
            )
        if not consented(session, customer_id, partner.id, at):
            continue  # Art. 23: no sharing without the separate consent; the lender funds that part
        if parts[share.partner_id] > 0:
            check_concentration(
                partner.id,
                partner.concentration_limit,
                partner_exposure(session, partner.id),
                parts[share.partner_id],
            )
            planned.append(share)
    return tuple(planned)


def record_funding(
    session: Session, contract_id: str, amount: Fen, shares: Sequence[Share], on: date
) -> None:
    _, parts = split(amount, shares)
    for share in shares:
        session.add(
            ContractFunding(
                contract_id=contract_id,
                partner_id=share.partner_id,
                share_bp=share.share_bp,
                funded_amount=parts[share.partner_id],
                funded_on=on,
            )
        )
    session.flush()


def contract_shares(session: Session, contract_id: str) -> tuple[Share, ...]:
    rows = session.scalars(
        select(ContractFunding)
        .where(ContractFunding.contract_id == contract_id)
        .order_by(ContractFunding.partner_id)
    )
    return tuple(Share(r.partner_id, r.share_bp) for r in rows)


# --- each partner's ledger -----------------------------------------------------------------------------
def _contract_journal(session: Session, contract_id: str) -> tuple[ContractEntry, ...]:
    """The contract's entries in booking order (postings are numbered as they are written)."""
    rows = session.execute(
        select(
            Posting.entry_id,
            JournalEntry.business_date,
            JournalEntry.value_date,
            Posting.account_code,
            Posting.debit,
            Posting.credit,
        )
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.contract_id == contract_id)
        .order_by(Posting.id)
    ).all()
    known = {a.value: a for a in Account}
    entries: dict[str, tuple[date, date, list[EntryLine]]] = {}
    for entry_id, business_date, value_date, code, debit, credit in rows:
        lines = entries.setdefault(entry_id, (business_date, value_date, []))[2]
        if code in known:
            side, amount = (Side.DEBIT, debit) if debit else (Side.CREDIT, credit)
            lines.append(EntryLine(known[code], side, amount))
    return tuple(ContractEntry(e, b, v, tuple(lines)) for e, (b, v, lines) in entries.items())


def _booked(session: Session, contract_id: str) -> dict[tuple[str, str], tuple[PartnerLine, ...]]:
    rows = session.scalars(
        select(PartnerPosting).where(PartnerPosting.contract_id == contract_id).order_by(PartnerPosting.id)
    ).all()
    out: dict[tuple[str, str], list[PartnerLine]] = {}
    for r in sorted(rows, key=lambda r: (r.journal_entry_id, r.partner_id, r.line)):
        side, amount = (Side.DEBIT, r.debit) if r.debit else (Side.CREDIT, r.credit)
        out.setdefault((r.journal_entry_id, r.partner_id), []).append(
            PartnerLine(r.account_code, side, amount)
        )
    return {k: tuple(v) for k, v in out.items()}


def sync_partner_ledger(session: Session, contract_id: str) -> int:
    """Book the partners' entries of ``contract_id`` not booked yet; the number of entries booked."""
    shares = contract_shares(session, contract_id)
    if not shares:
        return 0
    session.scalars(for_update(select(Contract.id).where(Contract.id == contract_id))).one()
    booked = _booked(session, contract_id)
    written = 0
    for entry in partner_entries(_contract_journal(session, contract_id), shares):
        if (entry.entry_id, entry.partner_id) in booked:
            continue
        for n, line in enumerate(entry.lines, start=1):
            session.add(
                PartnerPosting(
                    journal_entry_id=entry.entry_id,
                    partner_id=entry.partner_id,
                    contract_id=contract_id,
                    line=n,
                    account_code=line.account_code,
                    debit=line.amount if line.side is Side.DEBIT else 0,
                    credit=line.amount if line.side is Side.CREDIT else 0,
                    business_date=entry.business_date,
                    value_date=entry.value_date,
                )
            )
        written += 1
    session.flush()
    return written


def funded_contracts(session: Session, partner_id: str | None = None) -> tuple[str, ...]:
    query = select(ContractFunding.contract_id).distinct().order_by(ContractFunding.contract_id)
    if partner_id is not None:
        query = query.where(ContractFunding.partner_id == partner_id)
    return tuple(session.scalars(query))


def contracts_to_sync(session: Session, partner_id: str | None = None) -> tuple[str, ...]:
    """Funded contracts with a journal entry on a shared account that a partner has not mirrored: the
    only ones :func:`sync_partner_ledgers` needs to read (one query; a settled contract drops out once
    its last entry is mirrored). An entry whose share rounds to nothing is never mirrored, so its
    contract stays listed; syncing it again books nothing."""
    mirrored = (
        select(PartnerPosting.id)
        .where(
            PartnerPosting.journal_entry_id == JournalEntry.id,
            PartnerPosting.partner_id == ContractFunding.partner_id,
        )
        .exists()
    )
    query = (
        select(JournalEntry.contract_id)
        .distinct()
        .join(ContractFunding, ContractFunding.contract_id == JournalEntry.contract_id)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .where(Posting.account_code.in_([a.value for a in SHARED_ACCOUNTS]), ~mirrored)
        .order_by(JournalEntry.contract_id)
    )
    if partner_id is not None:
        query = query.where(ContractFunding.partner_id == partner_id)
    return tuple(c for c in session.scalars(query) if c is not None)


def sync_partner_ledgers(session: Session, partner_id: str | None = None) -> int:
    """:func:`sync_partner_ledger` for every funded contract (of one partner) with something to book;
    the number of partner entries booked."""
    return sum(sync_partner_ledger(session, c) for c in contracts_to_sync(session, partner_id))
