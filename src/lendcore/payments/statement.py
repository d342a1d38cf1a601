"""The channel's daily statement file (对账单) and its comparison with our records.

Format (UTF-8 CSV, ``\\n`` line ends, no blank lines)::

    LENDCORE-STATEMENT,1,<channel>,<statement date YYYY-MM-DD>
    channel_reference,payment_id,direction,amount_fen,state,settled_at,failure_code
    sim_3f…,pay_01J…,inbound,150000,succeeded,2026-11-22T01:30:05Z,
    sim_9a…,pay_01J…,outbound,500000,failed,2026-11-22T02:10:00Z,CARD_FROZEN
    TRAILER,<number of rows>,<total fen of all rows>

* line 1 names the format and its version, the channel and the day covered (Asia/Shanghai);
* line 2 is the column header, exactly as above;
* one row per payment the channel finished that day: ``state`` is ``succeeded``, ``failed`` or
  ``reversed``; ``amount_fen`` a positive whole number; ``settled_at`` ISO 8601 UTC; ``failure_code``
  empty unless failed; a payment id appears at most once;
* the last line is the trailer: the row count and the sum of ``amount_fen`` over every row, so a
  truncated file is detected.

:func:`parse_statement` refuses anything else with a :class:`StatementError` naming the line (and the
column); :func:`compare` is the pure reconciliation against our payments.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from lendcore.core.errors import ValidationError
from lendcore.core.money import MAX_AMOUNT, Fen
from lendcore.payments import wire
from lendcore.payments.state import TERMINAL, PaymentDirection, PaymentState, Verdict, decide

MAGIC: Final = "LENDCORE-STATEMENT"
VERSION: Final = "1"
COLUMNS: Final = (
    "channel_reference",
    "payment_id",
    "direction",
    "amount_fen",
    "state",
    "settled_at",
    "failure_code",
)
TRAILER: Final = "TRAILER"
ROW_STATES: Final = frozenset(TERMINAL)


class StatementError(ValidationError):
    """A statement file that does not follow the format; ``line`` (1-based) says where."""

    default_code = "STATEMENT_INVALID"


@dataclass(frozen=True, slots=True)
class StatementRow:
    channel_reference: str
    payment_id: str
    direction: PaymentDirection
    amount: Fen
    state: PaymentState
    settled_at: datetime
    failure_code: str | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    channel: str
    statement_date: date
    rows: tuple[StatementRow, ...]

    @property
    def total(self) -> Fen:
        return sum(row.amount for row in self.rows)


def write_statement(statement: Statement) -> str:
    """The file text of ``statement`` (what a channel publishes)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([MAGIC, VERSION, statement.channel, statement.statement_date.isoformat()])
    writer.writerow(COLUMNS)
    for row in statement.rows:
        writer.writerow(
            [
                row.channel_reference,
                row.payment_id,
                row.direction.value,
                row.amount,
                row.state.value,
                wire.format_instant(row.settled_at),
                row.failure_code or "",
            ]
        )
    writer.writerow([TRAILER, len(statement.rows), statement.total])
    return out.getvalue()


def _fail(line: int, message: str, code: str) -> StatementError:
    return StatementError(f"statement line {line}: {message}", code=code, line=line)


def _header(line: int, fields: list[str]) -> tuple[str, date]:
    if len(fields) != 4 or fields[0] != MAGIC:
        raise _fail(line, f"expected '{MAGIC},{VERSION},<channel>,<date>'", "STATEMENT_HEADER_INVALID")
    if fields[1] != VERSION:
        raise _fail(
            line, f"unsupported version {fields[1]!r} (expected {VERSION})", "STATEMENT_HEADER_INVALID"
        )
    if not fields[2]:
        raise _fail(line, "the channel is empty", "STATEMENT_HEADER_INVALID")
    try:
        day = date.fromisoformat(fields[3])
    except ValueError:
        raise _fail(line, f"bad statement date {fields[3]!r}", "STATEMENT_HEADER_INVALID") from None
    return fields[2], day


def _amount(line: int, text: str, column: str) -> int:
    if not text.isdigit() or len(text) > 19:
        raise _fail(line, f"{column} {text!r} is not a whole number of fen", "STATEMENT_ROW_INVALID")
    return int(text)


