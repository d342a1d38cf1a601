"""``lendcore risk monitor --from-db`` compares the decisions stored in the database with the model's
development sample, so monitoring needs no export step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lendcore.cli.main import app
from lendcore.risk.scorecard import default_scorecard
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.migrate import upgrade_database
from tests.origination.helpers import TODAY, apply, register

runner = CliRunner()


def test_monitor_reads_stored_decisions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'lendcore.db'}"
    engine = create_engine(url)
    upgrade_database(engine)
    amounts = [3_000_00, 8_000_00, 20_000_00, 1_500_00, 12_000_00]
    with unit_of_work(create_session_factory(engine)) as session:
        for i, amount in enumerate(amounts):
            customer = register(session)
            scorer = default_scorecard()
            apply(session, customer.id, device=f"dev-{i}", scorer=scorer, requested_amount=amount)
    engine.dispose()

    monkeypatch.setenv("LENDCORE_DATABASE_URL", url)
    result = runner.invoke(
        app, ["risk", "monitor", "--from-db", "--since", str(TODAY), "--until", str(TODAY), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n_records"] == len(amounts)
    assert report["n_decisions"] == len(amounts)
    assert report["score_psi"] is not None


def test_monitor_needs_exactly_one_source(tmp_path: Path) -> None:
    result = runner.invoke(app, ["risk", "monitor"])
    assert result.exit_code == 2
    assert "MONITOR_SOURCE" in result.output
