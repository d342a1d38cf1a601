"""``lendcore accounts add|check``: an operator registers the official account; a customer checks the
number a caller gave them and is told official (with the bank and holder) or "not official - do not
pay"; both answers exit 0."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from lendcore.cli.main import app

runner = CliRunner()


def _ok(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_add_then_check(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    added = json.loads(
        _ok(
            *("accounts", "add", "6222 0200 0000 1234", "--bank", "ICBC", "--holder", "Lendcore Ltd"),
            *("--purpose", "repayments", "--actor", "ops1", "--valid-from", "2026-01-01"),
            *("--valid-to", "2026-06-30", "--json"),
        )
    )
    assert added["id"].startswith("oacc_") and added["number"] == "6222020000001234"
    assert _ok("accounts", "check", "6222-0200-0000-1234", "--on", "2026-06-30") == (
        "6222020000001234: official: ICBC, Lendcore Ltd (repayments)\n"
    )
    assert _ok("accounts", "check", "6222020000001234", "--on", "2026-07-01") == (
        "6222020000001234: not official - do not pay into this account\n"
    )
    other = json.loads(_ok("accounts", "check", "6222 0200 0000 9999", "--on", "2026-03-01", "--json"))
    assert other["official"] is False and other["holder"] is None