def _row(line: int, fields: list[str]) -> StatementRow:
    if len(fields) != len(COLUMNS):
        raise _fail(line, f"expected {len(COLUMNS)} columns, found {len(fields)}", "STATEMENT_ROW_INVALID")
    reference, payment_id, direction, amount_text, state_text, settled_text, failure_code = fields
    for column, value in (("channel_reference", reference), ("payment_id", payment_id)):
        if not value or len(value) > 64:
            raise _fail(line, f"{column} must be 1-64 characters", "STATEMENT_ROW_INVALID")
    if direction not in {d.value for d in PaymentDirection}:
        raise _fail(line, f"direction {direction!r} is not inbound or outbound", "STATEMENT_ROW_INVALID")
    amount = _amount(line, amount_text, "amount_fen")
    if not 0 < amount <= MAX_AMOUNT:
        raise _fail(line, f"amount_fen {amount} is outside 1..{MAX_AMOUNT}", "STATEMENT_ROW_INVALID")
    if state_text not in {s.value for s in ROW_STATES}:
        raise _fail(
            line, f"state {state_text!r} is not succeeded, failed or reversed", "STATEMENT_ROW_INVALID"
        )
    state = PaymentState(state_text)
    try:
        settled_at = wire.parse_instant(settled_text, "settled_at")
    except ValidationError:
        settled_at = None
    if settled_at is None:
        raise _fail(line, f"settled_at {settled_text!r} is not an ISO 8601 instant", "STATEMENT_ROW_INVALID")
    if (state is PaymentState.FAILED) != bool(failure_code):
        raise _fail(line, "failure_code is required for a failed row and only then", "STATEMENT_ROW_INVALID")
    return StatementRow(
        reference, payment_id, PaymentDirection(direction), amount, state, settled_at, failure_code or None
    )


