"""Property test on the database: random draws, repayments (any amount, value date, backdated), daily
closes (which apply customer credit to what falls due), waivers and payment reversals (chargebacks,
unwinding credit the reversed money had funded) never break the DESIGN.md invariants (balanced entries
and trial balance, sub-ledger = GL, cash in = allocated + unapplied, replay = stored state) and never
leave a negative balance (contract receivables and suspense, customer unapplied funds)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.core.errors import LendcoreError
from lendcore.core.loan import WaiverKind
from lendcore.servicing.codecs import contract_state
from lendcore.servicing.reverse import ReversePaymentRequest, reverse_payment
from lendcore.servicing.waive import WaiveRequest, waive
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, UnappliedFunds
from tests.servicing.support import (
    AMPLE_CREDIT,
    D0,
    assert_invariants,
    do_draw,
    do_repay,
    fresh_database,
    open_line,
)

_n = itertools.count()

step = st.one_of(
    st.tuples(
        st.just("draw"),
        st.sampled_from(["quick", "premium"]),
        st.integers(100_000, 2_000_000),
        st.sampled_from([1, 3, 6]),
    ),
    st.tuples(st.just("repay"), st.integers(1, 3_000_000), st.integers(0, 20), st.booleans()),
    st.tuples(st.just("eod"), st.integers(1, 25)),
    st.tuples(st.just("waive"), st.sampled_from(["penalty", "interest"])),
    st.tuples(st.just("reverse"), st.integers(0, 10)),
)


def _assert_no_negative_balances(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory, read_only=True) as session:
        for c in session.scalars(select(Contract)).all():
            mirrors = (c.outstanding_principal, c.interest_receivable, c.penalty_receivable, c.fee_receivable)
            assert min(mirrors) >= 0, (c.id, mirrors)
            state = contract_state(c)
            assert state.suspense >= 0 and state.total_outstanding >= 0, c.id
            for row in state.rows:
                assert (
                    min(
                        row.principal_outstanding,
                        row.interest_outstanding,
                        row.fee_outstanding,
                        row.penalty_outstanding,
                    )
                    >= 0
                ), (c.id, row)
        balances = session.scalars(select(UnappliedFunds.balance)).all()
        assert all(b >= 0 for b in balances), balances


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(step, min_size=3, max_size=12))
def test_random_servicing_never_breaks_invariants(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, steps: list[tuple[object, ...]]
) -> None:
    with fresh_database(request, tmp_path) as factory:
        cid, quick = open_line(factory, product="quick", limit=5_000_000)
        _, premium = open_line(factory, product="premium", limit=5_000_000, customer_id=cid)
        lines = {"quick": quick, "premium": premium}
        today = D0
        contracts: list[str] = []
        payments: list[str] = []
        for s in steps:
            try:
                if s[0] == "draw":
                    _, product, amount, term = s
                    r = do_draw(factory, lines[str(product)], int(amount), int(term), on=today)
                    if r["status"] == "disbursed":
                        contracts.append(r["contract_id"])
                elif s[0] == "repay":
                    _, amount, back, backdate = s
                    vd = today - timedelta(days=int(back)) if backdate else today
                    paid = do_repay(
                        factory, cid, int(amount), today, value_date=vd, max_overpayment=AMPLE_CREDIT
                    )
                    if paid["status"] == "succeeded":
                        payments.append(paid["payment_id"])
                elif s[0] == "eod":
                    for _ in range(int(s[1])):
                        today += timedelta(days=1)
                        assert run_daily_close(factory, today).ok
                elif s[0] == "waive" and contracts:
                    with unit_of_work(factory) as session:
                        waive(
                            session,
                            WaiveRequest(
                                contract_id=contracts[-1],
                                kind=WaiverKind(str(s[1])),
                                reason="goodwill",
                                actor="p",
                                business_date=today,
                                idempotency_key=f"w{next(_n)}",
                            ),
                        )
                elif s[0] == "reverse" and payments:
                    with unit_of_work(factory) as session:
                        reverse_payment(
                            session,
                            ReversePaymentRequest(
                                payment_id=payments[int(s[1]) % len(payments)],
                                reason="chargeback",
                                actor="p",
                                business_date=today,
                                idempotency_key=f"r{next(_n)}",
                            ),
                        )
            except LendcoreError as error:
                assert error.code in {
                    "NOTHING_TO_PAY",
                    "NOTHING_TO_WAIVE",
                    "CONTRACT_CLOSED",
                    "LIMIT_EXCEEDED",
                    "AMOUNT_OUT_OF_RANGE",
                    "TERM_NOT_ALLOWED",
                    "CONTRACT_WRITTEN_OFF",
                    "PAYMENT_ALREADY_REVERSED",
                }, error
            assert_invariants(factory)
            _assert_no_negative_balances(factory)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # each example is slow: no shrinking
)
@given(
    first=st.integers(100_000, 2_000_000),
    extra=st.integers(1, 2_000_000),
    second=st.tuples(
        st.sampled_from(["quick", "premium"]), st.integers(100_000, 2_000_000), st.sampled_from([3, 6])
    ),
    days=st.lists(st.integers(1, 40), min_size=1, max_size=4),
    reverse_which=st.sampled_from([0, 1, None]),
    then=st.integers(1, 40),
)
def test_customer_credit_and_reversals_keep_the_books(
    request: pytest.FixtureRequest,
    database_url: str,
    tmp_path: Path,
    first: int,
    extra: int,
    second: tuple[str, int, int],
    days: list[int],
    reverse_which: int | None,
    then: int,
) -> None:
    """Overpay a contract (credit), draw another, let closes apply the credit to its dues, then
    reverse the overpayment or a later payment (unwinding the credit it funded): invariants hold and
    no balance is ever negative."""
    with fresh_database(request, tmp_path) as factory:
        cid, quick = open_line(factory, product="quick", limit=5_000_000)
        _, premium = open_line(factory, product="premium", limit=5_000_000, customer_id=cid)
        lines = {"quick": quick, "premium": premium}
        today = D0
        do_draw(factory, quick, first, 1, on=today, method="bullet")
        today += timedelta(days=5)
        payoff = first + first * 3 * 5 // 10_000  # 5 days at 0.03 %/day (an upper bound: rounding)
        payments = [do_repay(factory, cid, payoff + extra, today, max_overpayment=AMPLE_CREDIT)["payment_id"]]
        product, amount, term = second
        do_draw(factory, lines[product], amount, term, on=today)
        for step in days:
            for _ in range(step):
                today += timedelta(days=1)
                assert run_daily_close(factory, today).ok
            assert_invariants(factory)
            _assert_no_negative_balances(factory)
        try:
            payments.append(do_repay(factory, cid, 50_000, today, max_overpayment=AMPLE_CREDIT)["payment_id"])
        except LendcoreError as error:
            assert error.code == "NOTHING_TO_PAY"
        if reverse_which is not None and reverse_which < len(payments):
            with unit_of_work(factory) as session:
                reverse_payment(
                    session,
                    ReversePaymentRequest(
                        payment_id=payments[reverse_which],
                        reason="returned",
                        actor="p",
                        business_date=today,
                        idempotency_key=f"r{next(_n)}",
                    ),
                )
            assert_invariants(factory)
            _assert_no_negative_balances(factory)
        for _ in range(then):
            today += timedelta(days=1)
            assert run_daily_close(factory, today).ok
        assert_invariants(factory)
        _assert_no_negative_balances(factory)
