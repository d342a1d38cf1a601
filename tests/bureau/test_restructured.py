"""A restructured contract is reported as restructured: a special-transaction record (特定交易, reason
50) in the batch of the first business day after the customer accepted the plan, and month-end records
from then on carry the restructure flag and the new due date (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.approvals.proposals import ProposeRequest, Staff, approve, propose
from lendcore.auth.principal import StaffRole
from lendcore.batch.close import run_daily_close
from lendcore.bureau.batch import build_batch, store_batch
from lendcore.bureau.catalogue import check_record, load_catalogue
from lendcore.bureau.disputes import answer_dispute, open_dispute
from lendcore.bureau.message import AccountRecord, check_message
from lendcore.core.bureau_status import event_report_date
from lendcore.servicing.hardship import DecideOfferRequest, accept_offer
from lendcore.store.engine import unit_of_work
from lendcore.store.models_post import BureauRecord
from tests.servicing.support import do_draw, open_line

DRAWN = date(2026, 3, 2)  # premium, 12 months, first due 04-02
OFFERED = date(2026, 4, 20)  # one installment 18 days past due
ACCEPTED = date(2026, 4, 23)  # a Thursday: reported on Friday 04-24
OPERATOR = Staff("stf_operator", frozenset({StaffRole.OPERATOR}))
RISK = Staff("stf_risk", frozenset({StaffRole.RISK}))


def _at(on: date) -> datetime:
    return datetime(on.year, on.month, on.day, 3, tzinfo=UTC)


def _restructured(factory: sessionmaker[Session]) -> tuple[str, dict[str, object]]:
    customer, line = open_line(factory, product="premium", on=DRAWN)
    contract = str(do_draw(factory, line, 1_200_000, 12, on=DRAWN, method="equal-installment")["contract_id"])
    run_daily_close(factory, date(2026, 4, 19))
    payload = {"kind": "extension", "periods": 3}
    with unit_of_work(factory) as session:
        proposal = propose(
            session, ProposeRequest("hardship-plan", contract, "illness", payload), OPERATOR, now=_at(OFFERED)
        )
    with unit_of_work(factory) as session:
        offer = approve(session, proposal.id, RISK, now=_at(OFFERED)).result
    assert offer is not None
    run_daily_close(factory, date(2026, 4, 22))
    with unit_of_work(factory) as session:
        accept_offer(session, DecideOfferRequest(str(offer["id"]), customer, ACCEPTED, "acc-1"))
    return contract, offer


def _segments(record: AccountRecord) -> dict[str, dict[str, str]]:
    return record.as_segments()


def test_the_batch_after_acceptance_reports_the_restructure(session_factory: sessionmaker[Session]) -> None:
    contract, offer = _restructured(session_factory)
    plan = offer["plan"]
    assert isinstance(plan, dict)
    report_day = event_report_date(ACCEPTED)
    assert report_day == date(2026, 4, 24)
    with unit_of_work(session_factory, read_only=True) as session:
        before = build_batch(session, ACCEPTED, notices={contract: DRAWN})
        batch = build_batch(session, report_day, notices={contract: DRAWN})
    assert all(r.reason.value != "50" for r in before.records)
    [record] = [r for r in batch.records if r.reason.value == "50"]
    segments = _segments(record)
    special = segments["AcctSpecTrstDspnSgmt"]
    assert special == {
        "TrstType": "extension",
        "TrstDate": "2026-04-23",
        "ValueDate": "2026-04-20",
        "TrstMonths": "3",
        "TrstAmt": str(plan["principal"]),
        "NewDueDate": plan["schedule"][-1]["due_date"],
        "NewRepayPrd": str(len(plan["schedule"])),
    }
    assert segments["AcctBsInfSgmt"]["DueDate"] == plan["schedule"][-1]["due_date"] == "2027-06-02"
    assert segments["BsSgmt"]["RptDateCode"] == "50"
    assert check_record(load_catalogue(), segments) == []
    assert check_message(batch.message()) == []


def test_month_end_records_after_the_restructure_carry_the_flag(
    session_factory: sessionmaker[Session],
) -> None:
    contract, _ = _restructured(session_factory)
    run_daily_close(session_factory, date(2026, 5, 1))
    with unit_of_work(session_factory, read_only=True) as session:
        april = build_batch(session, event_report_date(date(2026, 4, 30)), notices={contract: DRAWN})
        march = build_batch(session, event_report_date(date(2026, 3, 31)), notices={contract: DRAWN})
    [april_end] = [r for r in april.records if r.reason.value == "30"]
    monthly = _segments(april_end)["AcctMthlyBlgInfSgmt"]
    assert monthly["RstrcFlag"] == "1"
    assert _segments(april_end)["AcctBsInfSgmt"]["RepayPrd"] == str(1 + 11)  # the paid-out 1st + 11 planned
    [march_end] = [r for r in march.records if r.reason.value == "30"]
    assert "RstrcFlag" not in _segments(march_end)["AcctMthlyBlgInfSgmt"]
    assert check_message(april.message()) == []


def test_a_corrected_restructure_record_keeps_its_special_segment(
    session_factory: sessionmaker[Session],
) -> None:
    contract, _ = _restructured(session_factory)
    report_day = event_report_date(ACCEPTED)
    run_daily_close(session_factory, report_day)
    with unit_of_work(session_factory) as session:
        store_batch(session, build_batch(session, report_day, notices={contract: DRAWN}))
        record = session.scalars(select(BureauRecord).where(BureauRecord.reason == "50")).one()
        dispute = open_dispute(session, record.id, report_day, "the months are wrong").dispute_id
        answer_dispute(session, dispute, report_day, "correction", "rebuilt from the replay")
    with unit_of_work(session_factory, read_only=True) as session:
        batch = build_batch(session, date(2026, 4, 27), notices={contract: DRAWN})
    [correction] = [r.as_segments() for r in batch.records if "DsptSgmt" in r.as_segments()]
    assert correction["DsptSgmt"]["Action"] == "correction"
    assert correction["DsptSgmt"]["OrigRptDateCode"] == "50"
    assert correction["AcctSpecTrstDspnSgmt"]["TrstMonths"] == "3"
    assert check_message(batch.message()) == []
