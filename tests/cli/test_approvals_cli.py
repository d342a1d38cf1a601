"""``lendcore approvals``: an operator proposes a line freeze, a risk officer approves it, the line is
frozen and the list shows it executed; the proposer cannot approve their own."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from lendcore.cli.main import app
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.models import CreditLine
from tests.servicing.support import open_line

runner = CliRunner()


def _ok(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_propose_approve_list(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    _ok("admin", "create-user", "--username", "olga", "--role", "operator")
    _ok("admin", "create-user", "--username", "rita", "--role", "risk")
    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    try:
        _, line_id = open_line(factory)
        proposal = _ok("approvals", "propose", "line-freeze", line_id, "--staff", "olga", "--reason", "fraud")
        assert proposal["status"] == "proposed"
        own = runner.invoke(app, ["approvals", "approve", proposal["id"], "--staff", "olga"])
        assert own.exit_code == 2 and "[SELF_APPROVAL]" in own.output
        approved = _ok("approvals", "approve", proposal["id"], "--staff", "rita")
        assert approved["status"] == "executed" and approved["decided_by"].startswith("stf_")
        listed = _ok("approvals", "list", "--status", "executed")
        assert [p["id"] for p in listed] == [proposal["id"]]
        with unit_of_work(factory, read_only=True) as session:
            line = session.get(CreditLine, line_id)
            assert line is not None and line.status == "frozen"
    finally:
        engine.dispose()


def test_a_decision_override_through_the_cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from lendcore.store.models_origination import CreditApplication
    from tests.origination.helpers import apply, register

    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    _ok("admin", "create-user", "--username", "rita", "--role", "risk")
    _ok("admin", "create-user", "--username", "rolf", "--role", "risk")
    _ok("admin", "create-user", "--username", "olga", "--role", "operator")
    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    try:
        with unit_of_work(factory) as session:
            decided = apply(session, register(session).id, requested_amount=40_000_00)
        assert decided["outcome"] == "declined"
        payload = json.dumps({"outcome": "approved", "credit_limit": 20_000_00})
        args = ("decision-override", decided["decision_id"], "--reason", "verified", "--payload", payload)
        refused = runner.invoke(app, ["approvals", "propose", *args, "--staff", "olga"])
        assert refused.exit_code == 2 and "[PERMISSION_DENIED]" in refused.output
        proposal = _ok("approvals", "propose", *args, "--staff", "rita")
        approved = _ok("approvals", "approve", proposal["id"], "--staff", "rolf")
        assert approved["status"] == "executed" and approved["result"]["outcome"] == "approved"
        with unit_of_work(factory, read_only=True) as session:
            application = session.get(CreditApplication, decided["application_id"])
            line = session.get(CreditLine, approved["result"]["credit_line_id"])
            assert application is not None and application.status == "approved"
            assert line is not None and line.credit_limit == 20_000_00
    finally:
        engine.dispose()
