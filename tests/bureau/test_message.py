"""Bureau account records and the XML message file, checked against the field catalogue."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from lendcore.bureau.catalogue import check_record, load_catalogue, parse_catalogue
from lendcore.bureau.message import (
    Line,
    check_message,
    event_account_record,
    month_end_account_record,
    write_message,
)
from lendcore.core.book import LoanBook
from lendcore.core.bureau_status import ReportReason, month_end_record
from lendcore.core.contract import LoanState
from lendcore.core.errors import ConfigurationError, ValidationError
from lendcore.core.loan import PenaltyAccrual
from tests.core.loan_factory import book_many, disbursed, installment_terms

LINE = Line("lim_1", 5_000_000)


def _history(book: LoanBook) -> list[tuple[date, LoanState]]:
    return [(a.txn.value_date, a.state) for a in book.applied]


def _overdue_book() -> LoanBook:
    """Nothing paid: the 02-15 installment is 44 days past due at 03-31."""
    book = disbursed(installment_terms())
    first = date(2026, 2, 15)
    return book_many(book, *(PenaltyAccrual(f"t_c{i}", first + timedelta(days=i), 0) for i in range(45)))


def test_the_shipped_catalogue_has_the_five_account_segments_the_dispute_and_the_special_one() -> None:
    labels = [s.label for s in load_catalogue().segments]
    assert labels == [
        "基础段",
        "基本信息段",
        "授信额度信息段",
        "月度表现信息段",
        "非月度表现信息段",
        "异议处理段",
        "特定交易说明段",
    ]


def test_month_end_record_is_written_read_back_and_valid() -> None:
    book = _overdue_book()
    history = _history(book)
    month = month_end_record(history, date(2026, 3, 1))
    assert month is not None
    record = month_end_account_record(book.terms, LINE, history, month)
    segments = record.as_segments()
    assert segments["AcctMthlyBlgInfSgmt"]["AcctStatus"] == "2"
    assert segments["AcctMthlyBlgInfSgmt"]["Rpy24Status"].endswith("*12")
    assert segments["AcctMthlyBlgInfSgmt"]["FiveCate"] == "关注"
    assert segments["BsSgmt"]["RptDateCode"] == "30"
    assert segments["CreditLimSgmt"] == {"LineCode": "lim_1", "SubAcct": "ln_inst", "CreditLim": "5000000"}
    # built from the disbursement and the closes up to 03-31, not the later ones
    assert record.built_from.transactions_applied == 1 + (date(2026, 3, 31) - date(2026, 2, 15)).days + 1
    data = write_message([record], date(2026, 4, 1))
    assert check_message(data) == []
    assert b"<Rpy24Status>" in data and "关注".encode() in data


def test_event_record_of_the_opening() -> None:
    book = _overdue_book()
    record = event_account_record(book.terms, LINE, _history(book), date(2026, 1, 15), ReportReason.OPENED)
    assert record.as_segments()["AcctDbtInfSgmt"] == {
        "EventDate": "2026-01-15",
        "AcctStatus": "open",
        "AcctBal": "1200000",
        "TotOverd": "0",
    }
    assert check_message(write_message([record], date(2026, 1, 16))) == []
    with pytest.raises(ValidationError) as err:
        event_account_record(book.terms, LINE, _history(book), date(2026, 1, 14), ReportReason.OPENED)
    assert err.value.code == "BUREAU_RECORD_INVALID"


def test_the_schema_check_names_each_departure() -> None:
    cat = load_catalogue()
    problems = check_record(
        cat,
        {
            "BsSgmt": {"InfRecType": "211", "AcctCode": "ln_1", "RptDate": "2026-13-01", "CustCode": "c"},
            "AcctMthlyBlgInfSgmt": {"Rpy24Status": "NNX", "AcctBal": "-5", "Extra": "x"},
            "Nope": {},
        },
    )
    assert "BsSgmt.InfRecType: '211' not one of ['210']" in problems
    assert "BsSgmt.RptDate: '2026-13-01' not a YYYY-MM-DD date" in problems
    assert "BsSgmt.RptDateCode: required" in problems
    assert "AcctMthlyBlgInfSgmt.Rpy24Status: 'NNX' not 24 status characters" in problems
    assert "AcctMthlyBlgInfSgmt.AcctBal: '-5' not a non-negative whole number" in problems
    assert "AcctMthlyBlgInfSgmt.Extra: unknown field" in problems
    assert "Nope: unknown segment" in problems


def test_an_invalid_record_refuses_the_whole_file() -> None:
    book = _overdue_book()
    record = event_account_record(book.terms, LINE, _history(book), date(2026, 1, 15), ReportReason.OPENED)
    long_line = Line("x" * 61, 1)
    bad = event_account_record(book.terms, long_line, _history(book), date(2026, 1, 15), ReportReason.OPENED)
    with pytest.raises(ValidationError) as err:
        write_message([record, bad], date(2026, 1, 16))
    assert err.value.code == "BUREAU_RECORD_INVALID"
    assert err.value.details["problems"] == [f"record 1: CreditLimSgmt.LineCode: {'x' * 61!r} longer than 60"]


def test_check_message_reads_back_a_tampered_file() -> None:
    book = _overdue_book()
    record = event_account_record(book.terms, LINE, _history(book), date(2026, 1, 15), ReportReason.OPENED)
    data = write_message([record], date(2026, 1, 16))
    assert check_message(data.replace(b'Count="1"', b'Count="2"')) == ["Count says 2, file holds 1 records"]
    assert check_message(data.replace(b"<Cy>CNY</Cy>", b"<Cy>USD</Cy>")) == [
        "record 0: AcctBsInfSgmt.Cy: 'USD' not one of ['CNY']"
    ]
    assert check_message(b"<AcctMsg")[0].startswith("not well-formed XML")


@pytest.mark.parametrize(
    "text",
    [
        "message = 'M'\nrecord = 'R'\nrecord_type = '210'\n",  # no segments
        "message = 'M'\nrecord = 'R'\nrecord_type = '210'\n[[segment]]\ntag = 'S'\n"
        "fields = [{ tag = 'F', kind = 'code' }]\n",  # a code without values
        "message = 'M'\nrecord = 'R'\nrecord_type = '210'\n[[segment]]\ntag = 'S'\n"
        "fields = [{ tag = 'F', kind = 'text' }]\n",  # text without max
        "[[segment]]\ntag = 'S'\nfields = [{ tag = 'F', kind = 'date' }]\n",  # no message tag
        "not toml [",
    ],
)
def test_a_bad_catalogue_is_refused_at_load(text: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        parse_catalogue(text)
    assert err.value.code == "BUREAU_CATALOGUE_INVALID"
