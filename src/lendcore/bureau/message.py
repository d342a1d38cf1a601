"""Account records (record-210 family) and the XML message file that carries them.

A record is built from a contract's terms and its replayed history only
(:mod:`lendcore.core.bureau_status`); it carries what it was built from (:class:`BuiltFrom`) so a
stored record can be explained and the batch of any past date rebuilt. Amounts are integer fen in
text; dates are ISO. :func:`write_message` refuses (BUREAU_RECORD_INVALID) a record the catalogue does
not accept; :func:`check_message` reads a file back and checks every record against the catalogue.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from lendcore.bureau.catalogue import Catalogue, Segments, check_record, load_catalogue
from lendcore.core.bureau_status import MonthEnd, ReportReason, overdue_amount, state_at_close
from lendcore.core.contract import LoanState, LoanTerms, ProductClass, Status
from lendcore.core.errors import ValidationError
from lendcore.core.money import Fen
from lendcore.core.performance import History


@dataclass(frozen=True, slots=True)
class Line:
    """The revolving credit line (授信) a contract was drawn on: the drawdown is its sub-account."""

    line_id: str
    credit_limit: Fen


@dataclass(frozen=True, slots=True)
class BuiltFrom:
    """What a record was built from: the contract's transactions applied up to the record's date."""

    contract_id: str
    transactions_applied: int
    through: date


@dataclass(frozen=True, slots=True)
class AccountRecord:
    report_date: date
    reason: ReportReason
    segments: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    built_from: BuiltFrom

    def as_segments(self) -> Segments:
        return {tag: dict(fields) for tag, fields in self.segments}


def _frozen(segments: Segments) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    return tuple((tag, tuple(fields.items())) for tag, fields in segments.items())


def _account_segments(
    terms: LoanTerms, line: Line, on: date, reason: ReportReason, state: LoanState | None = None
) -> Segments:
    # the plan in force (a restructure moves the due date and changes the number of periods)
    rows = state.rows if state is not None else terms.schedule
    business = "consumer-cash" if terms.product_class is ProductClass.CASH_LOAN else "consumer-installment"
    return {
        "BsSgmt": {
            "InfRecType": "210",
            "AcctCode": terms.contract_id,
            "RptDate": on.isoformat(),
            "RptDateCode": reason.value,
            "CustCode": terms.customer_id,
        },
        "AcctBsInfSgmt": {
            "BusiLines": business,
            "OpenDate": terms.start_date.isoformat(),
            "DueDate": rows[-1].due_date.isoformat(),
            "LoanAmt": str(terms.principal),
            "Cy": "CNY",
            "RepayPrd": str(len(rows)),
            "RepayMode": terms.method.value,
        },
        "CreditLimSgmt": {
            "LineCode": line.line_id,
            "SubAcct": terms.contract_id,
            "CreditLim": str(line.credit_limit),
        },
    }


def _applied_through(history: History, day: date) -> int:
    return sum(1 for value_date, _ in history if value_date <= day)


def month_end_account_record(
    terms: LoanTerms, line: Line, history: History, record: MonthEnd
) -> AccountRecord:
    """The monthly record (月度表现) of ``record``'s month."""
    state = state_at_close(history, record.month_end)
    segments = _account_segments(terms, line, record.month_end, record.reason, state)
    segments["AcctMthlyBlgInfSgmt"] = {
        "Month": record.month_end.strftime("%Y-%m"),
        "AcctStatus": record.status,
        "Rpy24Status": record.status_string,
        "FiveCate": record.loan_class.value,
        "AcctBal": str(record.principal_outstanding),
        "TotOverd": str(record.overdue_amount),
        "OverdDays": str(record.dpd),
    }
    if state is not None and state.restructures:
        segments["AcctMthlyBlgInfSgmt"]["RstrcFlag"] = "1"
    built = BuiltFrom(terms.contract_id, _applied_through(history, record.month_end), record.month_end)
    return AccountRecord(record.month_end, record.reason, _frozen(segments), built)


_ACCOUNT_STATUS = {Status.ACTIVE: "open", Status.CLOSED: "closed", Status.WRITTEN_OFF: "written-off"}


