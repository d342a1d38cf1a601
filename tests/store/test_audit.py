"""Staff actions leave an append-only trail, written in the action's own transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from lendcore.store.audit import audit_trail, record_audit
from lendcore.store.engine import unit_of_work


def test_audit_records_are_kept_in_order(session_factory: sessionmaker[Session]) -> None:
    at = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)
    with unit_of_work(session_factory) as session:
        record_audit(
            session,
            actor="staff:7",
            action="waive_penalty",
            target_type="contract",
            target_id="ln_1",
            details={"amount": 1234},
            reason="autopay fault",
            at=at,
        )
        record_audit(
            session, actor="staff:8", action="approve_waiver", target_type="contract", target_id="ln_1"
        )
        record_audit(session, actor="staff:7", action="freeze", target_type="credit_line", target_id="cl_1")
    with unit_of_work(session_factory, read_only=True) as session:
        trail = audit_trail(session, "contract", "ln_1")
        assert [(r.actor, r.action) for r in trail] == [
            ("staff:7", "waive_penalty"),
            ("staff:8", "approve_waiver"),
        ]
        assert (trail[0].details, trail[0].reason, trail[0].at) == ({"amount": 1234}, "autopay fault", at)


def test_an_action_that_fails_leaves_no_audit_record(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(RuntimeError), unit_of_work(session_factory) as session:
        record_audit(session, actor="staff:7", action="write_off", target_type="contract", target_id="ln_1")
        raise RuntimeError("the write-off failed")
    with unit_of_work(session_factory, read_only=True) as session:
        assert audit_trail(session, "contract", "ln_1") == []


def test_an_audit_record_needs_actor_action_and_target(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(ValueError), unit_of_work(session_factory) as session:
        record_audit(session, actor="", action="x", target_type="contract", target_id="ln_1")
