"""Waivers, write-off (eligibility per the product's write-off DPD) and recovery; all audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.core.errors import LendcoreError
from lendcore.core.loan import WaiverKind
from lendcore.servicing.lines import available_limit
from lendcore.servicing.waive import WaiveRequest, waive
from lendcore.servicing.writeoff import RecoverRequest, WriteOffRequest, recover, write_off
from lendcore.store.audit import audit_trail
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, CreditLine
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
            WaiveRequest(
                contract_id=contract_id,
                kind=WaiverKind.PENALTY,
                reason="SMS reminder was not delivered",
                actor="agent-7",
                business_date=on,
                idempotency_key="w1",
                amount=1_000,
            ),
        )
    assert result.amount == 1_000
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
        request = WaiveRequest(business_date=DUE + timedelta(days=10), idempotency_key=key(), **args)  # type: ignore[arg-type]
        waive(session, request)
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
            WriteOffRequest(
                contract_id=contract_id,
                reason="uncollectable",
                actor="risk-1",
                business_date=DUE + timedelta(days=180),
                idempotency_key=key(),
            ),
        )
    assert error.value.code == "WRITE_OFF_NOT_ELIGIBLE"  # DPD 180 does not exceed 180
    assert snapshot(session_factory) == before
    on = DUE + timedelta(days=181)
    with unit_of_work(session_factory) as session:
        result = write_off(
            session,
            WriteOffRequest(
                contract_id=contract_id,
                reason="uncollectable",
                actor="risk-1",
                business_date=on,
                idempotency_key="wo",
            ),
        ).to_json()
    # principal 1,000,000 + interest 9,300 + penalty 181 days × 450 = 81,450
    assert (result["dpd"], result["written_off"], result["status"]) == (181, 1_090_750, "written-off")
    assert_invariants(session_factory)
    with unit_of_work(session_factory) as session:
        rec = recover(
            session,
            RecoverRequest(contract_id=contract_id, amount=50_000, business_date=on, idempotency_key="rec"),
        ).to_json()
    assert (rec["recovered"], rec["unapplied"]) == (50_000, 0)
    with unit_of_work(session_factory, read_only=True) as session:
        assert [a.action for a in audit_trail(session, "contract", contract_id)] == ["contract.write_off"]
    assert_invariants(session_factory)


def test_write_off_freezes_the_line_so_the_customer_cannot_borrow_again(
    session_factory: sessionmaker[Session],
) -> None:
    """Before: the written-off contract's outstanding principal drops to 0, so available limit went
    back to the full ¥50,000 and a new drawdown succeeded. Now the line is frozen in the same
    transaction: available 0 and a drawdown is refused (LINE_NOT_ACTIVE), changing nothing."""
    _, contract_id = _overdue_bullet(session_factory, 181)
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None
        line_id = c.credit_line_id
        assert available_limit(session, line_id) == 5_000_000 - 1_000_000
    on = DUE + timedelta(days=181)
    with unit_of_work(session_factory) as session:
        result = write_off(
            session,
            WriteOffRequest(
                contract_id=contract_id,
                reason="uncollectable",
                actor="risk-1",
                business_date=on,
                idempotency_key="wo-freeze",
            ),
        ).to_json()
    assert (result["status"], result["line_status"], result["line_frozen"]) == ("written-off", "frozen", True)
    with unit_of_work(session_factory, read_only=True) as session:
        line = session.get(CreditLine, line_id)
        assert line is not None and line.status == "frozen"
        assert available_limit(session, line_id) == 0
        trail = audit_trail(session, "credit_line", line_id)
        assert [(a.action, a.actor, a.details.get("contract_id")) for a in trail][-1] == (
            "credit_line.written_off",
            "risk-1",
            contract_id,
        )
    before = snapshot(session_factory)
    with pytest.raises(LendcoreError) as error:
        do_draw(session_factory, line_id, 100_000, 1, on=on)
    assert error.value.code == "LINE_NOT_ACTIVE"
    assert snapshot(session_factory) == before
    assert_invariants(session_factory)


def test_overdue_interest_free_pos_installment_bears_penalty(session_factory: sessionmaker[Session]) -> None:
    """POS 免息 3 periods: ¥3,000 at 0 %/day from 2026-03-01, 100,000 fen due 04-01, 05-01, 06-01.
    Penalty base 0.05 %/day (catalog/pos.toml) × 1.5 = 0.075 %, capped at 0.24 / 365 = 0.0657534…%
    (the catalog caps the penalty rate alone). Grace 3 days; at the close of 04-05 (DPD 4) penalty
    counts from DPD 1: 4 × 100,000 × 0.24 / 365 = 96,000 / 365 = 263.01 → 263 fen. Before: 0."""
    _, line = open_line(session_factory, product="pos", limit=1_000_000, grade="A")
    r = do_draw(session_factory, line, 300_000, 3, merchant_id="mi-store-001")
    contract_id = r["contract_id"]
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None and c.daily_rate_ppm == 0
        assert c.terms["penalty_base_daily_rate"] == "0.0005"
    run_daily_close(session_factory, DUE + timedelta(days=3))
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None and (c.days_past_due, c.penalty_receivable) == (3, 0)  # within grace
    run_daily_close(session_factory, DUE + timedelta(days=4))
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None
        assert (c.days_past_due, c.penalty_receivable, c.interest_receivable) == (4, 263, 0)
    assert_invariants(session_factory)
