"""``lendcore autopay mandate|revoke|run``: a customer with the autopay_debit consent mandates a card;
the run on the due date records the debit (the worker submits it); the retry does not double a debit
in flight; a mandate is revoked."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from lendcore.cli.main import app
from lendcore.core.consent import ConsentKind
from lendcore.origination.onboarding import ConsentGrantRequest, grant_consent
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.models import Payment
from tests.batch.test_autopay import AT, _card
from tests.servicing.support import do_draw, open_line

runner = CliRunner()


def _ok(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_mandate_run_revoke(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    try:
        cid, line = open_line(factory)
        contract = do_draw(factory, line, 1_000_000, 1, method="bullet")["contract_id"]  # due 2026-04-01
        with unit_of_work(factory) as session:
            card = _card(session, cid, "1111")
        refused = runner.invoke(
            app, ["autopay", "mandate", "--customer", cid, "--card", card, "--actor", "ops1"]
        )
        assert refused.exit_code == 2 and "[AUTOPAY_CONSENT_REQUIRED]" in refused.stderr
        with unit_of_work(factory) as session:
            grant_consent(session, ConsentGrantRequest(cid, ConsentKind.AUTOPAY_DEBIT, "1.0"), at=AT)
        mandate = _ok("autopay", "mandate", "--customer", cid, "--card", card, "--actor", "ops1")
        assert mandate["status"] == "active" and mandate["role"] == "primary"
        report = _ok("autopay", "run", "--date", "2026-04-01")
        assert list(report["requested"]) == [contract] and report["attempt"] == 1
        with unit_of_work(factory, read_only=True) as session:
            payment = session.scalars(select(Payment).where(Payment.purpose == "repayment")).one()
            assert payment.contract_id == contract and payment.state == "created"
        assert _ok("autopay", "revoke", mandate["id"], "--actor", "ops1")["status"] == "revoked"
        again = _ok("autopay", "run", "--date", "2026-04-01", "--attempt", "2")
        assert again["requested"] == {} and again["skipped"] == {contract: "payment_in_flight"}
    finally:
        engine.dispose()