def event_account_record(
    terms: LoanTerms, line: Line, history: History, day: date, reason: ReportReason
) -> AccountRecord:
    """The event record (非月度表现) of ``reason`` on ``day`` (dated the event day; it is sent in the
    batch of the next business day)."""
    state = state_at_close(history, day)
    if state is None or state.status is Status.PENDING:
        raise ValidationError(f"{terms.contract_id} is not open on {day}", code="BUREAU_RECORD_INVALID")
    segments = _account_segments(terms, line, day, reason, state)
    segments["AcctDbtInfSgmt"] = {
        "EventDate": day.isoformat(),
        "AcctStatus": _ACCOUNT_STATUS[state.status],
        "AcctBal": str(state.principal_outstanding),
        "TotOverd": str(overdue_amount(state, day)),
    }
    return AccountRecord(
        day, reason, _frozen(segments), BuiltFrom(terms.contract_id, _applied_through(history, day), day)
    )


@dataclass(frozen=True, slots=True)
class Restructuring:
    """A hardship plan the customer accepted on ``accepted_on``, value-dated ``value_date``."""

    kind: str
    periods: int
    value_date: date
    accepted_on: date
    principal: Fen  # re-planned


def restructure_account_record(
    terms: LoanTerms, line: Line, history: History, event: Restructuring
) -> AccountRecord:
    """The special-transaction record (特定交易, reason 50) of an accepted hardship plan, dated the day
    of the acceptance (sent in the batch of the next business day)."""
    day = event.accepted_on
    record = event_account_record(terms, line, history, day, ReportReason.RESTRUCTURED)
    state = state_at_close(history, day)
    assert state is not None  # event_account_record refused a contract not open on the day
    segments = record.as_segments()
    segments["AcctSpecTrstDspnSgmt"] = {
        "TrstType": event.kind,
        "TrstDate": day.isoformat(),
        "ValueDate": event.value_date.isoformat(),
        "TrstMonths": str(event.periods),
        "TrstAmt": str(event.principal),
        "NewDueDate": state.rows[-1].due_date.isoformat(),
        "NewRepayPrd": str(sum(1 for r in state.rows if r.due_date > event.value_date)),
    }
    return AccountRecord(day, ReportReason.RESTRUCTURED, _frozen(segments), record.built_from)


def write_message(
    records: Sequence[AccountRecord], batch_date: date, catalogue: Catalogue | None = None
) -> bytes:
    """The XML message file of one batch; refuses the whole file if any record is invalid."""
    cat = catalogue or load_catalogue()
    problems = [f"record {i}: {p}" for i, r in enumerate(records) for p in check_record(cat, r.as_segments())]
    if problems:
        raise ValidationError(
            f"bureau records do not match the catalogue: {problems[:5]}",
            code="BUREAU_RECORD_INVALID",
            problems=problems,
        )
    root = ET.Element(
        cat.message_tag,
        {"RecType": cat.record_type, "BatchDate": batch_date.isoformat(), "Count": str(len(records))},
    )
    for record in records:
        element = ET.SubElement(root, cat.record_tag)
        for seg_tag, fields in record.segments:
            seg = ET.SubElement(element, seg_tag)
            for field_tag, value in fields:
                ET.SubElement(seg, field_tag).text = value
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def check_message(data: bytes, catalogue: Catalogue | None = None) -> list[str]:
    """Read a message file back and list every departure from the catalogue (empty when valid)."""
    cat = catalogue or load_catalogue()
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        return [f"not well-formed XML: {error}"]
    problems: list[str] = []
    if root.tag != cat.message_tag:
        problems.append(f"root is {root.tag}, expected {cat.message_tag}")
    records = list(root)
    if root.get("Count") != str(len(records)):
        problems.append(f"Count says {root.get('Count')}, file holds {len(records)} records")
    for i, element in enumerate(records):
        if element.tag != cat.record_tag:
            problems.append(f"record {i}: element {element.tag}, expected {cat.record_tag}")
            continue
        segments = {seg.tag: {f.tag: f.text or "" for f in seg} for seg in element}
        problems.extend(f"record {i}: {p}" for p in check_record(cat, segments))
    return problems
