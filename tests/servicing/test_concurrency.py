"""Concurrency on PostgreSQL (threads, one session each): the line lock and idempotency under races."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select

from lendcore.core.errors import LendcoreError
from lendcore.origination.drawdown_check import drawdown_gate
from lendcore.servicing.draw import DrawRequest, draw
from lendcore.servicing.repay import RepayRequest, RepayResult, repay
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.models import Contract, LoanTransaction, Payment
from tests.servicing.support import D0, RELAXED, assert_invariants, do_draw, open_line

N = 8


def test_parallel_drawdowns_never_exceed_the_limit(postgres_database_url: str) -> None:
    engine = create_engine(postgres_database_url, pool_size=N + 2)
    factory = create_session_factory(engine)
    try:
        _, line = open_line(factory, limit=1_000_000)

        def one(i: int) -> str:
            try:
                with unit_of_work(factory) as session:
                    request = DrawRequest(
                        line_id=line, amount=300_000, term=3, business_date=D0, idempotency_key=f"par-{i}"
                    )
                    return draw(session, request, gate=drawdown_gate(RELAXED)).status
            except LendcoreError as error:
                return error.code

        with ThreadPoolExecutor(N) as pool:
            outcomes = list(pool.map(one, range(N)))
        assert sorted(outcomes) == ["LIMIT_EXCEEDED"] * 5 + ["disbursed"] * 3
        with unit_of_work(factory, read_only=True) as session:
            used = session.scalar(select(func.sum(Contract.outstanding_principal)))
            assert used == 900_000
        assert_invariants(factory)
    finally:
        engine.dispose()


def test_parallel_submissions_of_one_key_apply_once(postgres_database_url: str) -> None:
    engine = create_engine(postgres_database_url, pool_size=N + 2)
    factory = create_session_factory(engine)
    try:
        cid, line = open_line(factory)
        do_draw(factory, line, 1_000_000, 3)
        on = D0 + timedelta(days=5)

        request = RepayRequest(customer_id=cid, amount=100_000, business_date=on, idempotency_key="same")

        def one(_: int) -> RepayResult:
            with unit_of_work(factory) as session:
                return repay(session, request)

        with ThreadPoolExecutor(N) as pool:
            responses = list(pool.map(one, range(N)))
        assert all(r == responses[0] for r in responses)
        with unit_of_work(factory, read_only=True) as session:
            assert session.scalar(select(func.count()).where(LoanTransaction.type == "repayment")) == 1
            assert session.scalar(select(func.count()).where(Payment.direction == "inbound")) == 1
        assert_invariants(factory)
    finally:
        engine.dispose()
