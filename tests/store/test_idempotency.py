"""A request with an idempotency key is applied once: retries replay the stored response, a reused
key with a different request is refused, and concurrent duplicates never apply twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import BusinessRuleError, ConflictError, ValidationError
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.idempotency import fingerprint, run_idempotent
from lendcore.store.models import AuditRecord, IdempotencyKey


def _work(
    session: Session,
    calls: list[int],
    response: dict[str, Any],
    in_flight: Callable[[], None] = lambda: None,
) -> Callable[[], dict[str, Any]]:
    """A request's work: appends an audit record (a visible side effect) and counts its runs.
    ``in_flight`` runs inside the work, while the key row is held (the concurrency test waits there
    for the duplicates to queue up behind it)."""

    def work() -> dict[str, Any]:
        calls.append(1)
        in_flight()
        session.add(AuditRecord(actor="t", action="repay", target_type="contract", target_id="ln_1"))
        return response

    return work


def _count(session_factory: sessionmaker[Session], model: type[Any]) -> int:
    with unit_of_work(session_factory, read_only=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_first_call_runs_and_stores_the_response(session_factory: sessionmaker[Session]) -> None:
    calls: list[int] = []
    with unit_of_work(session_factory) as session:
        response = run_idempotent(session, "repay", "k1", "fp", _work(session, calls, {"paid": 100}))
    assert response == {"paid": 100}
    assert calls == [1]
    with unit_of_work(session_factory, read_only=True) as session:
        stored = session.scalars(select(IdempotencyKey)).one()
        assert (stored.scope, stored.key, stored.request_hash, stored.response) == (
            "repay",
            "k1",
            "fp",
            response,
        )


def test_a_retry_returns_the_stored_response_without_running_again(
    session_factory: sessionmaker[Session],
) -> None:
    calls: list[int] = []
    with unit_of_work(session_factory) as session:
        first = run_idempotent(session, "repay", "k1", "fp", _work(session, calls, {"paid": 100}))
    with unit_of_work(session_factory) as session:
        second = run_idempotent(session, "repay", "k1", "fp", _work(session, calls, {"paid": 999}))
    assert second == first == {"paid": 100}
    assert calls == [1]
    assert _count(session_factory, AuditRecord) == 1


def test_same_key_different_request_is_refused(session_factory: sessionmaker[Session]) -> None:
    calls: list[int] = []
    with unit_of_work(session_factory) as session:
        run_idempotent(session, "repay", "k1", "fp-a", _work(session, calls, {"paid": 100}))
    with pytest.raises(ConflictError) as raised, unit_of_work(session_factory) as session:
        run_idempotent(session, "repay", "k1", "fp-b", _work(session, calls, {"paid": 100}))
    assert raised.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert calls == [1]


def test_keys_are_scoped(session_factory: sessionmaker[Session]) -> None:
    calls: list[int] = []
    with unit_of_work(session_factory) as session:
        run_idempotent(session, "repay", "k1", "fp-a", _work(session, calls, {"op": "repay"}))
        run_idempotent(session, "draw", "k1", "fp-b", _work(session, calls, {"op": "draw"}))
    assert calls == [1, 1]


def test_a_failed_request_is_not_remembered(session_factory: sessionmaker[Session]) -> None:
    def refuse() -> dict[str, Any]:
        raise BusinessRuleError("over the limit", code="LIMIT_EXCEEDED")

    with pytest.raises(BusinessRuleError), unit_of_work(session_factory) as session:
        run_idempotent(session, "draw", "k1", "fp", refuse)
    assert _count(session_factory, IdempotencyKey) == 0
    calls: list[int] = []
    with unit_of_work(session_factory) as session:  # the retry runs for real
        assert run_idempotent(session, "draw", "k1", "fp", _work(session, calls, {"ok": 1})) == {"ok": 1}
    assert calls == [1]


def test_a_failure_inside_the_unit_of_work_rolls_back_the_key_too(
    session_factory: sessionmaker[Session],
) -> None:
    calls: list[int] = []
    with pytest.raises(RuntimeError), unit_of_work(session_factory) as session:
        run_idempotent(session, "repay", "k1", "fp", _work(session, calls, {"paid": 1}))
        raise RuntimeError("crash after the work, before commit")
    assert _count(session_factory, IdempotencyKey) == 0
    assert _count(session_factory, AuditRecord) == 0


def test_the_response_is_returned_as_stored_json(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        response = run_idempotent(
            session,
            "q",
            "k",
            "fp",
            lambda: {"on": date(2025, 3, 14), "rate": Decimal("0.0005"), "ids": ("a",)},
        )
    assert response == {"on": "2025-03-14", "rate": "0.0005", "ids": ["a"]}


@pytest.mark.parametrize("key", ["", "   ", "x" * 129])
def test_malformed_keys_are_rejected(key: str, session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(ValidationError) as raised, unit_of_work(session_factory) as session:
        run_idempotent(session, "repay", key, "fp", dict)
    assert raised.value.code == "INVALID_IDEMPOTENCY_KEY"


def test_fingerprints_are_canonical() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"amount": 100}) != fingerprint({"amount": 101})
    assert fingerprint({"on": date(2025, 1, 1), "rate": Decimal("0.0005")}) == fingerprint(
        {"on": "2025-01-01", "rate": "0.0005"}
    )
    assert len(fingerprint({})) == 64


def _until_duplicates_wait(factory: sessionmaker[Session], waiting: int) -> Callable[[], None]:
    """PostgreSQL: block until ``waiting`` other backends wait on a lock (the duplicates' INSERT of the
    same key waits on the unique index). SQLite: nothing to wait for, BEGIN IMMEDIATE has already
    queued the duplicates behind this transaction."""
    if factory.kw["bind"].dialect.name != "postgresql":
        return lambda: None
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )

    def wait() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with unit_of_work(factory, read_only=True) as session:
                if (session.scalar(query) or 0) >= waiting:
                    return
            time.sleep(0.01)  # polling an observable condition, not ordering by time
        raise AssertionError(f"the {waiting} duplicates never queued behind the first request")

    return wait


def test_concurrent_duplicates_apply_once_and_all_get_the_same_response(database_url: str) -> None:
    """N threads submit one key at once; the work runs once, and every caller gets its response.
    The first request holds its work open until every duplicate is queued behind it."""
    threads = 8
    engine = create_engine(database_url, pool_size=threads + 1)
    factory = create_session_factory(engine)
    barrier = threading.Barrier(threads)
    in_flight = _until_duplicates_wait(factory, threads - 1)
    calls: list[int] = []
    responses: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def submit(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            with unit_of_work(factory) as session:
                work = _work(session, calls, {"winner": n}, in_flight)
                responses.append(run_idempotent(session, "repay", "same-key", "fp", work))
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    workers = [threading.Thread(target=submit, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    engine.dispose()

    assert errors == []
    assert len(responses) == threads
    assert len(calls) == 1  # the work ran exactly once …
    assert all(r == responses[0] for r in responses)  # … and everyone got the winner's response
    check = create_engine(database_url)
    assert _count(create_session_factory(check), AuditRecord) == 1
    assert _count(create_session_factory(check), IdempotencyKey) == 1
    check.dispose()
