"""How many SQL statements the autopay run issues per contract of a chunk (issue 11: 100,000 due
contracts a day), on both databases.

A regression guard, not a timing test: the counts are exact and deterministic. What the checks read
(consent, payments in flight, mandates, customer credit, attempt 1's payment) is read once per chunk,
so a contract costs only its request; a change that reads per contract again fails here and has to say
why (and move the ceiling) in the same commit. BEGIN and COMMIT are not counted (as in
tests/servicing/test_repay_statements.py).
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.autopay import run_autopay_chunked
from tests.batch.test_autopay import DUE, MORNING, _borrower
from tests.statements import sent_statements

#: One contract requested, for a customer who never held credit: the request (claim its key, lock the
#: customer's contracts and unapplied funds, the fault windows, the payment with its allocation, its
#: event, its submit job, the key's response) and the notification. The same on both databases.
PER_CONTRACT = 9
#: One chunk: the contracts due, their keys, mandates, consents, the locks (contracts, unapplied funds),
#: payments in flight, the missing unapplied-funds rows; and the empty read that ends the run.
PER_CHUNK = 9
CONTRACTS = 6


def test_a_chunk_costs_its_requests_and_a_constant_not_reads_per_contract(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    for _ in range(CONTRACTS):
        _borrower(session_factory)
    with sent_statements(engine) as seen:
        report = run_autopay_chunked(session_factory, DUE, 1, now=MORNING, chunk=CONTRACTS)
    assert len(report.requested) == CONTRACTS and report.skipped == {}
    assert len(seen) <= PER_CONTRACT * CONTRACTS + PER_CHUNK, "\n".join(seen)


def test_contracts_skipped_on_the_chunk_reads_cost_nothing_each(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    for _ in range(CONTRACTS):
        _borrower(session_factory, consent=False)
    with sent_statements(engine) as seen:
        report = run_autopay_chunked(session_factory, DUE, 1, now=MORNING, chunk=CONTRACTS)
    assert report.skipped == dict.fromkeys(report.skipped, "no_consent") and len(report.skipped) == CONTRACTS
    assert len(seen) <= PER_CHUNK, "\n".join(seen)


def test_a_rerun_of_a_requested_chunk_costs_its_two_reads(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    for _ in range(CONTRACTS):
        _borrower(session_factory)
    run_autopay_chunked(session_factory, DUE, 1, now=MORNING, chunk=CONTRACTS + 1)
    with sent_statements(engine) as seen:
        again = run_autopay_chunked(session_factory, DUE, 1, now=MORNING, chunk=CONTRACTS + 1)
    assert again.requested == {} and set(again.skipped.values()) == {"already_requested"}
    assert len(seen) == 2, "\n".join(seen)  # the contracts due and their keys: nothing per contract
