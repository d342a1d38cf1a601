"""``lendcore bureau batch`` writes the message file of a business day; ``--store`` stores it once."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lendcore.bureau.message import check_message
from lendcore.cli.main import app
from lendcore.store.engine import create_engine, create_session_factory
from tests.servicing.support import do_draw, open_line

runner = CliRunner()


def test_batch_file_is_valid_and_stored_once(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    engine = create_engine(database_url)
    try:
        factory = create_session_factory(engine)
        _, line = open_line(factory, product="premium", on=date(2026, 3, 2))
        do_draw(factory, line, 1_200_000, 12, on=date(2026, 3, 2))
    finally:
        engine.dispose()
    out = tmp_path / "b.xml"
    dry = runner.invoke(app, ["bureau", "batch", "--date", "2026-03-03", "--out", str(out), "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["records"] == 1 and check_message(out.read_bytes()) == []
    stored = runner.invoke(app, ["bureau", "batch", "--date", "2026-03-03", "--out", str(out), "--store"])
    assert stored.exit_code == 0 and "1 records" in stored.stdout
    again = runner.invoke(app, ["bureau", "batch", "--date", "2026-03-03", "--out", str(out), "--store"])
    assert again.exit_code == 2 and again.stderr.strip().endswith("[BUREAU_BATCH_EXISTS]")
