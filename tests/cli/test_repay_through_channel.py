"""``lendcore repay`` goes through the payment channel like every other repayment: the payment is
recorded and committed first, then submitted with no transaction open. The in-process channel of the
embedded default confirms at once (booked at once); with ``LENDCORE_CHANNEL_URL`` (a real channel,
here the simulator process) the command leaves it processing, books nothing, and ``lendcore worker``
submits it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lendcore.cli.main import app
from lendcore.store.engine import create_engine, create_session_factory
from tests.payments.sim.service import simulator_process
from tests.payments.support import events, payment

runner = CliRunner()


def _ok(*args: str) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def _borrowed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[str, str, str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("LENDCORE_DATABASE_URL", url)
    monkeypatch.delenv("LENDCORE_CHANNEL_URL", raising=False)
    line = _ok(
        "line", "open", "--customer", "new", "--product", "quick", "--limit", "20000", "--date", "2026-03-01"
    )
    draw = ("draw", "--line", str(line["line_id"]), "--amount", "5000", "--term", "1", "--method", "bullet")
    drawn = _ok(*draw, "--date", "2026-03-01", "--yes", "--key", "d1")
    return url, str(line["customer_id"]), str(drawn["contract_id"])


def test_the_embedded_channel_confirms_a_recorded_payment_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, customer, _ = _borrowed(monkeypatch, tmp_path)
    repaid = _ok("repay", "--customer", customer, "--amount", "100", "--key", "r1")
    assert repaid["status"] == "succeeded" and repaid["amount"] == 10_000
    engine = create_engine(url)
    try:
        trail = events(create_session_factory(engine), str(repaid["payment_id"]))
    finally:
        engine.dispose()
    # recorded by the request (committed), then the channel's answer to the submission
    assert [source for source, _, _ in trail][:1] == ["request"]
    assert ("submit", "transition", "succeeded") in trail
    assert _ok("repay", "--customer", customer, "--amount", "100", "--key", "r1") == repaid  # a retry


def test_with_a_real_channel_the_command_books_nothing_and_the_worker_submits(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, customer, contract = _borrowed(monkeypatch, tmp_path)
    with simulator_process("--seed", "7") as channel_url:
        monkeypatch.setenv("LENDCORE_CHANNEL_URL", channel_url)
        result = runner.invoke(app, ["repay", "--customer", customer, "--amount", "100", "--key", "r1"])
        assert result.exit_code == 0, result.output
        assert "processing" in result.output and "lendcore worker" in result.output
        payment_id = next(w for w in result.output.split() if w.startswith("pay_"))
        assert _ok("loan", "show", contract)["balances"]["principal"] == 500_000  # nothing booked
        engine = create_engine(url)
        factory = create_session_factory(engine)
        try:
            assert payment(factory, payment_id).state == "created"  # recorded, not yet sent
            worked = runner.invoke(app, ["worker", "--once", "--json"])
            assert worked.exit_code == 0, worked.output
            submitted = payment(factory, payment_id)
            assert submitted.channel_reference is not None and submitted.submitted_at is not None
        finally:
            engine.dispose()
