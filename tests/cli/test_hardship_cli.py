"""``lendcore hardship``: an operator proposes a plan (printed, nothing booked), another member of staff
approves it (the offer), and the customer's acceptance books it; a second decision is refused."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from typer.testing import CliRunner

from lendcore.batch.close import run_daily_close
from lendcore.cli.main import app
from lendcore.store.engine import create_engine, create_session_factory
from tests.servicing.support import do_draw, open_line

runner = CliRunner()


def _ok(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_offer_approve_show_accept(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    engine = create_engine(database_url)
    try:
        factory = create_session_factory(engine)
        customer, line = open_line(factory, product="premium", on=date(2026, 3, 1))
        contract = do_draw(factory, line, 1_200_000, 12, on=date(2026, 3, 1), method="equal-installment")[
            "contract_id"
        ]
        run_daily_close(factory, date(2026, 3, 9))  # the open business date is 03-10
    finally:
        engine.dispose()
    _ok("admin", "create-user", "--username", "ops.wang", "--role", "operator")
    _ok("admin", "create-user", "--username", "risk.li", "--role", "risk")
    proposed = _ok(
        *("hardship", "offer", "--contract", contract, "--kind", "re-amortisation", "--periods", "3"),
        *("--staff", "ops.wang", "--reason", "income fell"),
    )
    plan = proposed["plan"]
    assert len(plan["schedule"]) == 12 + 3 and sum(r["principal"] for r in plan["schedule"]) == 1_200_000
    text = runner.invoke(app, ["hardship", "show", "--contract", contract])
    assert text.exit_code == 0 and text.stdout == ""  # proposed, not yet offered
    approved = _ok("approvals", "approve", proposed["proposal_id"], "--staff", "risk.li")
    offer = approved["result"]["id"]
    [shown] = _ok("hardship", "show", "--customer", customer)
    assert shown["id"] == offer and shown["plan"] == plan and shown["status"] == "offered"
    accepted = _ok("hardship", "accept", offer, "--customer", customer, "--key", "k-acc")
    assert accepted["status"] == "accepted" and accepted["maturity_date"] == plan["schedule"][-1]["due_date"]
    assert _ok("hardship", "accept", offer, "--customer", customer, "--key", "k-acc") == accepted
    again = runner.invoke(app, ["hardship", "decline", offer, "--customer", customer, "--key", "k-dec"])
    assert again.exit_code == 2 and again.stderr.strip().endswith("[HARDSHIP_OFFER_DECIDED]")
    printed = runner.invoke(app, ["hardship", "show", "--offer", offer])
    assert printed.exit_code == 0 and f"{offer} {contract} accepted" in printed.stdout
