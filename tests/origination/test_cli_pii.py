"""`lendcore pii reindex` and the start-up check of the blind-index key ring, on a temporary database."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lendcore.cli.main import app
from lendcore.security.pii import generate_key
from lendcore.store.migrate import upgrade_database

from .helpers import make_card, make_id, make_phone

runner = CliRunner()
OLD, NEW = (base64.b64encode(generate_key()).decode() for _ in range(2))
CONSENTS = ["--consent", "terms:1.0", "--consent", "privacy:1.0", "--consent", "sensitive_personal_info:1.0"]


def register(id_number: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        [
            *("customer", "register", "--name", "李伟", "--id-number", id_number),
            *("--phone", make_phone(), "--card", make_card(), *CONSENTS, "--json"),
        ],
    )
    return result.exit_code, result.stderr


def test_a_rotation_refuses_a_changed_key_keeps_duplicates_out_and_reindexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'pii.db'}"
    upgrade_database(url)
    monkeypatch.setenv("LENDCORE_DATABASE_URL", url)
    monkeypatch.setenv("LENDCORE_PII_KEYS", f"k1:{base64.b64encode(generate_key()).decode()}")
    monkeypatch.setenv("LENDCORE_PII_HMAC_KEY", OLD)  # the single-key configuration: key id h1
    id_number = make_id()
    assert register(id_number) == (0, "")

    monkeypatch.setenv("LENDCORE_PII_HMAC_KEY", NEW)  # the reported mistake: a new value, same id
    code, stderr = register(id_number)
    assert code == 2 and "[PII_HMAC_KEY_CHANGED]" in stderr

    monkeypatch.setenv("LENDCORE_PII_HMAC_KEYS", f"h2:{NEW}")  # the old key left out
    code, stderr = register(id_number)
    assert code == 2 and "[PII_HMAC_KEY_MISSING]" in stderr

    monkeypatch.setenv("LENDCORE_PII_HMAC_KEYS", f"h2:{NEW},h1:{OLD}")
    code, stderr = register(id_number)
    assert code == 2 and "[DUPLICATE_ID_NUMBER]" in stderr

    first = runner.invoke(app, ["pii", "reindex", "--batch-size", "1", "--json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["moved"]["customers"] == 1 and report["moved"]["cards"] == 1
    assert report["retired_key_ids"] == ["h1"] and report["key_ids_in_use"] == ["h2"]
    again = json.loads(runner.invoke(app, ["pii", "reindex", "--json"]).stdout)
    assert set(again["moved"].values()) == {0}

    monkeypatch.setenv("LENDCORE_PII_HMAC_KEYS", f"h2:{NEW}")  # the old key may go now
    code, stderr = register(id_number)
    assert code == 2 and "[DUPLICATE_ID_NUMBER]" in stderr
