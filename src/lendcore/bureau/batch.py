"""The bureau batch of a business day: the records due in it, built from each contract's replayed
history, stored with what they were built from, and the XML message file.

The batch of business day ``D`` holds, for every contract opened by then,
- an event record (非月度表现: 10 opened, 20 closed, 40 overdue recovered) for each event of a day
  ``d`` whose report date (the first business day after ``d``) is ``D``;
- the month-end record (月度表现: 30, or 32 in the month it closed) of a month whose last day ``d``
  has ``D`` as its report date (marked ``RstrcFlag`` once the contract has been restructured);
- a special-transaction record (特定交易, 50 restructured) for each hardship plan the customer
  accepted on a day ``d`` whose report date is ``D``.
A negative record that is not the customer's to carry is left out and the contract listed in
:attr:`BureauBatch.suppressed` (:func:`lendcore.core.standing.negative_status_suppressed`): money of
theirs in flight that day, or overdue that began inside a lender-fault window covering the day.
A first negative record (any overdue digit) of a contract is held back unless the customer was told
before ``D`` (征信业管理条例 Art. 15; the notice dates are passed in by the caller) and listed in
:attr:`BureauBatch.held`. :func:`build_batch` writes nothing and gives the same file for the same
history, for any past date; :func:`store_batch` stores the records once per batch date.
Corrections and deletions of upheld disputes answered before ``D`` go into the batch of ``D``
(:mod:`lendcore.bureau.disputes`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.bureau.disputes import corrections_due
from lendcore.bureau.message import (
    AccountRecord,
    BuiltFrom,
    Line,
    Restructuring,
    event_account_record,
    month_end_account_record,
    restructure_account_record,
    write_message,
)
from lendcore.core.bureau_status import (
    ReportReason,
    day_events,
    event_report_date,
    is_negative,
    month_end_record,
    negative_record_allowed,
    state_at_close,
)
from lendcore.core.calendar import month_end
from lendcore.core.consent import ConsentKind
from lendcore.core.errors import ConflictError
from lendcore.core.faults import FaultWindow, in_lender_fault
from lendcore.core.in_flight import covered_amount
from lendcore.core.performance import History
from lendcore.core.standing import negative_status_suppressed
from lendcore.servicing.faults import fault_windows
from lendcore.servicing.repository import load_book
from lendcore.servicing.standing import open_repayments
from lendcore.store.models import Contract, CreditLine
from lendcore.store.models_hardship import HardshipOffer
from lendcore.store.models_origination import Consent
from lendcore.store.models_post import BureauDispute, BureauRecord

#: How far back an event can lie and still be reported on a later business day (the longest run of
#: non-working days in the Chinese calendar is 8: the National Day week with its weekends).
LOOKBACK_DAYS: Final = 14

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class BureauBatch:
    batch_date: date
    records: tuple[AccountRecord, ...]
    held: tuple[str, ...] = field(default=())  # contracts whose first negative record awaits a notice
    disputes: tuple[int, ...] = field(default=())  # disputes whose correction or deletion is in it
    suppressed: tuple[str, ...] = field(default=())  # contracts whose negative record is ours to carry
    # contracts not reported because their customer revoked the 征信 consent (PIPL Art. 15)
    skipped: tuple[str, ...] = field(default=())

    def message(self) -> bytes:
        return write_message(self.records, self.batch_date)


def _reported_days(batch_date: date) -> list[date]:
    days = (batch_date - timedelta(days=n) for n in range(LOOKBACK_DAYS, 0, -1))
    return [d for d in days if event_report_date(d) == batch_date]


def _contract_records(
    contract: Contract, line: Line, history: History, days: list[date], plans: Sequence[Restructuring] = ()
) -> list[tuple[date, AccountRecord]]:
    """The contract's records of the batch, each with the day it describes."""
    from lendcore.servicing.codecs import contract_terms

    terms = contract_terms(contract)
    records: list[tuple[date, AccountRecord]] = []
    for day in days:
        for reason in day_events(history, day):
            records.append((day, event_account_record(terms, line, history, day, reason)))
        for plan in plans:
            if plan.accepted_on == day:
                records.append((day, restructure_account_record(terms, line, history, plan)))
        if day == month_end(day):
            monthly = month_end_record(history, day)
            if monthly is not None:
                records.append((day, month_end_account_record(terms, line, history, monthly)))
    return records


