"""Every observation of a payment is recorded with its source; only the state machine moves it, and
each state is entered at most once (the database refuses a second transition into it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import NotFoundError
from lendcore.payments.records import Observation, apply_observation, lock_payment, lock_payments
from lendcore.payments.state import EventSource, PaymentState, Verdict
from lendcore.store.engine import unit_of_work
from lendcore.store.models_payments import PaymentEvent
from tests.payments.support import NOW, events, issues, jobs, payment, recorded_payment
from tests.statements import sent_statements


def observe(factory: sessionmaker[Session], payment_id: str, observation: Observation) -> Verdict:
    with unit_of_work(factory) as session:
        return apply_observation(session, lock_payment(session, payment_id), observation, NOW).verdict


def test_a_payment_is_recorded_created_with_its_deadlines_and_its_submit_job_in_one_transaction(
    session_factory: sessionmaker[Session],
) -> None:
    payment_id = recorded_payment(session_factory)
    stored = payment(session_factory, payment_id)
    assert stored.state == "created" and stored.query_attempts == 0
    assert stored.sla_at == NOW + timedelta(hours=2) and stored.next_query_at == NOW + timedelta(minutes=2)
    assert events(session_factory, payment_id) == [("request", "created", "created")]
    assert jobs(session_factory) == [("payment.submit", f"submit:{payment_id}")]


def test_success_is_applied_once_duplicates_and_stale_news_are_recorded_not_applied(
    session_factory: sessionmaker[Session],
) -> None:
    payment_id = recorded_payment(session_factory)
    success = Observation(
        EventSource.CALLBACK, PaymentState.SUCCEEDED, "ref_1", 10_000, channel_event_id="evt_1"
    )
    assert observe(session_factory, payment_id, success) is Verdict.APPLY
    assert observe(session_factory, payment_id, success) is Verdict.DUPLICATE
    stale = Observation(
        EventSource.CALLBACK, PaymentState.PROCESSING, "ref_1", 10_000, channel_event_id="evt_0"
    )
    assert observe(session_factory, payment_id, stale) is Verdict.STALE
    stored = payment(session_factory, payment_id)
    assert (stored.state, stored.channel_reference, stored.settled_at, stored.next_query_at) == (
        "succeeded", "ref_1", NOW, None,
    )  # fmt: skip
    assert events(session_factory, payment_id) == [
        ("request", "created", "created"),
        ("callback", "transition", "processing"),
        ("callback", "transition", "succeeded"),
        ("callback", "duplicate", "succeeded"),
        ("callback", "stale", "processing"),
    ]
    assert ("payment.settled", f"settled:{payment_id}:succeeded") in jobs(session_factory)


def test_a_late_success_after_failure_is_a_discrepancy_for_operations_and_the_payment_stays_failed(
    session_factory: sessionmaker[Session],
) -> None:
    payment_id = recorded_payment(session_factory)
    observe(
        session_factory,
        payment_id,
        Observation(EventSource.QUERY, PaymentState.FAILED, failure_code="CARD_FROZEN"),
    )
    late = Observation(EventSource.CALLBACK, PaymentState.SUCCEEDED, "ref_1", 10_000)
    assert observe(session_factory, payment_id, late) is Verdict.DISCREPANCY
    assert observe(session_factory, payment_id, late) is Verdict.DISCREPANCY  # raised once, recorded twice
    stored = payment(session_factory, payment_id)
    assert (stored.state, stored.failure_code) == ("failed", "CARD_FROZEN")
    assert issues(session_factory) == [("late_success_after_failure", payment_id)]


def test_another_amount_or_reference_is_never_applied(session_factory: sessionmaker[Session]) -> None:
    payment_id = recorded_payment(session_factory)
    observe(session_factory, payment_id, Observation(EventSource.SUBMIT, PaymentState.PROCESSING, "ref_1"))
    wrong_amount = Observation(EventSource.CALLBACK, PaymentState.SUCCEEDED, "ref_1", 10_100)
    wrong_reference = Observation(EventSource.CALLBACK, PaymentState.SUCCEEDED, "ref_2", 10_000)
    assert observe(session_factory, payment_id, wrong_amount) is Verdict.DISCREPANCY
    assert observe(session_factory, payment_id, wrong_reference) is Verdict.DISCREPANCY
    assert payment(session_factory, payment_id).state == "processing"
    assert {kind for kind, _ in issues(session_factory)} == {"amount_mismatch", "reference_mismatch"}


def test_the_database_refuses_a_second_transition_into_the_same_state(
    session_factory: sessionmaker[Session],
) -> None:
    payment_id = recorded_payment(session_factory)
    observe(
        session_factory,
        payment_id,
        Observation(EventSource.CALLBACK, PaymentState.SUCCEEDED, "ref_1", 10_000),
    )
    with pytest.raises(IntegrityError), unit_of_work(session_factory) as session:
        session.add(
            PaymentEvent(payment_id=payment_id, source="query", kind="transition", to_state="succeeded")
        )
        session.flush()


def test_payment_events_are_append_only(session_factory: sessionmaker[Session]) -> None:
    payment_id = recorded_payment(session_factory)
    with pytest.raises(IntegrityError, match="append-only"), unit_of_work(session_factory) as session:
        event = session.query(PaymentEvent).filter_by(payment_id=payment_id).one()
        event.kind = "transition"
        session.flush()
    with pytest.raises(IntegrityError, match="append-only"), unit_of_work(session_factory) as session:
        session.delete(session.query(PaymentEvent).filter_by(payment_id=payment_id).one())
        session.flush()


def test_a_chunk_of_payments_is_locked_in_one_statement_and_an_unknown_one_is_not_found(
    session_factory: sessionmaker[Session], engine: Engine
) -> None:
    ids = sorted(recorded_payment(session_factory) for _ in range(3))
    with unit_of_work(session_factory) as session, sent_statements(engine) as sent:
        locked = lock_payments(session, list(reversed(ids)))
    assert sorted(locked) == ids and len(sent) == 1
    with unit_of_work(session_factory) as session, pytest.raises(NotFoundError) as missing:
        lock_payments(session, [ids[0], "pay_NOPE"])
    assert missing.value.code == "PAYMENT_NOT_FOUND"
