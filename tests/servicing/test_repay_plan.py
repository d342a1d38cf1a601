"""The allocation a repayment request answers with (``request_repayment(with_plan=True)``: what a
customer waiting on the API is shown) is exactly what its settlement books, and an on-time request
computes it on the stored snapshot: its cost does not grow with the contract's history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lendcore.payments.records import Observation, apply_observation, lock_payment
from lendcore.payments.state import EventSource, PaymentState
from lendcore.servicing.repay import RepayRequest
from lendcore.servicing.settlement import request_repayment, settle_payment
from lendcore.store.engine import unit_of_work
from tests.servicing.support import D0, assert_invariants, do_draw, do_repay, fresh_database, key, open_line
from tests.statements import sent_statements

AT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def _request(
    factory: sessionmaker[Session], customer_id: str, amount: int, on: date, value_date: date
) -> dict:  # type: ignore[type-arg]
    request = RepayRequest(customer_id, on, key("rq"), amount=amount, value_date=value_date)
    with unit_of_work(factory) as session:
        return request_repayment(session, request, now=AT, with_plan=True).to_json()


def _succeed_and_settle(factory: sessionmaker[Session], payment_id: str, on: date) -> dict:  # type: ignore[type-arg]
    with unit_of_work(factory) as session:
        payment = lock_payment(session, payment_id)
        apply_observation(session, payment, Observation(EventSource.QUERY, PaymentState.PROCESSING), AT)
        apply_observation(session, payment, Observation(EventSource.QUERY, PaymentState.SUCCEEDED), AT)
        return settle_payment(session, payment_id, today=on, now=AT).to_json()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    paid=st.lists(st.tuples(st.integers(1, 25), st.integers(100, 400_000)), min_size=0, max_size=4),
    back=st.integers(0, 20),
    amount=st.integers(1, 600_000),
)
def test_the_plan_a_request_answers_with_is_what_its_settlement_books(
    request: pytest.FixtureRequest,
    database_url: str,
    tmp_path: Path,
    paid: list[tuple[int, int]],
    back: int,
    amount: int,
) -> None:
    with fresh_database(request, tmp_path) as factory:
        customer_id, line_id = open_line(factory)
        do_draw(factory, line_id, 1_000_000, 6)
        day = D0
        for gap, pay in paid:  # a history, in value-date order
            day += timedelta(days=gap)
            do_repay(factory, customer_id, pay, day)
        on = day + timedelta(days=1)
        value_date = max(D0 + timedelta(days=1), on - timedelta(days=back))  # on time, or backdated
        asked = _request(factory, customer_id, amount, on, value_date)
        settled = _succeed_and_settle(factory, asked["payment_id"], on)
        assert settled["outcome"] == "booked"
        assert settled["lines"] == asked["contracts"]
        assert_invariants(factory)


def test_an_on_time_request_never_replays_the_contracts_history(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    customer_id, line_id = open_line(session_factory)
    do_draw(session_factory, line_id, 1_000_000, 6)
    for n in range(5):
        do_repay(session_factory, customer_id, 10_000, D0 + timedelta(days=n + 1))

    def history_reads(seen: list[str]) -> list[str]:
        return [s for s in seen if "FROM loan_transactions" in s and "loan_transactions.contract_id" in s]

    with sent_statements(engine) as seen:
        on = D0 + timedelta(days=6)
        asked = _request(session_factory, customer_id, 10_000, on, on)
    assert asked["contracts"] and asked["contracts"][0]["backdated"] is False
    assert history_reads(seen) == []
    # a backdated request does replay: the rule is "on time", not "never"
    with sent_statements(engine) as seen:
        _request(session_factory, customer_id, 10_000, on, D0 + timedelta(days=2))
    assert history_reads(seen)