def _ours(
    session: Session,
    contract: Contract,
    history: History,
    day: date,
    windows: dict[date, list[FaultWindow]],
) -> bool:
    """A negative record of ``day`` that the customer must not carry (core.standing): money in flight
    that day, or overdue that began inside a lender-fault window covering it."""
    state = state_at_close(history, day)
    if state is None:
        return False
    if day not in windows:
        windows[day] = fault_windows(session, day)  # the batch's memo: one query per day
    window = in_lender_fault(windows[day], contract_id=contract.id, customer_id=contract.customer_id, on=day)
    flights = open_repayments(session, [contract.customer_id], day).get(contract.id, [])
    return negative_status_suppressed(
        state, day, window=window, money_in_flight=covered_amount(flights, day) > 0
    )


def _restructurings(session: Session, days: list[date]) -> dict[str, list[Restructuring]]:
    """Hardship plans accepted on ``days`` (reported by acceptance date: the restructure itself is
    value-dated on the offer's date, which may lie before a batch already sent)."""
    rows = session.scalars(
        select(HardshipOffer)
        .where(HardshipOffer.status == "accepted", HardshipOffer.decided_on.in_(days))
        .order_by(HardshipOffer.decided_on, HardshipOffer.id)
    )
    found: dict[str, list[Restructuring]] = {}
    for o in rows:
        assert o.decided_on is not None  # accepted
        plan = Restructuring(o.kind, o.periods, o.offered_on, o.decided_on, int(o.plan["principal"]))
        found.setdefault(o.contract_id, []).append(plan)
    return found


def _negative_before(session: Session, contract_id: str, before: date) -> bool:
    rows = session.scalars(
        select(BureauRecord.segments).where(
            BureauRecord.contract_id == contract_id,
            BureauRecord.kind == "month_end",
            BureauRecord.batch_date < before,
        )
    )
    return any(is_negative(s.get("AcctMthlyBlgInfSgmt", {}).get("AcctStatus", "")) for s in rows)


def build_batch(session: Session, batch_date: date, notices: Mapping[str, date] | None = None) -> BureauBatch:
    """The batch of ``batch_date`` (writes nothing). ``notices``: contract id → the day the customer
    was told of a coming negative record."""
    told = notices or {}
    days = _reported_days(batch_date)
    records: list[AccountRecord] = []
    held: list[str] = []
    suppressed: list[str] = []
    windows: dict[date, list[FaultWindow]] = {}
    corrections = [(d.id, _correction(session, d, r)) for d, r in corrections_due(session, batch_date)]
    if not days:
        return BureauBatch(batch_date, tuple(c for _, c in corrections), (), tuple(i for i, _ in corrections))
    contracts = session.scalars(
        select(Contract)
        .where(Contract.status != "pending", Contract.start_date <= days[-1])
        .order_by(Contract.id)
    )
    restructured = _restructurings(session, days)
    revoked = bureau_consent_revoked(session, batch_date)
    skipped: list[str] = []
    for contract in contracts:
        if contract.customer_id in revoked:
            skipped.append(contract.id)
            continue
        line = _line_of(session, contract)
        history = [(a.txn.value_date, a.state) for a in load_book(session, contract).applied]
        dated = _contract_records(contract, line, history, days, restructured.get(contract.id, ()))
        ours = [
            (d, r)
            for d, r in dated
            if is_negative(_status(r)) and _ours(session, contract, history, d, windows)
        ]
        if ours:
            suppressed.append(contract.id)
        built = [r for d, r in dated if (d, r) not in ours]
        negative = [r for r in built if is_negative(_status(r))]
        if negative and not negative_record_allowed(
            _status(negative[0]),
            reported_negative_before=_negative_before(session, contract.id, batch_date),
            notified_on=told.get(contract.id),
            on=batch_date,
        ):
            held.append(contract.id)
            built = [r for r in built if not is_negative(_status(r))]
        records.extend(built)
    records.extend(c for _, c in corrections)
    return BureauBatch(
        batch_date,
        tuple(records),
        tuple(held),
        tuple(i for i, _ in corrections),
        suppressed=tuple(suppressed),
        skipped=tuple(skipped),
    )


def bureau_consent_revoked(session: Session, batch_date: date) -> frozenset[str]:
    """Customers who gave the 征信 consent and had revoked every grant of it when ``batch_date``
    began (00:00 Asia/Shanghai): their processing for the bureau stops from then on, so a batch of a
    date before the revocation is still rebuilt as it was. Customers who never gave it are reported
    as before (reporting a loan to the credit reference system is the lender's duty)."""
    start = datetime.combine(batch_date, time(0), tzinfo=SHANGHAI)
    rows = session.execute(
        select(Consent.customer_id, Consent.granted_at, Consent.revoked_at).where(
            Consent.kind == ConsentKind.CREDIT_BUREAU_QUERY.value, Consent.granted_at < start
        )
    ).all()
    active = {c for c, _, revoked_at in rows if revoked_at is None or revoked_at > start}
    return frozenset(c for c, _, _ in rows if c not in active)


