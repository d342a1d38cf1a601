"""``lendcore partners register|statement|sync`` and ``draw --fund``: a partner funds its share and
reads it on its statement."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from lendcore.cli import database
from lendcore.cli.main import app
from lendcore.core.consent import ConsentKind
from lendcore.origination.onboarding import ConsentGrantRequest, grant_consent
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from tests.servicing.support import new_customer, open_line

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_partner_funds_a_drawdown_and_reads_its_statement(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    engine = create_engine(database_url)
    try:
        factory = create_session_factory(engine)
        with unit_of_work(factory) as session:
            customer = new_customer(session)
            grant = ConsentGrantRequest(customer, ConsentKind.FUNDING_PARTNER_SHARING, "1.0")
            grant_consent(session, grant, at=datetime(2026, 1, 1, tzinfo=UTC))
        _, line = open_line(factory, limit=2_000_000, customer_id=customer, on=database.today())
    finally:
        engine.dispose()
    _ok("admin", "create-user", "--username", "ops.li", "--role", "admin")
    partner = json.loads(
        _ok("partners", "register", "--name", "Bank A", "--limit", "50000", "--staff", "ops.li", "--json")
    )
    drawn = json.loads(
        _ok(
            "draw",
            "--line",
            line,
            "--amount",
            "10000",
            "--term",
            "3",
            "--fund",
            f"{partner['id']}:4000",
            "--yes",
            "--json",
        )
    )
    assert drawn["funding"] == [{"partner_id": partner["id"], "share_bp": 4000}]
    today = database.today().isoformat()
    shown = _ok("partners", "statement", "--partner", partner["id"], "--date", today)
    header, *rows = csv.reader(io.StringIO(shown))
    assert header == ["account", "title", "opening_fen", "debits_fen", "credits_fen", "closing_fen"]
    principal = next(row for row in rows if row[0] == "1303.01")
    assert principal[2:] == ["0", "400000", "0", "400000"]  # 40 % of ¥10,000.00, funded today
    statement = json.loads(
        _ok("partners", "statement", "--partner", partner["id"], "--date", today, "--json")
    )
    assert statement["contracts"][0]["customer_id"] == customer and statement["exposure"] == 400_000
    assert json.loads(_ok("partners", "sync", "--json")) == {"booked": 0}  # already booked: idempotent
