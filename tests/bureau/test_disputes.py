"""Disputes (异议) of a stored bureau record: opened, answered within 20 days, and an upheld one's
correction or deletion sent in the next batch after the answer (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.bureau.batch import build_batch, store_batch
from lendcore.bureau.disputes import answer_dispute, open_dispute, overdue_disputes
from lendcore.bureau.message import check_message
from lendcore.core.errors import LendcoreError
from lendcore.store.engine import unit_of_work
from lendcore.store.models_post import BureauDispute, BureauRecord
from tests.servicing.support import do_draw, open_line

DRAWN = date(2026, 3, 2)


def _stored_opening(factory: sessionmaker[Session]) -> int:
    """A contract drawn 03-02 and its opening record stored in the batch of 03-03."""
    _, line = open_line(factory, product="premium", on=DRAWN)
    do_draw(factory, line, 1_200_000, 12, on=DRAWN)
    with unit_of_work(factory) as session:
        store_batch(session, build_batch(session, date(2026, 3, 3)))
        return session.scalars(select(BureauRecord.id)).one()


def _code(error: pytest.ExceptionInfo[LendcoreError]) -> str:
    return error.value.code


def test_a_dispute_is_due_in_20_days_and_shows_late_when_unanswered(
    session_factory: sessionmaker[Session],
) -> None:
    record = _stored_opening(session_factory)
    with unit_of_work(session_factory) as session:
        opened = open_dispute(session, record, date(2026, 3, 10), "I never borrowed on 03-02")
    assert (opened.due_on, opened.status, opened.late) == (date(2026, 3, 30), "open", False)
    with unit_of_work(session_factory, read_only=True) as session:
        assert overdue_disputes(session, date(2026, 3, 30)) == []
        [late] = overdue_disputes(session, date(2026, 3, 31))
    assert (late.dispute_id, late.late) == (opened.dispute_id, True)
    with pytest.raises(LendcoreError) as err, unit_of_work(session_factory) as session:
        open_dispute(session, record, date(2026, 3, 11), "again")
    assert _code(err) == "DISPUTE_ALREADY_OPEN"


def test_an_upheld_deletion_goes_into_the_next_batch_once(session_factory: sessionmaker[Session]) -> None:
    record = _stored_opening(session_factory)
    with unit_of_work(session_factory) as session:
        dispute = open_dispute(session, record, date(2026, 3, 10), "not mine").dispute_id
        answered = answer_dispute(session, dispute, date(2026, 3, 20), "deletion", "identity theft confirmed")
    assert (answered.status, answered.late) == ("answered", False)
    with unit_of_work(session_factory, read_only=True) as session:
        assert build_batch(session, date(2026, 3, 20)).disputes == ()  # the answer's own day: next batch
    with unit_of_work(session_factory) as session:
        batch = build_batch(session, date(2026, 3, 23))
        assert batch.disputes == (dispute,)
        [deletion] = [r.as_segments() for r in batch.records]
        assert deletion["DsptSgmt"] == {
            "Action": "deletion",
            "OrigRptDate": "2026-03-02",
            "OrigRptDateCode": "10",
            "DsptCode": str(dispute),
        }
        assert check_message(batch.message()) == []
        store_batch(session, batch)
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.get(BureauDispute, dispute).reported_in == date(2026, 3, 23)  # type: ignore[union-attr]
        kinds = session.scalars(select(BureauRecord.kind).order_by(BureauRecord.id)).all()
        assert kinds == ["event", "deletion"]
        assert build_batch(session, date(2026, 3, 24)).disputes == ()


def test_an_upheld_correction_is_the_record_rebuilt_from_the_replay(
    session_factory: sessionmaker[Session],
) -> None:
    record = _stored_opening(session_factory)
    with unit_of_work(session_factory) as session:
        dispute = open_dispute(session, record, date(2026, 3, 10), "wrong balance").dispute_id
        answer_dispute(session, dispute, date(2026, 3, 11), "correction", "rebuilt")
        batch = build_batch(session, date(2026, 3, 12))
    [correction] = [r.as_segments() for r in batch.records]
    assert correction["DsptSgmt"]["Action"] == "correction"
    assert correction["AcctDbtInfSgmt"]["AcctBal"] == "1200000"


def test_dispute_refusals(session_factory: sessionmaker[Session]) -> None:
    record = _stored_opening(session_factory)
    cases = [
        (lambda s: open_dispute(s, 999_999, date(2026, 3, 10), "x"), "BUREAU_RECORD_NOT_FOUND"),
        (lambda s: open_dispute(s, record, date(2026, 3, 10), " "), "DISPUTE_CLAIM_REQUIRED"),
        (lambda s: open_dispute(s, record, date(2026, 3, 1), "x"), "INVALID_DATE_RANGE"),
        (lambda s: answer_dispute(s, 999_999, date(2026, 3, 10), "none", "x"), "DISPUTE_NOT_FOUND"),
        (lambda s: answer_dispute(s, 1, date(2026, 3, 10), "shred", "x"), "INVALID_DISPUTE_ACTION"),
        (lambda s: answer_dispute(s, 1, date(2026, 3, 10), "none", ""), "DISPUTE_ANSWER_REQUIRED"),
    ]
    for call, code in cases:
        with pytest.raises(LendcoreError) as err, unit_of_work(session_factory) as session:
            call(session)
        assert _code(err) == code
    with unit_of_work(session_factory) as session:
        dispute = open_dispute(session, record, date(2026, 3, 10), "x").dispute_id
        answer_dispute(session, dispute, date(2026, 4, 5), "none", "the record is right")
    with pytest.raises(LendcoreError) as err, unit_of_work(session_factory) as session:
        answer_dispute(session, dispute, date(2026, 4, 6), "none", "again")
    assert _code(err) == "DISPUTE_ALREADY_ANSWERED"
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalars(select(BureauDispute.status)).all() == ["answered"]
