"""`lendcore customer|apply|decision|review|limits` against a temporary SQLite database."""

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


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade_database(url)
    monkeypatch.setenv("LENDCORE_DATABASE_URL", url)
    # configured as in production: a key ring of our own, so no development-key notice
    monkeypatch.setenv("LENDCORE_PII_KEYS", f"k1:{base64.b64encode(generate_key()).decode()}")
    monkeypatch.setenv("LENDCORE_PII_HMAC_KEY", base64.b64encode(generate_key()).decode())
    return url


def test_without_configured_keys_the_cli_says_so_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'dev.db'}"
    monkeypatch.setenv("LENDCORE_DATABASE_URL", url)
    monkeypatch.delenv("LENDCORE_PII_KEYS", raising=False)
    monkeypatch.delenv("LENDCORE_PII_HMAC_KEY", raising=False)
    registered = runner.invoke(
        app,
        [
            *("customer", "register", "--name", "王小明", "--id-number", make_id()),
            *("--phone", make_phone(), "--card", make_card(), *CONSENTS, "--date", "2025-06-16"),
        ],
    )
    assert registered.exit_code == 0, registered.output
    assert "insecure development keys" in registered.stderr
    # a refusal stays one line: nothing was encrypted, so there is nothing to warn about
    refused = runner.invoke(app, ["customer", "show", "cus_nobody"])
    assert refused.exit_code == 2
    assert refused.stderr == "error: customer cus_nobody not found [CUSTOMER_NOT_FOUND]\n"


CONSENTS = ["--consent", "terms:1.0", "--consent", "privacy:1.0", "--consent", "sensitive_personal_info:1.0"]


def _register(id_number: str, phone: str, card: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(
        app,
        [
            "customer",
            "register",
            "--name",
            "王小明",
            "--id-number",
            id_number,
            "--phone",
            phone,
            "--card",
            card,
            *CONSENTS,
            "--date",
            "2025-06-16",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_register_apply_explain_replay_review_limits(db: str) -> None:
    id_number, phone, card = make_id(), make_phone(), make_card()
    view = _register(id_number, phone, card)
    out = json.dumps(view, ensure_ascii=False)
    assert id_number not in out and phone not in out and card not in out and "王小明" not in out
    assert view["name"] == "王**" and view["phone"] == phone[:3] + "****" + phone[-4:]

    result = runner.invoke(
        app,
        [
            "apply",
            "--customer",
            view["id"],
            "--amount",
            "3000",
            "--term",
            "6",
            "--income",
            "12000",
            "--purpose",
            "electronics",
            "--device",
            "dev-1",
            "--key",
            "k1",
            "--date",
            "2025-06-16",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision["outcome"] in ("approved", "declined")
    again = runner.invoke(
        app,
        [
            "apply",
            "--customer",
            view["id"],
            "--amount",
            "3000",
            "--term",
            "6",
            "--income",
            "12000",
            "--purpose",
            "electronics",
            "--device",
            "dev-1",
            "--key",
            "k1",
            "--date",
            "2025-06-16",
            "--json",
        ],
    )
    assert json.loads(again.stdout) == decision

    explained = runner.invoke(app, ["decision", "explain", decision["decision_id"], "--json"])
    assert explained.exit_code == 0, explained.output
    data = json.loads(explained.stdout)
    assert data["versions"]["model_id"] and data["features"]["duration_in_month"] == 6
    assert "birth_date" not in data["inputs"]["context"]
    text = runner.invoke(app, ["decision", "explain", decision["decision_id"]])
    assert text.exit_code == 0 and "model" in text.stdout

    replayed = runner.invoke(app, ["decision", "replay", decision["decision_id"]])
    assert replayed.exit_code == 0, replayed.output
    assert "same" in replayed.stdout

    requested = runner.invoke(app, ["review", "request", decision["decision_id"], "--by", view["id"]])
    assert requested.exit_code == 0, requested.output
    review_id = requested.stdout.split()[1]
    listed = runner.invoke(app, ["review", "list", "--json"])
    assert [r["id"] for r in json.loads(listed.stdout)] == [review_id]
    resolved = runner.invoke(app, ["review", "resolve", review_id, "--staff", "s1", "--action", "confirm"])
    assert resolved.exit_code == 0 and "confirmed" in resolved.stdout

    assert runner.invoke(app, ["eod", "run", "--date", "2025-06-16"]).exit_code == 0  # close the day first
    limits = runner.invoke(app, ["limits", "reevaluate", "--date", "2025-06-17", "--json"])
    assert limits.exit_code == 0, limits.output
    assert json.loads(limits.stdout)["already_ran"] is False
    limits2 = runner.invoke(app, ["limits", "reevaluate", "--date", "2025-06-17", "--json"])
    assert json.loads(limits2.stdout)["already_ran"] is True


def test_bad_input_is_one_line_exit_2(db: str) -> None:
    result = runner.invoke(
        app,
        [
            "customer",
            "register",
            "--name",
            "王小明",
            "--id-number",
            "123",
            "--phone",
            "123",
            "--card",
            "1",
            *CONSENTS,
            "--date",
            "2025-06-16",
        ],
    )
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "ONBOARDING_INVALID" in result.stderr and "id_number: INVALID_ID_NUMBER" in result.stderr
    bad_date = runner.invoke(app, ["limits", "reevaluate", "--date", "2025-13-01"])
    assert bad_date.exit_code == 2 and "INVALID_DATE" in bad_date.stderr
    missing = runner.invoke(app, ["decision", "explain", "dec_nope"])
    assert missing.exit_code == 2 and "DECISION_NOT_FOUND" in missing.stderr
    no_customer = runner.invoke(
        app, ["apply", "--customer", "cus_x", "--amount", "3000", "--term", "6", "--income", "10000"]
    )
    assert no_customer.exit_code == 2 and "CUSTOMER_NOT_FOUND" in no_customer.stderr
    amount = runner.invoke(
        app, ["apply", "--customer", "cus_x", "--amount", "abc", "--term", "6", "--income", "10000"]
    )
    assert amount.exit_code == 2 and "INVALID_REQUESTED_AMOUNT" in amount.stderr