def _line_of(session: Session, contract: Contract) -> Line:
    credit_line = session.get(CreditLine, contract.credit_line_id)
    return Line(contract.credit_line_id, credit_line.credit_limit if credit_line else 0)


def _correction(session: Session, dispute: BureauDispute, original: BureauRecord) -> AccountRecord:
    """The record that replaces ``original``: rebuilt from the replay now held (a correction), or a
    deletion when the dispute says so or nothing is to be reported for that date any more."""
    from lendcore.servicing.codecs import contract_terms

    rebuilt: AccountRecord | None = None
    contract = session.get(Contract, original.contract_id)
    if dispute.action == "correction" and contract is not None:
        history = [(a.txn.value_date, a.state) for a in load_book(session, contract).applied]
        line = _line_of(session, contract)
        if original.kind == "month_end":
            monthly = month_end_record(history, original.report_date)
            if monthly is not None:
                rebuilt = month_end_account_record(contract_terms(contract), line, history, monthly)
        elif state_at_close(history, original.report_date) is not None:
            rebuilt = _rebuilt_event(session, contract, line, history, original)
    action = "correction" if rebuilt is not None else "deletion"
    mark = {
        "Action": action,
        "OrigRptDate": original.report_date.isoformat(),
        "OrigRptDateCode": original.reason,
        "DsptCode": str(dispute.id),
    }
    if rebuilt is None:
        base = dict(original.segments["BsSgmt"])
        segments = (("BsSgmt", tuple(base.items())), ("DsptSgmt", tuple(mark.items())))
        applied = int(original.built_from.get("transactions_applied", 0))
        built = BuiltFrom(original.contract_id, applied, original.report_date)
        return AccountRecord(original.report_date, ReportReason(original.reason), segments, built)
    return replace(rebuilt, segments=(*rebuilt.segments, ("DsptSgmt", tuple(mark.items()))))


def _rebuilt_event(
    session: Session, contract: Contract, line: Line, history: History, original: BureauRecord
) -> AccountRecord | None:
    """An event record rebuilt from the replay now held; a restructure (50) with its special segment."""
    from lendcore.servicing.codecs import contract_terms

    terms = contract_terms(contract)
    reason = ReportReason(original.reason)
    if reason is not ReportReason.RESTRUCTURED:
        return event_account_record(terms, line, history, original.report_date, reason)
    plans = _restructurings(session, [original.report_date]).get(contract.id, [])
    return restructure_account_record(terms, line, history, plans[0]) if plans else None


def _status(record: AccountRecord) -> str:
    return record.as_segments().get("AcctMthlyBlgInfSgmt", {}).get("AcctStatus", "")


def store_batch(session: Session, batch: BureauBatch) -> int:
    """Store the batch's records with what they were built from; a batch date is stored once."""
    exists = session.scalar(
        select(BureauRecord.id).where(BureauRecord.batch_date == batch.batch_date).limit(1)
    )
    if exists is not None:
        raise ConflictError(
            f"the bureau batch of {batch.batch_date} is already stored", code="BUREAU_BATCH_EXISTS"
        )
    for record in batch.records:
        segments = record.as_segments()
        session.add(
            BureauRecord(
                contract_id=record.built_from.contract_id,
                kind=_kind(segments),
                reason=record.reason.value,
                report_date=record.report_date,
                batch_date=batch.batch_date,
                segments=segments,
                built_from={
                    "contract_id": record.built_from.contract_id,
                    "transactions_applied": record.built_from.transactions_applied,
                    "through": record.built_from.through.isoformat(),
                },
            )
        )
    for dispute_id in batch.disputes:
        dispute = session.get(BureauDispute, dispute_id, with_for_update=True)
        if dispute is not None:
            dispute.reported_in = batch.batch_date
    session.flush()
    return len(batch.records)


def _kind(segments: dict[str, dict[str, str]]) -> str:
    if "DsptSgmt" in segments:
        return segments["DsptSgmt"]["Action"]
    return "month_end" if "AcctMthlyBlgInfSgmt" in segments else "event"
