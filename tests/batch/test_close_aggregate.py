"""The aggregate close equals the per-contract close (the fold, the oracle) to the fen.

Quiet contracts are accrued in aggregate (one entry per product and date, no contract row written);
event contracts are folded. Whatever happens to a book (draws, early and late repayments, backdated
payments, reversals, waivers), after closing the same days with each engine every contract's state,
brought to the last closed date, its mirrors, and every general-ledger balance agree (the aggregate
accounts 1132.91 and 1132.92 counting as interest and penalty receivable), and both books pass every
invariant, replay included. New engine on SQLite and PostgreSQL; the oracle on SQLite.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch import close_partitions
from lendcore.batch.close import CloseOptions, run_daily_close
from lendcore.core.accrual import accrue
from lendcore.core.errors import LendcoreError
from lendcore.core.ledger import Account
from lendcore.core.transactions import WaiverKind
from lendcore.queries.loans import loan_view
from lendcore.servicing.codecs import state_from_json, terms_from_json
from lendcore.servicing.invariants import check_invariants
from lendcore.servicing.reverse import ReversePaymentRequest, reverse_payment
from lendcore.servicing.waive import WaiveRequest, waive
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.models import Contract, LoanTransaction, Payment
from lendcore.store.models_close import AccrualAggregate, CloseRange
from tests.batch.books import comparable
from tests.db_fixtures import DATABASES
from tests.servicing.support import AMPLE_CREDIT, D0, do_draw, do_repay, key, open_line, snapshot

AGGREGATE = CloseOptions(engine="aggregate", partition=2, verify_replay=False, quiet_overdue=True)
PER_CONTRACT = CloseOptions(engine="per-contract")


# -- a book and what happens to it ---------------------------------------------------------------------


@dataclass(frozen=True)
class Loan:
    method: str
    term: int
    amount: int
    drawn: int  # day index of the draw


@dataclass(frozen=True)
class Op:
    day: int
    kind: str  # repay | backdated | reverse | waive-penalty | waive-interest
    who: int  # index of the loan (one customer per loan)
    amount: int
    back: int  # days back for a backdated payment


loans = st.builds(
    Loan,
    method=st.sampled_from(["equal-installment", "bullet", "equal-principal"]),
    term=st.integers(1, 3),
    amount=st.integers(50, 3_000).map(lambda n: n * 1_000),
    drawn=st.integers(0, 4),
)
ops = st.builds(
    Op,
    day=st.integers(1, 44),
    kind=st.sampled_from(["repay", "repay", "backdated", "reverse", "waive-penalty", "waive-interest"]),
    who=st.integers(0, 2),
    amount=st.integers(1, 1_200).map(lambda n: n * 1_000),
    back=st.integers(1, 6),
)


def _apply(factory: sessionmaker[Session], op: Op, customer: str, contract: str, on: date) -> str:
    """One operation on business date ``on``; what happened ("ok" or the refusal's code)."""
    try:
        if op.kind in ("repay", "backdated"):
            back = on - timedelta(days=op.back) if op.kind == "backdated" else None
            do_repay(factory, customer, op.amount, on, value_date=back, max_overpayment=AMPLE_CREDIT)
        elif op.kind == "reverse":
            with unit_of_work(factory) as session:
                payment = session.scalars(
                    select(Payment.id)
                    .where(
                        Payment.customer_id == customer,
                        Payment.direction == "inbound",
                        Payment.state == "succeeded",
                    )
                    .order_by(Payment.requested_at.desc())
                    .limit(1)
                ).first()
                if payment is None:
                    return "no-payment"
                request = ReversePaymentRequest(payment, "bounced", "ops", on, key("rev"))
                reverse_payment(session, request)
        else:
            kind = WaiverKind.PENALTY if op.kind == "waive-penalty" else WaiverKind.INTEREST
            with unit_of_work(factory) as session:
                waive(session, WaiveRequest(contract, kind, "goodwill", "ops", on, key("waive"), None))
    except LendcoreError as error:
        return error.code
    return "ok"


def run_book(
    factory: sessionmaker[Session], options: CloseOptions, book: list[Loan], events: list[Op], days: int
) -> tuple[list[str], list[str]]:
    """Draw the loans, apply the operations and close ``days`` dates from D0: (contract ids in loan
    order, what each operation did)."""
    lines = [open_line(factory) for _ in book]
    contracts: list[str | None] = [None] * len(book)
    outcomes: list[str] = []
    for t in range(days):
        on = D0 + timedelta(days=t)
        for i, loan in enumerate(book):
            if loan.drawn == t:
                drawn = do_draw(factory, lines[i][1], loan.amount, loan.term, on=on, method=loan.method)
                contracts[i] = drawn["contract_id"]
        for op in (e for e in events if e.day == t):
            who = op.who % len(book)
            target = contracts[who]
            outcomes.append("not-drawn" if target is None else _apply(factory, op, lines[who][0], target, on))
        report = run_daily_close(factory, on, options=options)
        assert report.ok, report.invariants
    return [c for c in contracts if c is not None], outcomes


# -- what must agree -------------------------------------------------------------------------------------


_ROW_FIELDS = (
    "period", "due_date", "principal", "principal_paid",
    "interest_accrued", "interest_paid", "interest_waived",
    "fee_charged", "fee_paid", "fee_waived",
    "penalty_accrued", "penalty_paid", "penalty_waived", "settled_on",
)  # fmt: skip


def contract_view(factory: sessionmaker[Session], contract_id: str, last: date) -> dict[str, Any]:
    """A contract's money as of the close of ``last`` (its snapshot accrued to ``last``: a quiet
    contract's snapshot is older), with its stored mirrors that do not depend on the accrual date."""
    with unit_of_work(factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None
        state, _ = accrue(state_from_json(terms_from_json(c.terms), c.state), last)
        return {
            "status": state.status.value,
            "suspense": state.suspense,
            "cash_in": state.cash_in,
            "credit": (state.credit_in, state.credit_out),
            "rows": [tuple(getattr(r, f) for f in _ROW_FIELDS) for r in state.rows],
            "mirrors": (
                c.status,
                c.outstanding_principal,
                c.days_past_due,
                c.max_days_past_due,
                c.classification,
            ),
        }


def shown(factory: sessionmaker[Session], contract_id: str) -> dict[str, Any]:
    """What the customer, the back office and the API are shown of the contract (its read model),
    but for its ids and its history (the per-contract engine books an accrual a night)."""
    with unit_of_work(factory, read_only=True) as session:
        view = loan_view(session, contract_id).to_json()
    return {k: v for k, v in view.items() if k not in ("contract_id", "customer_id", "line_id", "history")}


def ledger_view(factory: sessionmaker[Session]) -> dict[str, int]:
    """Balance per account, with interest (penalty) accrued in aggregate counted as interest (penalty)
    receivable."""
    with unit_of_work(factory, read_only=True) as session:
        report = check_invariants(session, replay_contracts=True)
        assert report.ok, report.to_dict()
        balances = {line.account: line.balance for line in report.trial_balance.lines}
    balances[Account.INTEREST_RECEIVABLE] += balances.pop(Account.INTEREST_ACCRUED_AGGREGATE)
    balances[Account.PENALTY_RECEIVABLE] += balances.pop(Account.PENALTY_ACCRUED_AGGREGATE)
    return {a.value: b for a, b in balances.items() if b}


# -- databases: a fresh pair per example (the new engine on SQLite or PostgreSQL, the oracle on SQLite) ---


@pytest.fixture(params=DATABASES)
def fresh_books(
    request: pytest.FixtureRequest, _sqlite_template: Path, tmp_path: Path
) -> Iterator[Callable[[], tuple[sessionmaker[Session], sessionmaker[Session]]]]:
    counter = itertools.count()
    engines: list[Engine] = []

    def sqlite_copy() -> sessionmaker[Session]:
        path = tmp_path / f"book{next(counter)}.db"
        shutil.copyfile(_sqlite_template, path)
        engines.append(create_engine(f"sqlite:///{path}"))
        return create_session_factory(engines[-1])

    make_new = sqlite_copy
    if request.param == "postgresql":
        url, admin, non_empty_query = request.getfixturevalue("_postgres_worker_database")
        engines.append(create_engine(url))
        pg = create_session_factory(engines[-1])

        def emptied() -> sessionmaker[Session]:
            with admin.begin() as connection:
                tables = connection.scalars(text(non_empty_query)).all()
                if tables:
                    connection.exec_driver_sql(f"TRUNCATE TABLE {', '.join(tables)} RESTART IDENTITY CASCADE")
            return pg

        make_new = emptied
    yield lambda: (make_new(), sqlite_copy())
    for engine in engines:
        engine.dispose()


@settings(
    max_examples=int(os.environ.get("LENDCORE_CLOSE_EXAMPLES", "6")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # a failing example is a whole book: shrinking it through two databases takes minutes
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)
@given(
    book=st.lists(loans, min_size=1, max_size=3), events=st.lists(ops, max_size=6), days=st.integers(30, 45)
)
def test_the_aggregate_close_equals_the_per_contract_close(
    fresh_books: Callable[[], tuple[sessionmaker[Session], sessionmaker[Session]]],
    book: list[Loan],
    events: list[Op],
    days: int,
) -> None:
    note(repr((book, events, days)))
    new, oracle = fresh_books()
    new_ids, new_outcomes = run_book(new, AGGREGATE, book, events, days)
    old_ids, old_outcomes = run_book(oracle, PER_CONTRACT, book, events, days)
    assert new_outcomes == old_outcomes
    for outcome in new_outcomes:
        event(outcome)
    last = D0 + timedelta(days=days - 1)
    for new_id, old_id in zip(new_ids, old_ids, strict=True):
        assert contract_view(new, new_id, last) == contract_view(oracle, old_id, last)
        assert shown(new, new_id) == shown(oracle, old_id)
    assert ledger_view(new) == ledger_view(oracle)


# -- worked example: a quiet contract is not touched, and its next event takes its interest back ---------


def _accrual_rows(factory: sessionmaker[Session], contract_id: str) -> int:
    with unit_of_work(factory, read_only=True) as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    LoanTransaction.contract_id == contract_id, LoanTransaction.type == "penalty-accrual"
                )
            )
            or 0
        )


