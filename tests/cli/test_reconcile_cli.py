"""``lendcore payment reconcile``: a channel's statement file reconciled from the command line, every
fen of it in the report; a rerun resolves nothing new; a file of another day is refused, writing
nothing; ``lendcore payment suspense`` lists the money held in channel suspense. SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from lendcore.cli.main import app
from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.payments.statement import Statement, StatementRow, write_statement
from lendcore.store.engine import unit_of_work
from lendcore.store.models_payments import PaymentIssue, ReconciliationRun
from tests.payments.support import NOW, TODAY, payment, recorded_payment

runner = CliRunner()


def _counts(factory: sessionmaker[Session]) -> tuple[int, int]:
    with unit_of_work(factory, read_only=True) as session:
        issues = session.scalar(select(func.count()).select_from(PaymentIssue)) or 0
        runs = session.scalar(select(func.coalesce(func.sum(ReconciliationRun.runs), 0))) or 0
        return issues, runs


def test_a_statement_file_is_reconciled_every_fen_reported_and_a_rerun_resolves_nothing_new(
    database_url: str, session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    paid = recorded_payment(session_factory, amount=12_345)  # still processing here
    rows = (
        StatementRow("ref_1", paid, PaymentDirection.INBOUND, 12_345, PaymentState.SUCCEEDED, NOW),
        StatementRow("ref_x", "pay_UNKNOWN", PaymentDirection.INBOUND, 5_000, PaymentState.SUCCEEDED, NOW),
    )
    file = tmp_path / "statement.csv"
    file.write_text(write_statement(Statement("simulator", TODAY, rows)), encoding="utf-8")

    wrong_day = runner.invoke(app, ["payment", "reconcile", "--file", str(file), "--date", "2026-11-21"])
    assert wrong_day.exit_code == 2 and "[STATEMENT_DATE_MISMATCH]" in wrong_day.output
    assert _counts(session_factory) == (0, 0) and payment(session_factory, paid).state == "created"

    first = runner.invoke(app, ["payment", "reconcile", "--file", str(file), "--json"])
    assert first.exit_code == 0, first.output
    [report] = json.loads(first.output)
    assert report == {
        "channel": "simulator", "statement_date": TODAY.isoformat(), "rows": 2, "total": 17_345,
        "matched": 0, "matched_amount": 0, "resolved": 1, "resolved_amount": 12_345,
        "discrepancies": 1, "unexplained_amount": 5_000,
        "issues": {"statement_extra": {"count": 1, "amount": 5_000}}, "suspense_amount": 5_000,
    }  # fmt: skip
    assert payment(session_factory, paid).state == "succeeded"

    again = runner.invoke(app, ["payment", "reconcile", "--file", str(file), "--date", TODAY.isoformat()])
    assert again.exit_code == 0, again.output
    assert (
        "2 rows, ¥173.45: matched 1 (¥123.45), resolved 0 (¥0.00), 1 raised (¥50.00 unexplained, ¥50.00 "
        "held in channel suspense)"
    ) in " ".join(again.output.split())
    assert _counts(session_factory) == (1, 2)  # the extra row raised once; one report, run twice

    held = runner.invoke(app, ["payment", "suspense", "--json"])
    assert held.exit_code == 0, held.output
    [item] = json.loads(held.output)  # held once, however many runs
    assert (item["status"], item["amount"], item["named_payment_id"], item["customer_id"]) == (
        "open", 5_000, "pay_UNKNOWN", None,
    )  # fmt: skip
    listed = runner.invoke(app, ["payment", "suspense"])
    assert f"{item['id']} open ¥50.00: pay_UNKNOWN on simulator" in " ".join(listed.output.split())
    none_applied = runner.invoke(app, ["payment", "suspense", "--status", "applied"])
    assert "no channel suspense applied" in none_applied.output
