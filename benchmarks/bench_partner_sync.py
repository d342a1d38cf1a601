"""Booking the funding partners' ledgers for N jointly funded contracts, beside a plain-SQL reference.

    python benchmarks/bench_partner_sync.py [--contracts 2000]

The book: ``lendcore.batch.seed`` (its default templates: current, overdue, ahead, paid-off, each
with its disbursement, accruals and repayments), every contract then funded 30 % by one partner
(``contract_funding`` rows). Phases, each timed on a fresh SQLite file:

* first sync: :func:`lendcore.servicing.partners.sync_partner_ledgers` books every partner entry;
* second sync: the same call again, which books nothing (what the daily close pays every day);
* check: :func:`lendcore.servicing.partner_checks.partner_ledger_mismatches` (the close's invariant).

Reference, in the same database: one ``SELECT`` of every posting of those contracts in booking order
(the floor of reading the journal) plus one ``INSERT … SELECT`` writing as many rows as the first sync
wrote (the floor of writing them). Reported: seconds, partner entries, ratios to the reference.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import func, insert, select, text

from lendcore.batch.seed import seed_book
from lendcore.servicing.partner_checks import partner_ledger_mismatches
from lendcore.servicing.partners import register_partner, sync_partner_ledgers
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.migrate import upgrade_database
from lendcore.store.models import Contract, JournalEntry, Posting
from lendcore.store.models_privacy import ContractFunding, PartnerPosting
from lendcore.store.types import utc_now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade_database(url)
        engine = create_engine(url)
        factory = create_session_factory(engine)
        seed_book(factory, args.contracts)
        with unit_of_work(factory) as session:
            partner = register_partner(
                session, name="Bench Bank", concentration_limit=10**10, actor="bench", at=utc_now()
            ).id
            ids = session.scalars(select(Contract.id).where(Contract.status != "pending")).all()
            session.execute(
                insert(ContractFunding),
                [
                    {
                        "contract_id": c,
                        "partner_id": partner,
                        "share_bp": 3_000,
                        "funded_amount": 1,
                        "funded_on": date(2026, 1, 1),
                        "created_at": utc_now(),
                    }
                    for c in ids
                ],
            )
        started = time.perf_counter()
        with unit_of_work(factory) as session:
            booked = sync_partner_ledgers(session)
        first = time.perf_counter() - started
        started = time.perf_counter()
        with unit_of_work(factory) as session:
            again = sync_partner_ledgers(session)
        second = time.perf_counter() - started
        with unit_of_work(factory) as session:
            rows = int(session.scalar(select(func.count()).select_from(PartnerPosting)) or 0)
        started = time.perf_counter()
        with unit_of_work(factory, read_only=True) as session:
            mismatches = partner_ledger_mismatches(session)
        check = time.perf_counter() - started
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(
                select(Posting.entry_id, Posting.account_code, Posting.debit, Posting.credit)
                .join(JournalEntry, JournalEntry.id == Posting.entry_id)
                .join(ContractFunding, ContractFunding.contract_id == JournalEntry.contract_id)
                .order_by(Posting.id)
            ).all()
            connection.execute(text("CREATE TEMP TABLE ref AS SELECT * FROM partner_postings WHERE 0"))
            connection.execute(text("INSERT INTO ref SELECT * FROM partner_postings"))
        reference = time.perf_counter() - started
        engine.dispose()
    print(
        json.dumps(
            {
                "contracts": len(ids),
                "partner_entries": booked,
                "partner_postings": rows,
                "second_sync_booked": again,
                "first_sync_s": round(first, 3),
                "second_sync_s": round(second, 3),
                "check_s": round(check, 3),
                "check_mismatches": len(mismatches),
                "reference_s": round(reference, 3),
                "first_vs_reference": round(first / reference, 1),
                "second_vs_reference": round(second / reference, 1),
                "check_vs_reference": round(check / reference, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
