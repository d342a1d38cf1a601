"""``lendcore privacy export|delete|retention`` from the command line: a file, an audit, idempotence."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from lendcore.cli.main import app
from lendcore.security.pii import generate_key
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.models import AuditRecord
from tests.origination.helpers import make_card, make_id

runner = CliRunner()
DAY = "2025-06-16"
CONSENTS = ("--consent", "terms", "--consent", "privacy", "--consent", "sensitive_personal_info")


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_export_then_delete_then_retention(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    monkeypatch.setenv("LENDCORE_PII_KEYS", f"k1:{base64.b64encode(generate_key()).decode()}")
    monkeypatch.setenv("LENDCORE_PII_HMAC_KEY", base64.b64encode(generate_key()).decode())
    person = ("--name", "王小明", "--id-number", make_id(), "--phone", "13912345678", "--card", make_card())
    customer = json.loads(_ok("customer", "register", *person, *CONSENTS, "--date", DAY, "--json"))["id"]
    _ok("admin", "create-user", "--username", "dpo.wang", "--role", "admin")
    out = tmp_path / "export.json"
    shown = _ok("privacy", "export", "--customer", customer, "--out", str(out), "--staff", "dpo.wang")
    assert "audited" in shown and "王小明" not in shown  # the terminal shows no PII
    document = json.loads(out.read_text(encoding="utf-8"))
    assert (document["customer"]["name"], document["customer"]["phone"]) == ("王小明", "13912345678")
    deleted = json.loads(_ok("privacy", "delete", "--customer", customer, "--staff", "dpo.wang", "--json"))
    assert deleted["keep_until"] == "2035-06-16"
    assert (
        json.loads(_ok("privacy", "retention", "--date", "2026-01-01", "--json"))["identities_erased"] == []
    )
    engine = create_engine(database_url)
    try:
        with unit_of_work(create_session_factory(engine), read_only=True) as session:
            actions = [
                a.action
                for a in session.scalars(select(AuditRecord).where(AuditRecord.target_id == customer))
            ]
            export = session.scalars(select(AuditRecord).where(AuditRecord.action == "privacy.export")).one()
            assert export.actor.startswith("stf_")
    finally:
        engine.dispose()
    assert "privacy.export" in actions and "privacy.deletion" in actions