def _pool(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory, read_only=True) as session:
        report = check_invariants(session)
        assert report.ok, report.to_dict()
        return report.trial_balance.balance(Account.INTEREST_ACCRUED_AGGREGATE)


def test_a_quiet_contract_is_accrued_in_aggregate_and_its_next_payment_takes_it_back(
    session_factory: sessionmaker[Session],
) -> None:
    """¥10,000 quick, 3 months equal installments, drawn on D0 at 0.03 %/day: 300 fen a day. The close of
    D0 folds it (drawn that day); D0+1 … D0+10 are quiet: 10 days of interest, 3,000 fen, sit in
    1132.91 and the contract's rows are not written, yet the contract is shown with them (as of the
    close of D0+10). A payment on D0+11 folds 11 days on the contract and moves the 3,000 out of the
    aggregate."""
    customer, line = open_line(session_factory)
    contract_id = do_draw(session_factory, line, 1_000_000, 3)["contract_id"]
    reports = [run_daily_close(session_factory, D0 + timedelta(days=t), options=AGGREGATE) for t in range(11)]
    assert [r.quiet_contracts for r in reports] == [0] + [1] * 10
    assert [r.interest_accrued for r in reports] == [0] + [300] * 10
    assert _accrual_rows(session_factory, contract_id) == 1  # the close of D0 only
    assert _pool(session_factory) == 3_000
    with unit_of_work(session_factory, read_only=True) as session:
        aggregates = session.scalars(select(AccrualAggregate).order_by(AccrualAggregate.business_date)).all()
        assert [(a.product_code, a.contracts, a.interest) for a in aggregates][-1] == ("quick", 1, 300)
        stored = session.get(Contract, contract_id)
        assert stored is not None and (stored.as_of, stored.interest_receivable) == (D0, 0)
        view = loan_view(session, contract_id)
    assert (view.as_of, view.accrued_through) == (D0 + timedelta(days=10), D0 + timedelta(days=10))
    assert (view.balances.interest, view.installments[0].interest_accrued) == (3_000, 3_000)
    assert view.balances.total == 1_000_000 + 3_000
    do_repay(session_factory, customer, 50_000, D0 + timedelta(days=11))
    assert _pool(session_factory) == 0
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None and c.aggregated_from is None
        state = state_from_json(terms_from_json(c.terms), c.state)
    assert sum(r.interest_accrued for r in state.rows) == 3_300  # 11 days, now on the contract itself


