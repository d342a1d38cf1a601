"""Property test on the database: random draws, repayments (any amount, value date, backdated), daily
closes and waivers never break the DESIGN.md invariants (balanced entries and trial balance, sub-ledger
= GL, cash in = allocated + unapplied, replay = stored state, no negative balances)."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.core.errors import LendcoreError
from lendcore.servicing.waive import waive
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from tests.servicing.support import D0, assert_invariants, do_draw, do_repay, open_line

_n = itertools.count()

step = st.one_of(
    st.tuples(st.just("draw"), st.sampled_from(["quick", "premium"]), st.integers(100_000, 2_000_000),
              st.sampled_from([1, 3, 6])),
    st.tuples(st.just("repay"), st.integers(1, 1_500_000), st.integers(0, 20), st.booleans()),
    st.tuples(st.just("eod"), st.integers(1, 25)),
    st.tuples(st.just("waive"), st.sampled_from(["penalty", "interest"])),
)  # fmt: skip


@contextmanager
def _fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    if request.node.callspec.params["database_url"] == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / f"p{next(_n)}.db"
        shutil.copyfile(template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_database_url")
        engine = create_engine(url)
        with engine.begin() as c:
            tables = c.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                    "AND tablename <> 'alembic_version'")).all()  # fmt: skip
            c.exec_driver_sql(f"TRUNCATE TABLE {', '.join(tables)} RESTART IDENTITY CASCADE")
        engine.dispose()
    engine = create_engine(url)
    try:
        yield create_session_factory(engine)
    finally:
        engine.dispose()


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(step, min_size=3, max_size=12))
def test_random_servicing_never_breaks_invariants(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, steps: list[tuple[object, ...]]
) -> None:
    with _fresh(request, tmp_path) as factory:
        cid, quick = open_line(factory, product="quick", limit=5_000_000)
        _, premium = open_line(factory, product="premium", limit=5_000_000, customer_id=cid)
        lines = {"quick": quick, "premium": premium}
        today = D0
        contracts: list[str] = []
        for s in steps:
            try:
                if s[0] == "draw":
                    _, product, amount, term = s
                    r = do_draw(factory, lines[str(product)], int(amount), int(term), on=today)  # type: ignore[call-overload]
                    if r["status"] == "disbursed":
                        contracts.append(r["contract_id"])
                elif s[0] == "repay":
                    _, amount, back, backdate = s
                    vd = today - timedelta(days=int(back)) if backdate else today  # type: ignore[call-overload]
                    do_repay(factory, cid, int(amount), today, value_date=vd)  # type: ignore[call-overload]
                elif s[0] == "eod":
                    for _ in range(int(s[1])):  # type: ignore[call-overload]
                        today += timedelta(days=1)
                        assert run_daily_close(factory, today).ok
                elif s[0] == "waive" and contracts:
                    with unit_of_work(factory) as session:
                        waive(session, contract_id=contracts[-1], kind=str(s[1]), reason="goodwill",
                              actor="p", business_date=today, idempotency_key=f"w{next(_n)}")  # fmt: skip
            except LendcoreError as error:
                assert error.code in {
                    "NOTHING_TO_PAY", "NOTHING_TO_WAIVE", "CONTRACT_CLOSED", "LIMIT_EXCEEDED",
                    "AMOUNT_OUT_OF_RANGE", "TERM_NOT_ALLOWED", "CONTRACT_WRITTEN_OFF",
                }, error  # fmt: skip
            assert_invariants(factory)
