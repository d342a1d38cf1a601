"""Claiming an Idempotency-Key (``api_idempotency``) is one statement for a new key, and a retry reads
the row it conflicted with: the stored response, a refusal for another request, or "in progress"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lendcore.api.idempotency_store import Claim, StoredResponse, claim, complete
from lendcore.core.errors import ConflictError, ValidationError
from tests.statements import sent_statements

NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
STALE = timedelta(minutes=5)


def _claim(factory: sessionmaker[Session], fingerprint: str, now: datetime = NOW) -> Claim | StoredResponse:
    return claim(
        factory,
        principal="cus_1",
        route="POST /x",
        key="k1",
        request_hash=fingerprint,
        now=now,
        stale_after=STALE,
    )


def test_a_new_key_is_claimed_in_one_statement_and_a_retry_gets_what_the_first_left(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    with sent_statements(engine) as seen:
        first = _claim(session_factory, "h1")
    assert isinstance(first, Claim)
    assert len(seen) == 1 and seen[0].lstrip().upper().startswith("INSERT"), seen
    with pytest.raises(ConflictError) as running:
        _claim(session_factory, "h1")
    assert running.value.code == "IDEMPOTENCY_KEY_IN_PROGRESS"
    with pytest.raises(ValidationError) as reused:
        _claim(session_factory, "h2")
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"
    complete(
        session_factory,
        first,
        status=201,
        headers=[("Content-Type", "application/json")],
        body=b"{}",
        now=NOW,
    )
    assert _claim(session_factory, "h1") == StoredResponse(
        201, (("content-type", "application/json"),), b"{}"
    )


def test_a_claim_left_in_progress_past_the_stale_period_is_taken_over_once(
    session_factory: sessionmaker[Session],
) -> None:
    first = _claim(session_factory, "h1")
    later = NOW + STALE + timedelta(seconds=1)
    taken = _claim(session_factory, "h1", later)
    assert isinstance(first, Claim) and taken == first
    with pytest.raises(ConflictError):
        _claim(session_factory, "h1", later)