# -- a crash in the middle of the aggregate step, and reruns ----------------------------------------------


class PartitionCrashError(RuntimeError):
    pass


def _six_quiet_loans(factory: sessionmaker[Session]) -> list[str]:
    ids = []
    for i in range(6):
        _, line = open_line(factory)
        ids.append(do_draw(factory, line, 300_000 + 100_000 * i, 3)["contract_id"])
    assert run_daily_close(factory, D0, options=AGGREGATE).ok  # drawn today: folded
    return sorted(ids)


def test_a_crashed_partition_rolls_back_and_the_rerun_resumes_to_the_same_books(
    fresh_books: Callable[[], tuple[sessionmaker[Session], sessionmaker[Session]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Partitions of one contract each: the third dies inside its transaction (its rows written, not
    committed). The close fails and frees its lease; the rerun skips the two ranges done and finishes.
    The books then equal a clean run's (a twin book on another database), and a rerun of a closed date
    changes nothing."""
    crashed, clean = fresh_books()
    crashed_ids, clean_ids = _six_quiet_loans(crashed), _six_quiet_loans(clean)
    one_each = CloseOptions(engine="aggregate", partition=1)
    real = close_partitions.accrue_partition
    calls = 0

    def dies_third(session: Session, day: date, after: str | None, upto: str | None, **options: Any) -> Any:
        nonlocal calls
        calls += 1
        totals = real(session, day, after, upto, **options)
        if calls == 3:
            raise PartitionCrashError("killed inside partition 3")
        return totals

    monkeypatch.setattr(close_partitions, "accrue_partition", dies_third)
    with pytest.raises(PartitionCrashError):
        run_daily_close(crashed, D0 + timedelta(days=1), options=one_each)
    with unit_of_work(crashed, read_only=True) as session:
        done = select(func.count()).where(CloseRange.business_date == D0 + timedelta(days=1))
        assert session.scalar(done) == 2  # partitions 1 and 2 committed, 3 rolled back
    monkeypatch.setattr(close_partitions, "accrue_partition", real)
    resumed = run_daily_close(crashed, D0 + timedelta(days=1), options=one_each)
    straight = run_daily_close(clean, D0 + timedelta(days=1), options=one_each)
    assert (resumed.status, resumed.runs, resumed.quiet_contracts) == ("succeeded", 2, 6)
    assert comparable(resumed) == comparable(straight)
    assert ledger_view(crashed) == ledger_view(clean)
    last = D0 + timedelta(days=1)
    for a, b in zip(crashed_ids, clean_ids, strict=True):
        assert contract_view(crashed, a, last) == contract_view(clean, b, last)
    before = snapshot(crashed)
    again = run_daily_close(crashed, D0 + timedelta(days=1), options=one_each)
    assert again.status == "skipped" and snapshot(crashed) == before
