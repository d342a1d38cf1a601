"""Revoking the 征信 consent stops bureau processing from then on; earlier batches rebuild as they were."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session, sessionmaker

from lendcore.bureau.batch import build_batch
from lendcore.core.consent import ConsentKind
from lendcore.origination.onboarding import (
    ConsentGrantRequest,
    ConsentRevocation,
    grant_consent,
    revoke_consent,
)
from lendcore.store.engine import unit_of_work
from tests.servicing.support import do_draw, new_customer, open_line

DRAWN = date(2026, 3, 2)  # reported in the batch of 03-03 (the next business day)
GRANTED = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)


def _drawn_with_consent(factory: sessionmaker[Session]) -> tuple[str, str]:
    with unit_of_work(factory) as session:
        customer = new_customer(session)
        grant_consent(
            session, ConsentGrantRequest(customer, ConsentKind.CREDIT_BUREAU_QUERY, "1.0"), at=GRANTED
        )
    _, line = open_line(factory, product="premium", on=DRAWN, customer_id=customer)
    return customer, str(do_draw(factory, line, 1_200_000, 12, on=DRAWN)["contract_id"])


def _revoke(factory: sessionmaker[Session], customer: str, at: datetime) -> None:
    with unit_of_work(factory) as session:
        revoke_consent(session, ConsentRevocation(customer, ConsentKind.CREDIT_BUREAU_QUERY), at=at)


def test_a_revoked_consent_skips_the_customer_from_the_next_batch_on(
    session_factory: sessionmaker[Session],
) -> None:
    customer, contract = _drawn_with_consent(session_factory)
    _revoke(session_factory, customer, datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai, 03-02
    with unit_of_work(session_factory, read_only=True) as session:
        batch = build_batch(session, date(2026, 3, 3))
    assert batch.records == () and batch.skipped == (contract,)


def test_a_revocation_after_the_batch_date_leaves_that_batch_as_it_was(
    session_factory: sessionmaker[Session],
) -> None:
    customer, contract = _drawn_with_consent(session_factory)
    _revoke(session_factory, customer, datetime(2026, 3, 3, 2, 0, tzinfo=UTC))  # 10:00 on 03-03 in Shanghai
    with unit_of_work(session_factory, read_only=True) as session:
        batch = build_batch(session, date(2026, 3, 3))
    assert [r.built_from.contract_id for r in batch.records] == [contract] and batch.skipped == ()


def test_a_customer_who_never_gave_the_consent_is_reported_as_before(
    session_factory: sessionmaker[Session],
) -> None:
    _, line = open_line(session_factory, product="premium", on=DRAWN)
    contract = do_draw(session_factory, line, 1_200_000, 12, on=DRAWN)["contract_id"]
    with unit_of_work(session_factory, read_only=True) as session:
        batch = build_batch(session, date(2026, 3, 3))
    assert [r.built_from.contract_id for r in batch.records] == [contract]
