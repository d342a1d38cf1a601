"""A callback is acknowledged only after what it says is durably stored; a duplicate or out-of-order
callback never applies twice; a forged one stores nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.payments.callbacks import Callback, callback_to_json, sign
from lendcore.payments.inbound import handle_callback
from lendcore.payments.state import PaymentState
from lendcore.store.engine import unit_of_work
from lendcore.store.models_payments import PaymentEvent, PaymentIssue
from tests.payments.support import NOW, events, issues, payment, recorded_payment

SECRETS = ("new-secret", "old-secret")


def body_of(payment_id: str, state: PaymentState = PaymentState.SUCCEEDED, amount: int = 10_000,
            event_id: str = "evt_1", sequence: int = 1) -> bytes:  # fmt: skip
    callback = Callback(event_id, payment_id, "ref_1", state, amount, occurred_at=NOW, sequence=sequence)
    return json.dumps(callback_to_json(callback)).encode()


def deliver(factory: sessionmaker[Session], body: bytes, secret: str = "old-secret", signed_at=NOW):  # type: ignore[no-untyped-def]
    return handle_callback(factory, sign([secret], body, signed_at), body, secrets=SECRETS, now=NOW)


def count_events(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory, read_only=True) as session:
        return int(session.scalar(select(func.count()).select_from(PaymentEvent)) or 0)


def test_a_genuine_callback_is_applied_and_acknowledged(session_factory: sessionmaker[Session]) -> None:
    payment_id = recorded_payment(session_factory)
    ack = deliver(session_factory, body_of(payment_id))
    assert ack.status == 200 and ack.body["verdict"] == "apply" and ack.body["state"] == "succeeded"
    assert payment(session_factory, payment_id).state == "succeeded"


def test_redelivered_and_out_of_order_callbacks_are_acknowledged_and_change_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    payment_id = recorded_payment(session_factory)
    final = body_of(payment_id)
    stale = body_of(payment_id, PaymentState.PROCESSING, event_id="evt_0", sequence=0)
    verdicts = [deliver(session_factory, b).body["verdict"] for b in (final, final, stale, final)]
    assert verdicts == ["apply", "duplicate", "stale", "duplicate"]
    assert [e for e in events(session_factory, payment_id) if e[1] == "transition"] == [
        ("callback", "transition", "processing"),
        ("callback", "transition", "succeeded"),
    ]


def test_a_forged_stale_or_malformed_callback_is_refused_and_stores_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    payment_id = recorded_payment(session_factory)
    before = count_events(session_factory)
    assert deliver(session_factory, body_of(payment_id), secret="guess").status == 401
    assert deliver(session_factory, body_of(payment_id), signed_at=NOW - timedelta(minutes=6)).status == 401
    assert deliver(session_factory, b"{not json").status == 400
    assert count_events(session_factory) == before and payment(session_factory, payment_id).state == "created"


def test_a_callback_with_another_amount_is_stored_raised_and_not_applied(
    session_factory: sessionmaker[Session],
) -> None:
    payment_id = recorded_payment(session_factory)
    ack = deliver(session_factory, body_of(payment_id, amount=10_001))
    assert (
        ack.status == 200 and ack.body["check"] == "amount_mismatch" and ack.body["verdict"] == "discrepancy"
    )
    assert payment(session_factory, payment_id).state == "created"
    assert issues(session_factory) == [("amount_mismatch", payment_id)]


def test_a_callback_for_a_payment_we_never_made_is_raised_to_operations(
    session_factory: sessionmaker[Session],
) -> None:
    ack = deliver(session_factory, body_of("pay_NOT_OURS"))
    assert ack.status == 200 and ack.body["check"] == "unknown_payment"
    assert issues(session_factory) == [("callback_unknown_payment", None)]
    deliver(session_factory, body_of("pay_NOT_OURS"))
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(PaymentIssue)) == 1


def test_no_ack_before_the_commit_a_failed_commit_propagates_and_the_channel_redelivers(
    session_factory: sessionmaker[Session],
) -> None:
    payment_id = recorded_payment(session_factory)

    def refuse_commit(_session: Session) -> None:
        raise RuntimeError("the disk is full")

    event.listen(Session, "before_commit", refuse_commit)
    try:
        with pytest.raises(RuntimeError, match="disk is full"):
            deliver(session_factory, body_of(payment_id))
    finally:
        event.remove(Session, "before_commit", refuse_commit)
    assert payment(session_factory, payment_id).state == "created"  # nothing stored, nothing acked
    assert deliver(session_factory, body_of(payment_id)).body["verdict"] == "apply"  # the redelivery applies
