"""``lendcore collection contact`` logs an attempt judged at that moment; ``queue`` lists overdue
contracts as CSV."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from lendcore.cli.main import app
from lendcore.store.engine import create_engine, create_session_factory
from tests.servicing.support import do_draw, open_line

runner = CliRunner()


def test_contact_at_22_30_is_logged_refused_and_the_queue_lists_the_overdue_contract(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    engine = create_engine(database_url)
    try:
        factory = create_session_factory(engine)
        customer, line = open_line(factory, product="premium", on=date(2026, 3, 1))
        contract = do_draw(factory, line, 1_200_000, 12, on=date(2026, 3, 1))["contract_id"]
    finally:
        engine.dispose()
    base = ["collection", "contact", "--customer", customer, "--channel", "call", "--agent", "a1"]
    late = runner.invoke(app, [*base, "--at", "2026-04-11T22:30", "--contract", contract, "--json"])
    assert late.exit_code == 0, late.output
    assert (json.loads(late.stdout)["outcome"], json.loads(late.stdout)["refusal"]) == (
        "refused",
        "QUIET_HOURS",
    )
    ok = runner.invoke(app, [*base, "--at", "2026-04-11T10:00"])
    assert ok.exit_code == 0 and ok.stdout.strip().endswith("call allowed")
    queue = runner.invoke(app, ["collection", "queue", "--date", "2026-04-11"])
    assert queue.exit_code == 0, queue.output
    header, *rows = queue.stdout.strip().splitlines()
    assert header == "bucket,contract_id,customer_id,dpd,overdue_fen"
    assert [row.split(",")[:4] for row in rows] == [["M1", contract, customer, "10"]]
