"""The daily statement: a header, rows, and a trailer that proves the file is whole; every defect is
refused naming its line."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.payments.statement import (
    OurPayment,
    Statement,
    StatementError,
    StatementIssue,
    StatementRow,
    compare,
    parse_statement,
    suspense_of,
    taken,
    write_statement,
)

DAY = date(2026, 11, 22)
AT = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
ROWS = (
    StatementRow("ref_1", "pay_1", PaymentDirection.INBOUND, 150_000, PaymentState.SUCCEEDED, AT),
    StatementRow(
        "ref_2", "pay_2", PaymentDirection.OUTBOUND, 500_000, PaymentState.FAILED, AT, "CARD_FROZEN"
    ),
)
TEXT = write_statement(Statement("simulator", DAY, ROWS))


def test_the_format_is_a_header_a_column_line_rows_and_a_trailer_with_count_and_total() -> None:
    assert TEXT.splitlines() == [
        "LENDCORE-STATEMENT,1,simulator,2026-11-22",
        "channel_reference,payment_id,direction,amount_fen,state,settled_at,failure_code",
        "ref_1,pay_1,inbound,150000,succeeded,2026-11-22T01:30:00Z,",
        "ref_2,pay_2,outbound,500000,failed,2026-11-22T01:30:00Z,CARD_FROZEN",
        "TRAILER,2,650000",
    ]


rows = st.builds(
    StatementRow,
    channel_reference=st.from_regex(r"\Aref_[a-z0-9]{1,10}\Z"),
    payment_id=st.from_regex(r"\Apay_[A-Z0-9]{1,20}\Z"),
    direction=st.sampled_from(PaymentDirection),
    amount=st.integers(1, 10**10),
    state=st.sampled_from([PaymentState.SUCCEEDED, PaymentState.REVERSED]),
    settled_at=st.integers(0, 10**6).map(lambda s: AT + timedelta(seconds=s)),
)


@given(st.lists(rows, max_size=20, unique_by=lambda r: r.payment_id))
def test_any_statement_written_parses_back_to_itself(generated: list[StatementRow]) -> None:
    statement = Statement("simulator", DAY, tuple(generated))
    assert parse_statement(write_statement(statement)) == statement


def lines_with(index: int, replacement: str | None) -> str:
    lines = TEXT.splitlines()
    if replacement is None:
        del lines[index]
    else:
        lines[index] = replacement
    return "\n".join(lines) + "\n"


T, T_NAIVE = "2026-11-22T01:30:00Z", "2026-11-22T01:30:00"


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        ("", "STATEMENT_EMPTY", 0),
        (lines_with(0, "SOMETHING,1,simulator,2026-11-22"), "STATEMENT_HEADER_INVALID", 1),
        (lines_with(0, "LENDCORE-STATEMENT,2,simulator,2026-11-22"), "STATEMENT_HEADER_INVALID", 1),
        (lines_with(0, "LENDCORE-STATEMENT,1,simulator,2026-11-31"), "STATEMENT_HEADER_INVALID", 1),
        (lines_with(1, "reference,payment,amount"), "STATEMENT_COLUMNS_INVALID", 2),
        (lines_with(2, f"ref_1,pay_1,inbound,1500.00,succeeded,{T},"), "STATEMENT_ROW_INVALID", 3),
        (lines_with(2, f"ref_1,pay_1,inbound,0,succeeded,{T},"), "STATEMENT_ROW_INVALID", 3),
        (lines_with(2, f"ref_1,pay_1,sideways,150000,succeeded,{T},"), "STATEMENT_ROW_INVALID", 3),
        (lines_with(2, f"ref_1,pay_1,inbound,150000,processing,{T},"), "STATEMENT_ROW_INVALID", 3),
        (lines_with(2, "ref_1,pay_1,inbound,150000,succeeded,yesterday,"), "STATEMENT_ROW_INVALID", 3),
        (lines_with(2, f"ref_1,pay_1,inbound,150000,succeeded,{T_NAIVE},"), "STATEMENT_ROW_INVALID", 3),
        (lines_with(2, f"ref_1,pay_1,inbound,150000,succeeded,{T},CARD_FROZEN"),
         "STATEMENT_ROW_INVALID", 3),
        (lines_with(3, f"ref_2,pay_2,outbound,500000,failed,{T},"), "STATEMENT_ROW_INVALID", 4),
        (lines_with(2, "ref_1,pay_1,inbound"), "STATEMENT_ROW_INVALID", 3),
        (lines_with(3, f"ref_9,pay_1,inbound,500000,succeeded,{T},"), "STATEMENT_DUPLICATE_ROW", 4),
        (lines_with(4, None), "STATEMENT_TRAILER_MISSING", 4),
        (lines_with(4, "TRAILER,3,650000"), "STATEMENT_COUNT_MISMATCH", 5),
        (lines_with(4, "TRAILER,2,650001"), "STATEMENT_TOTAL_MISMATCH", 5),
        (lines_with(4, "TRAILER,2"), "STATEMENT_TRAILER_INVALID", 5),
        (lines_with(4, "TRAILER,two,650000"), "STATEMENT_ROW_INVALID", 5),
        (TEXT + f"ref_3,pay_3,inbound,1,succeeded,{T},\n", "STATEMENT_AFTER_TRAILER", 6),
    ],
)  # fmt: skip
def test_a_defective_statement_is_refused_naming_the_line(text: str, code: str, line: int) -> None:
    with pytest.raises(StatementError) as caught:
        parse_statement(text)
    assert (caught.value.code, caught.value.details["line"]) == (code, line)
    if line:
        assert caught.value.message.startswith(f"statement line {line}:")


def test_reconciliation_resolves_open_payments_and_lists_every_kind_of_discrepancy() -> None:
    statement = Statement(
        "simulator",
        DAY,
        (
            StatementRow(
                "ref_1", "pay_1", PaymentDirection.INBOUND, 100, PaymentState.SUCCEEDED, AT
            ),  # matches
            StatementRow(
                "ref_2", "pay_2", PaymentDirection.INBOUND, 200, PaymentState.SUCCEEDED, AT
            ),  # resolves
            StatementRow(
                "ref_3", "pay_3", PaymentDirection.INBOUND, 301, PaymentState.SUCCEEDED, AT
            ),  # amount
            StatementRow(
                "ref_4", "pay_4", PaymentDirection.INBOUND, 400, PaymentState.SUCCEEDED, AT
            ),  # state
            StatementRow(
                "ref_x", "pay_x", PaymentDirection.INBOUND, 999, PaymentState.SUCCEEDED, AT
            ),  # extra
        ),
    )
    ours = {
        "pay_1": OurPayment("pay_1", "ref_1", 100, PaymentState.SUCCEEDED),
        "pay_2": OurPayment("pay_2", "ref_2", 200, PaymentState.PROCESSING),
        "pay_3": OurPayment("pay_3", "ref_3", 300, PaymentState.SUCCEEDED),
        "pay_4": OurPayment("pay_4", "ref_4", 400, PaymentState.FAILED),
        "pay_5": OurPayment("pay_5", "ref_5", 500, PaymentState.SUCCEEDED),  # missing
    }
    result = compare(statement, ours, expected=["pay_1", "pay_3", "pay_5"])
    assert result.matched == 1
    assert [row.payment_id for row in result.resolutions] == ["pay_2"]
    assert {(d.issue, d.payment_id) for d in result.discrepancies} == {
        (StatementIssue.AMOUNT_MISMATCH, "pay_3"),
        (StatementIssue.STATE_MISMATCH, "pay_4"),
        (StatementIssue.EXTRA, "pay_x"),
        (StatementIssue.MISSING, "pay_5"),
    }
    assert (result.matched_amount, result.resolved_amount, result.unexplained_amount) == (100, 200, 1_700)
    assert result.discrepancy_amounts() == {
        StatementIssue.AMOUNT_MISMATCH: (1, 301),  # the statement's amount
        StatementIssue.STATE_MISMATCH: (1, 400),
        StatementIssue.EXTRA: (1, 999),
        StatementIssue.MISSING: (1, 500),  # ours: on no row, so not in the statement's total
    }


our_states = st.sampled_from(list(PaymentState))


@given(
    st.lists(rows, max_size=20, unique_by=lambda r: r.payment_id),
    st.data(),
)
def test_every_fen_of_a_statement_is_matched_resolved_or_unexplained(
    generated: list[StatementRow], data: st.DataObject
) -> None:
    """Whatever we hold of each row (nothing, another amount, any state), the statement's total is
    split exactly between matched, resolved and discrepancy rows, and each row is counted once."""
    ours = {}
    for row in generated:
        known = data.draw(st.booleans())
        if known:
            amount = data.draw(st.sampled_from([row.amount, row.amount + 1]))
            ours[row.payment_id] = OurPayment(
                row.payment_id, row.channel_reference, amount, data.draw(our_states)
            )
    statement = Statement("simulator", DAY, tuple(generated))
    result = compare(statement, ours)
    assert result.matched_amount + result.resolved_amount + result.unexplained_amount == statement.total
    on_rows = [d for d in result.discrepancies if d.issue is not StatementIssue.MISSING]
    assert result.matched + len(result.resolutions) + len(on_rows) == len(generated)


def test_channel_suspense_holds_what_the_channel_took_beyond_what_we_book() -> None:
    """A row we do not know, a success we hold as failed, a success for more than ours: suspense. A
    failed row, an outbound one and a reversal we lack took nothing from a payer (or less than we
    booked): none."""
    inbound, outbound = PaymentDirection.INBOUND, PaymentDirection.OUTBOUND
    ok, failed, reversed_ = PaymentState.SUCCEEDED, PaymentState.FAILED, PaymentState.REVERSED
    cases = [
        (StatementRow("r", "p", inbound, 500, ok, AT), None, 500),
        (StatementRow("r", "p", inbound, 500, ok, AT), OurPayment("p", "r", 500, failed), 500),
        (StatementRow("r", "p", inbound, 500, ok, AT), OurPayment("p", "r", 500, reversed_), 500),
        (StatementRow("r", "p", inbound, 520, ok, AT), OurPayment("p", "r", 500, ok), 20),
        (StatementRow("r", "p", inbound, 480, ok, AT), OurPayment("p", "r", 500, ok), 0),
        (StatementRow("r", "p", inbound, 500, reversed_, AT), OurPayment("p", "r", 500, ok), 0),
        (StatementRow("r", "p", inbound, 500, failed, AT, "X"), None, 0),
        (StatementRow("r", "p", outbound, 500, ok, AT), None, 0),
    ]
    for row, our, expected in cases:
        assert suspense_of(row, our) == expected, (row, our)


@given(st.lists(rows, max_size=20, unique_by=lambda r: r.payment_id), st.data())
def test_every_fen_a_channel_took_is_booked_by_a_payment_or_held_in_suspense_never_both(
    generated: list[StatementRow], data: st.DataObject
) -> None:
    """Whatever we hold of each row: what the channel took from payers is booked by our payment (as it
    stands, or once the row resolves it) or held in suspense; suspense is only on discrepancy rows and
    never holds money a payment of ours books too."""
    ours = {}
    for row in generated:
        if data.draw(st.booleans()):
            amount = data.draw(st.sampled_from([row.amount, row.amount + 1, max(1, row.amount - 1)]))
            ours[row.payment_id] = OurPayment(
                row.payment_id, row.channel_reference, amount, data.draw(our_states)
            )
    result = compare(Statement("simulator", DAY, tuple(generated)), ours)
    resolved = {row.payment_id: row.state for row in result.resolutions}
    suspense = {d.payment_id: d.suspense for d in result.discrepancies}
    for row in generated:
        our = ours.get(row.payment_id)
        state = resolved.get(row.payment_id, our.state if our else None)
        booked_ever = our.amount if our and state in (PaymentState.SUCCEEDED, PaymentState.REVERSED) else 0
        booked_now = our.amount if our and state is PaymentState.SUCCEEDED else 0
        held = suspense.get(row.payment_id, 0)
        assert 0 <= held <= taken(row)
        assert taken(row) - held <= booked_ever  # not lost
        if held:
            assert held + booked_now == taken(row)  # not twice
    assert result.suspense_amount == sum(suspense.values()) <= result.unexplained_amount
