"""Collection contacts through the store (SQLite and PostgreSQL): judged at contact time, every
attempt logged, refused ones too; the queue by bucket from the replayed state."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.collection.contacts import ContactRequest, record_contact
from lendcore.collection.queue import collection_queue
from lendcore.core.collection_rules import SHANGHAI, Channel, QueueBucket
from lendcore.core.errors import LendcoreError
from lendcore.store.engine import unit_of_work
from lendcore.store.models_post import CollectionContact
from tests.servicing.support import do_draw, new_customer, open_line


def _debtor(factory: sessionmaker[Session]) -> str:
    with unit_of_work(factory) as session:
        return new_customer(session)


def _contact(factory: sessionmaker[Session], debtor: str, at: datetime, **kw: object) -> dict[str, object]:
    request = ContactRequest(
        debtor_id=debtor, channel=kw.pop("channel", Channel.CALL), at=at, agent="agent_7", **kw
    )  # type: ignore[arg-type]
    with unit_of_work(factory) as session:
        return record_contact(session, request).to_json()


def _log(factory: sessionmaker[Session], debtor: str) -> list[tuple[str, str | None]]:
    with unit_of_work(factory, read_only=True) as session:
        rows = session.scalars(
            select(CollectionContact)
            .where(CollectionContact.debtor_id == debtor)
            .order_by(CollectionContact.id)
        )
        return [(r.outcome, r.refusal) for r in rows]


def test_a_call_at_22_30_shanghai_is_refused_and_logged(session_factory: sessionmaker[Session]) -> None:
    debtor = _debtor(session_factory)
    result = _contact(session_factory, debtor, datetime(2026, 3, 2, 22, 30, tzinfo=SHANGHAI))
    assert (result["outcome"], result["refusal"]) == ("refused", "QUIET_HOURS")
    assert _log(session_factory, debtor) == [("refused", "QUIET_HOURS")]


def test_the_fourth_connected_call_of_the_shanghai_day_is_refused(
    session_factory: sessionmaker[Session],
) -> None:
    debtor = _debtor(session_factory)
    morning = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
    _contact(session_factory, debtor, morning, connected=False)  # unanswered: does not count
    for i in range(3):
        assert _contact(session_factory, debtor, morning + timedelta(hours=i + 1))["outcome"] == "allowed"
    fourth = _contact(session_factory, debtor, morning + timedelta(hours=5))
    assert (fourth["outcome"], fourth["refusal"], fourth["connected_calls_today"]) == (
        "refused",
        "CALL_LIMIT",
        3,
    )
    assert (
        _contact(session_factory, debtor, morning + timedelta(hours=6), channel=Channel.SMS)["outcome"]
        == "allowed"
    )
    # the next Shanghai day starts afresh
    assert _contact(session_factory, debtor, morning + timedelta(days=1))["outcome"] == "allowed"
    assert [o for o, _ in _log(session_factory, debtor)] == ["allowed"] * 4 + [
        "refused",
        "allowed",
        "allowed",
    ]


def test_a_third_party_is_never_contacted(session_factory: sessionmaker[Session]) -> None:
    debtor = _debtor(session_factory)
    result = _contact(session_factory, debtor, datetime(2026, 3, 2, 10, tzinfo=SHANGHAI), to_debtor=False)
    assert result["refusal"] == "NOT_DEBTOR"


def test_an_unknown_debtor_writes_nothing(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(LendcoreError) as err:
        _contact(session_factory, "cus_nobody", datetime(2026, 3, 2, 10, tzinfo=SHANGHAI))
    assert err.value.code == "CUSTOMER_NOT_FOUND"
    assert _log(session_factory, "cus_nobody") == []


def test_the_queue_buckets_overdue_contracts_by_dpd(session_factory: sessionmaker[Session]) -> None:
    _, line = open_line(session_factory, product="premium", on=date(2026, 3, 1))
    drawn = do_draw(session_factory, line, 1_200_000, 12, on=date(2026, 3, 1))
    with unit_of_work(session_factory, read_only=True) as session:
        assert collection_queue(session, date(2026, 4, 1)) == []  # first due 04-01 is not yet late
        late = collection_queue(session, date(2026, 4, 11))
        assert [(e.contract_id, e.bucket, e.dpd) for e in late] == [(drawn["contract_id"], "M1", 10)]
        assert late[0].overdue > 0
        assert collection_queue(session, date(2026, 6, 5), only=QueueBucket.M1) == []
        assert [e.bucket for e in collection_queue(session, date(2026, 6, 5))] == ["M3+"]
