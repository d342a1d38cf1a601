"""No operation is dated before the object it acts on: a drawdown or a line change before the line was
opened, a staff action before the contract started, a recovery before the write-off, a reversal before
the payment it reverses. Each refusal has a stable code and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.core.allocation import CustomerMode
from lendcore.core.errors import LendcoreError
from lendcore.core.loan import WaiverKind
from lendcore.origination.drawdown_check import drawdown_gate
from lendcore.servicing.draw import DrawRequest, draw
from lendcore.servicing.lines import change_limit, close_line, freeze_line
from lendcore.servicing.reverse import ReversePaymentRequest, reverse_payment
from lendcore.servicing.waive import WaiveRequest, waive
from lendcore.servicing.writeoff import RecoverRequest, WriteOffRequest, recover, write_off
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, CreditLine, LoanTransaction, Payment
from lendcore.store.models_origination import LimitChange
from tests.servicing.support import D0, RELAXED, do_draw, do_repay, key, open_line, snapshot

DUE = date(2026, 4, 1)  # a 1-month bullet drawn on D0 falls due then


def _refused(factory: sessionmaker[Session], code: str, action: Callable[[Session], Any]) -> None:
    """``action`` raises ``code`` and leaves every money table and the line history as they were."""
    before = snapshot(factory), _limit_changes(factory)
    with pytest.raises(LendcoreError) as error, unit_of_work(factory) as session:
        action(session)
    assert error.value.code == code, error.value
    assert (snapshot(factory), _limit_changes(factory)) == before


def _limit_changes(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory, read_only=True) as session:
        return int(session.scalar(select(func.count()).select_from(LimitChange)) or 0)


def _bullet(factory: sessionmaker[Session]) -> tuple[str, str, str]:
    cid, line = open_line(factory)
    contract_id = do_draw(factory, line, 1_000_000, 1, method="bullet")["contract_id"]
    return cid, line, contract_id


def test_a_drawdown_dated_before_its_line_was_opened_is_refused(
    session_factory: sessionmaker[Session],
) -> None:
    _, line = open_line(session_factory, on=D0)
    before = snapshot(session_factory)
    with pytest.raises(LendcoreError) as error:
        do_draw(session_factory, line, 100_000, 3, on=D0 - timedelta(days=1))
    assert error.value.code == "DATE_BEFORE_LINE_OPENED"
    assert snapshot(session_factory) == before
    assert (
        do_draw(session_factory, line, 100_000, 3, on=D0)["status"] == "disbursed"
    )  # the opening day is fine


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days_before=st.integers(1, 9_000))
def test_nothing_is_done_on_a_line_before_the_day_it_was_opened(
    session_factory: sessionmaker[Session], days_before: int
) -> None:
    """Any date before the opening: drawdown, limit change, freeze and close are all refused (the
    refusals change nothing, so the examples share one database)."""
    with unit_of_work(session_factory, read_only=True) as session:
        existing = session.scalars(select(CreditLine.id)).first()
    line = existing or open_line(session_factory, on=D0)[1]
    on = D0 - timedelta(days=days_before)
    common: dict[str, Any] = {"reason_code": "TEST", "business_date": on, "actor": "ops"}
    _refused(
        session_factory,
        "DATE_BEFORE_LINE_OPENED",
        lambda s: draw(
            s,
            DrawRequest(line_id=line, amount=100_000, term=3, business_date=on, idempotency_key=key()),
            gate=drawdown_gate(RELAXED),
        ),
    )
    _refused(
        session_factory,
        "DATE_BEFORE_LINE_OPENED",
        lambda s: change_limit(s, line, new_limit=600_000, **common),
    )
    _refused(session_factory, "DATE_BEFORE_LINE_OPENED", lambda s: freeze_line(s, line, **common))
    _refused(session_factory, "DATE_BEFORE_LINE_OPENED", lambda s: close_line(s, line, **common))


def test_staff_actions_dated_before_the_contract_started_are_refused(
    session_factory: sessionmaker[Session],
) -> None:
    _, _, contract_id = _bullet(session_factory)
    early = D0 - timedelta(days=1)
    _refused(
        session_factory,
        "DATE_BEFORE_CONTRACT_START",
        lambda s: waive(
            s,
            WaiveRequest(
                contract_id=contract_id,
                kind=WaiverKind.INTEREST,
                reason="goodwill",
                actor="agent-1",
                business_date=early,
                idempotency_key=key(),
            ),
        ),
    )
    _refused(
        session_factory,
        "DATE_BEFORE_CONTRACT_START",
        lambda s: write_off(
            s,
            WriteOffRequest(
                contract_id=contract_id,
                reason="uncollectable",
                actor="risk-1",
                business_date=early,
                idempotency_key=key(),
            ),
        ),
    )
    _refused(
        session_factory,
        "DATE_BEFORE_CONTRACT_START",
        lambda s: recover(
            s,
            RecoverRequest(
                contract_id=contract_id,
                amount=10_000,
                business_date=DUE,
                value_date=early,
                idempotency_key=key(),
            ),
        ),
    )


def test_a_recovery_is_not_value_dated_before_the_write_off(session_factory: sessionmaker[Session]) -> None:
    _, _, contract_id = _bullet(session_factory)
    on = DUE + timedelta(days=181)  # DPD 181 exceeds the quick product's 180
    assert run_daily_close(session_factory, on).ok
    with unit_of_work(session_factory) as session:
        write_off(
            session,
            WriteOffRequest(
                contract_id=contract_id,
                reason="uncollectable",
                actor="risk-1",
                business_date=on,
                idempotency_key=key(),
            ),
        )
    _refused(
        session_factory,
        "DATE_BEFORE_WRITE_OFF",
        lambda s: recover(
            s,
            RecoverRequest(
                contract_id=contract_id,
                amount=10_000,
                business_date=on,
                value_date=on - timedelta(days=1),
                idempotency_key=key(),
            ),
        ),
    )
    with unit_of_work(session_factory) as session:
        done = recover(
            session,
            RecoverRequest(contract_id=contract_id, amount=10_000, business_date=on, idempotency_key=key()),
        ).to_json()
    assert done["recovered"] == 10_000


def test_a_repayment_is_value_dated_between_the_contract_start_and_the_business_date(
    session_factory: sessionmaker[Session],
) -> None:
    cid, _, contract_id = _bullet(session_factory)
    on = D0 + timedelta(days=10)
    cases = [
        ("NOTHING_TO_PAY", {"value_date": D0 - timedelta(days=1)}),
        (
            "CONTRACT_NOT_OPEN",
            {
                "value_date": D0 - timedelta(days=1),
                "mode": CustomerMode.BY_CONTRACT,
                "contract_ids": [contract_id],
            },
        ),
        ("VALUE_DATE_IN_FUTURE", {"value_date": on + timedelta(days=1)}),
    ]
    for code, kw in cases:
        before = snapshot(session_factory)
        with pytest.raises(LendcoreError) as error:
            do_repay(session_factory, cid, 10_000, on, **kw)
        assert error.value.code == code
        assert snapshot(session_factory) == before


def test_a_reversal_dated_before_the_payment_it_reverses_is_refused(
    session_factory: sessionmaker[Session],
) -> None:
    cid, _, _ = _bullet(session_factory)
    paid = do_repay(session_factory, cid, 10_000, D0 + timedelta(days=10))["payment_id"]
    # started on day 5, confirmed (booked) on day 12: a reversal on day 7 would precede its booking
    late = do_repay(session_factory, cid, 10_000, D0 + timedelta(days=12), value_date=D0 + timedelta(days=5))
    for payment_id, on in ((paid, D0 + timedelta(days=9)), (late["payment_id"], D0 + timedelta(days=7))):
        _refused(
            session_factory,
            "REVERSAL_BEFORE_PAYMENT",
            lambda s, p=payment_id, d=on: reverse_payment(
                s,
                ReversePaymentRequest(
                    payment_id=p, reason="R01", actor="ops1", business_date=d, idempotency_key=key()
                ),
            ),
        )
        with unit_of_work(session_factory, read_only=True) as session:
            payment = session.get(Payment, payment_id)
            assert payment is not None and payment.state == "succeeded"
    with unit_of_work(session_factory) as session:
        r = reverse_payment(
            session,
            ReversePaymentRequest(
                payment_id=paid,
                reason="R01",
                actor="ops1",
                business_date=D0 + timedelta(days=12),
                idempotency_key=key(),
            ),
        ).to_json()
    assert r["status"] == "reversed"


def test_a_close_for_a_date_before_a_contract_started_does_not_touch_it(
    session_factory: sessionmaker[Session],
) -> None:
    _, line = open_line(session_factory)
    later = do_draw(session_factory, line, 100_000, 3, on=D0 + timedelta(days=5))["contract_id"]
    report = run_daily_close(session_factory, D0 + timedelta(days=1))
    assert (report.status, report.contracts) == ("succeeded", 0)
    with unit_of_work(session_factory, read_only=True) as session:
        contract = session.get(Contract, later)
        assert contract is not None and contract.as_of == D0 + timedelta(days=5)
        accruals = session.scalar(
            select(func.count()).select_from(LoanTransaction).where(LoanTransaction.type == "penalty-accrual")
        )
        assert accruals == 0
