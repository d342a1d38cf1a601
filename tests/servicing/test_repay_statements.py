"""How many SQL statements one on-time repayment issues (issue 12: the hot path), on both databases.

A regression guard, not a timing test: the count is exact and deterministic. The ceiling is what the
hot path was cut down to; a change that adds a round trip to every repayment fails here and has to
say why (and move the ceiling) in the same commit. BEGIN and COMMIT are not counted (every
transaction has them; pgbench TPC-B's five statements do not count them either).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lendcore.servicing.repay import RepayRequest, repay
from lendcore.store.engine import unit_of_work
from tests.servicing.support import D0, assert_invariants, do_draw, key, open_line
from tests.statements import sent_statements

#: Statements of one on-time, single-contract repayment (the unapplied-funds row already exists): claim
#: the key, lock the contracts (and ask whether a lender-fault window covers the date: one statement),
#: lock the unapplied funds, insert the payment, book (one data-modifying CTE), store the response. SQLite
#: has no data-modifying CTEs: 9. A fault window covering the date adds its reads and the waiver.
CEILING = {"sqlite": 9, "postgresql": 6}


def _repay(factory: sessionmaker[Session], customer_id: str, amount: int) -> None:
    with unit_of_work(factory) as session:
        repay(session, RepayRequest(customer_id, D0 + timedelta(days=3), key("repay"), amount=amount))


def test_an_on_time_repayment_stays_within_its_statement_budget(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    customer_id, line_id = open_line(session_factory)
    do_draw(session_factory, line_id, 1_000_000, 6)
    _repay(session_factory, customer_id, 100)  # the customer's unapplied-funds row now exists
    with sent_statements(engine) as seen:
        _repay(session_factory, customer_id, 100)
    assert len(seen) <= CEILING[engine.dialect.name], "\n".join(seen)
    # and the lean path still keeps every invariant (replay = stored state included)
    assert_invariants(session_factory)


def test_a_replayed_key_costs_a_claim_and_a_read_and_writes_nothing(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    customer_id, line_id = open_line(session_factory)
    do_draw(session_factory, line_id, 1_000_000, 6)
    request = RepayRequest(customer_id, D0 + timedelta(days=3), key("repay"), amount=100)
    with unit_of_work(session_factory) as session:
        first = repay(session, request)
    with sent_statements(engine) as seen, unit_of_work(session_factory) as session:
        again = repay(session, request)
    assert again == first
    assert len(seen) == 2, "\n".join(seen)
    assert seen[0].startswith("INSERT INTO idempotency_keys") and seen[1].startswith("SELECT")