def parse_statement(text: str) -> Statement:
    """Parse a statement file, checking the header, every row and the trailer's count and total."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise StatementError("the statement is empty", code="STATEMENT_EMPTY", line=0)
    records = list(csv.reader(lines, strict=True))
    channel, day = _header(1, records[0])
    if len(records) < 2 or tuple(records[1]) != COLUMNS:
        raise _fail(2, f"expected the column header {','.join(COLUMNS)}", "STATEMENT_COLUMNS_INVALID")
    rows: list[StatementRow] = []
    seen: dict[str, int] = {}
    for number, fields in enumerate(records[2:], start=3):
        if fields and fields[0] == TRAILER:
            return _trailer(number, fields, len(records), Statement(channel, day, tuple(rows)))
        if not fields:
            raise _fail(number, "blank line", "STATEMENT_ROW_INVALID")
        row = _row(number, fields)
        if row.payment_id in seen:
            raise _fail(
                number,
                f"payment {row.payment_id} already on line {seen[row.payment_id]}",
                "STATEMENT_DUPLICATE_ROW",
            )
        seen[row.payment_id] = number
        rows.append(row)
    raise _fail(len(records), "no trailer line (the file may be truncated)", "STATEMENT_TRAILER_MISSING")


def _trailer(line: int, fields: list[str], total_lines: int, statement: Statement) -> Statement:
    if line != total_lines:
        raise _fail(line + 1, "lines after the trailer", "STATEMENT_AFTER_TRAILER")
    if len(fields) != 3:
        raise _fail(line, "expected 'TRAILER,<rows>,<total fen>'", "STATEMENT_TRAILER_INVALID")
    count = _amount(line, fields[1], "row count")
    total = _amount(line, fields[2], "total fen")
    if count != len(statement.rows):
        raise _fail(
            line,
            f"the trailer counts {count} rows, the file has {len(statement.rows)}",
            "STATEMENT_COUNT_MISMATCH",
        )
    if total != statement.total:
        raise _fail(
            line,
            f"the trailer total is {total} fen, the rows add up to {statement.total}",
            "STATEMENT_TOTAL_MISMATCH",
        )
    return statement


# --- reconciliation --------------------------------------------------------------------------------


class StatementIssue(StrEnum):
    MISSING = "statement_missing"  # we hold it finished that day; the statement does not list it
    EXTRA = "statement_extra"  # the statement lists a payment we do not have
    AMOUNT_MISMATCH = "statement_amount_mismatch"
    STATE_MISMATCH = "statement_state_mismatch"  # contradicts our terminal state (see state.decide)


@dataclass(frozen=True, slots=True)
class OurPayment:
    payment_id: str
    channel_reference: str | None
    amount: Fen
    state: PaymentState


@dataclass(frozen=True, slots=True)
class StatementDiscrepancy:
    issue: StatementIssue
    payment_id: str
    channel_reference: str | None
    detail: str
    #: the statement row's amount; for ``statement_missing`` (no row), our payment's
    amount: Fen = 0
    #: what of the row's money no payment of ours books: held in channel suspense (:func:`suspense_of`)
    suspense: Fen = 0


@dataclass(frozen=True, slots=True)
class Reconciliation:
    #: rows that tell us the fate of a payment we still hold open (apply them, source ``statement``)
    resolutions: tuple[StatementRow, ...]
    discrepancies: tuple[StatementDiscrepancy, ...]
    matched: int
    matched_amount: Fen = 0

    @property
    def resolved_amount(self) -> Fen:
        return sum(row.amount for row in self.resolutions)

    def discrepancy_amounts(self) -> dict[StatementIssue, tuple[int, Fen]]:
        """Per issue: how many, and their fen (the statement's amount; ours for a missing row)."""
        totals: dict[StatementIssue, tuple[int, Fen]] = {}
        for item in self.discrepancies:
            count, amount = totals.get(item.issue, (0, 0))
            totals[item.issue] = (count + 1, amount + item.amount)
        return totals

    @property
    def unexplained_amount(self) -> Fen:
        """The fen of statement rows that are a discrepancy (every issue but ``statement_missing``,
        which is ours and on no row): ``matched + resolved + unexplained == statement.total``."""
        return sum(d.amount for d in self.discrepancies if d.issue is not StatementIssue.MISSING)

    @property
    def suspense_amount(self) -> Fen:
        """The fen the channel took that no payment of ours books (part of the unexplained)."""
        return sum(d.suspense for d in self.discrepancies)


def taken(row: StatementRow) -> Fen:
    """The fen the channel says it took from a payer on ``row``: an inbound success's amount, else 0."""
    inbound = row.direction is PaymentDirection.INBOUND
    return row.amount if inbound and row.state is PaymentState.SUCCEEDED else 0


def suspense_of(row: StatementRow, our: OurPayment | None) -> Fen:
    """What of a discrepancy row's money goes to channel suspense (渠道待查款): what the channel took
    less what our payment books (its amount once succeeded, else nothing), when positive. A row we do
    not know, a success we hold as failed, a success for more than ours: the money is at the channel,
    on no contract, so it is held apart until a person applies it or has it returned. Less taken than
    we booked (a reversal we lack, a smaller amount) is a shortfall: raised, never suspense."""
    booked = our.amount if our is not None and our.state is PaymentState.SUCCEEDED else 0
    return max(0, taken(row) - booked)


def compare(
    statement: Statement, ours: Mapping[str, OurPayment], expected: Iterable[str] = ()
) -> Reconciliation:
    """Compare the statement with our payments (``ours``, by payment id: every payment a row might
    name). ``expected`` are the ids we hold as finished on the statement's day: each must be listed."""
    resolutions: list[StatementRow] = []
    issues: list[StatementDiscrepancy] = []
    matched = matched_amount = 0
    listed = {row.payment_id for row in statement.rows}
    for row in statement.rows:
        our = ours.get(row.payment_id)
        if our is None:
            detail = f"{row.state} {row.amount} fen, unknown to us"
            issues.append(_issue(StatementIssue.EXTRA, row, detail, None))
            continue
        if row.amount != our.amount:
            detail = f"statement {row.amount}, ours {our.amount}"
            issues.append(_issue(StatementIssue.AMOUNT_MISMATCH, row, detail, our))
            continue
        verdict, _kind = decide(our.state, row.state)
        if verdict is Verdict.APPLY and our.state not in TERMINAL:
            resolutions.append(row)
        elif verdict is Verdict.DISCREPANCY or verdict is Verdict.APPLY:
            # APPLY on a terminal state is succeeded → reversed: a reversal we have not recorded
            detail = f"statement {row.state}, ours {our.state}"
            issues.append(_issue(StatementIssue.STATE_MISMATCH, row, detail, our))
        else:
            matched += 1
            matched_amount += row.amount
    for payment_id in sorted(set(expected) - listed):
        our = ours.get(payment_id)
        reference = our.channel_reference if our else None
        detail = f"ours {our.state} {our.amount} fen" if our else "not listed"
        amount = our.amount if our else 0
        issues.append(StatementDiscrepancy(StatementIssue.MISSING, payment_id, reference, detail, amount))
    return Reconciliation(tuple(resolutions), tuple(issues), matched, matched_amount)


def _issue(
    issue: StatementIssue, row: StatementRow, detail: str, our: OurPayment | None
) -> StatementDiscrepancy:
    reference = row.channel_reference
    return StatementDiscrepancy(issue, row.payment_id, reference, detail, row.amount, suspense_of(row, our))


def rows_of(statements: Sequence[Statement]) -> list[StatementRow]:
    return [row for statement in statements for row in statement.rows]
