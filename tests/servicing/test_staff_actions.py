"""Waivers, write-off (eligibility per the product's write-off DPD) and recovery; all audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.core.errors import LendcoreError
from lendcore.servicing.waive import waive
from lendcore.servicing.writeoff import recover, write_off
from lendcore.store.audit import audit_trail
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract
from tests.servicing.support import assert_invariants, do_draw, key, open_line, snapshot

DUE = date(2026, 4, 1)


def _overdue_bullet(factory: sessionmaker[Session], days: int) -> tuple[str, str]:
    cid, line = open_line(factory)
    contract_id = do_draw(factory, line, 1_000_000, 1, method="bullet")["contract_id"]
    run_daily_close(factory, DUE + timedelta(days=days))  # one close accrues everything up to that day
    return cid, contract_id


def test_waive_penalty_with_reason_is_audited(session_factory: sessionmaker[Session]) -> None:
    _, contract_id = _overdue_bullet(session_factory, 10)
    on = DUE + timedelta(days=10)
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None and c.penalty_receivable == 4_500  # 10 days × 1,000,000 × 0.045 %
    with unit_of_work(session_factory) as session:
        result = waive(
            session,
            contract_id=contract_id,
            kind="penalty",
            reason="SMS reminder was not delivered",
            actor="agent-7",
            business_date=on,
            idempotency_key="w1",
            amount=1_000,
        )
    assert result["amount"] == 1_000
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None and c.penalty_receivable == 3_500
        trail = audit_trail(session, "contract", contract_id)
        assert [(a.action, a.actor, a.reason) for a in trail] == [
            ("contract.waive_penalty", "agent-7", "SMS reminder was not delivered")
        ]
    assert_invariants(session_factory)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"reason": " "}, "REASON_REQUIRED"),
        ({"actor": ""}, "ACTOR_REQUIRED"),
        ({"kind": "principal"}, "INVALID_WAIVER_KIND"),
        ({"amount": 4_501}, "WAIVER_EXCEEDS_OUTSTANDING"),
        ({"kind": "fee"}, "NOTHING_TO_WAIVE"),
        ({"contract_id": "ln_nope"}, "CONTRACT_NOT_FOUND"),
    ],
)
def test_waiver_rejections_change_nothing(
    session_factory: sessionmaker[Session], kwargs: dict[str, object], code: str
) -> None:
    _, contract_id = _overdue_bullet(session_factory, 10)
    before = snapshot(session_factory)
    args: dict[str, object] = {
        "contract_id": contract_id,
        "kind": "penalty",
        "reason": "goodwill",
        "actor": "agent-7",
    } | kwargs
    with pytest.raises(LendcoreError) as error, unit_of_work(session_factory) as session:
        waive(session, business_date=DUE + timedelta(days=10), idempotency_key=key(), **args)  # type: ignore[arg-type]
    assert error.value.code == code
    assert snapshot(session_factory) == before


def test_write_off_only_past_the_product_threshold_then_recovery(
    session_factory: sessionmaker[Session],
) -> None:
    _, contract_id = _overdue_bullet(session_factory, 180)
    before = snapshot(session_factory)
    with pytest.raises(LendcoreError) as error, unit_of_work(session_factory) as session:
        write_off(
            session,
            contract_id=contract_id,
            reason="uncollectable",
            actor="risk-1",
            business_date=DUE + timedelta(days=180),
            idempotency_key=key(),
        )
    assert error.value.code == "WRITE_OFF_NOT_ELIGIBLE"  # DPD 180 does not exceed 180
    assert snapshot(session_factory) == before
    on = DUE + timedelta(days=181)
    with unit_of_work(session_factory) as session:
        result = write_off(
            session,
            contract_id=contract_id,
            reason="uncollectable",
            actor="risk-1",
            business_date=on,
            idempotency_key="wo",
        )
    # principal 1,000,000 + interest 9,300 + penalty 181 days × 450 = 81,450
    assert (result["dpd"], result["written_off"], result["status"]) == (181, 1_090_750, "written-off")
    assert_invariants(session_factory)
    with unit_of_work(session_factory) as session:
        rec = recover(
            session, contract_id=contract_id, amount=50_000, business_date=on, idempotency_key="rec"
        )
    assert (rec["recovered"], rec["unapplied"]) == (50_000, 0)
    with unit_of_work(session_factory, read_only=True) as session:
        assert [a.action for a in audit_trail(session, "contract", contract_id)] == ["contract.write_off"]
    assert_invariants(session_factory)
