"""The servicing CLI on an SQLite file: lines, draw, repay, loan, ledger, eod, demo."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lendcore.cli.main import app

runner = CliRunner()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("LENDCORE_DATABASE_URL", url)
    return url


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_borrow_repay_show_close_and_trial_balance(cli_db: str) -> None:
    line = json.loads(
        _ok(
            "line",
            "open",
            "--customer",
            "new",
            "--product",
            "quick",
            "--limit",
            "20000",
            "--date",
            "2026-03-01",
            "--json",
        )
    )
    quote = _ok(
        "draw",
        "--line",
        line["line_id"],
        "--amount",
        "5000",
        "--term",
        "1",
        "--method",
        "bullet",
        "--date",
        "2026-03-01",
    )
    assert "add --yes to confirm" in quote and "¥5,000.00" in quote
    drawn = json.loads(
        _ok(
            "draw",
            "--line",
            line["line_id"],
            "--amount",
            "5000",
            "--term",
            "1",
            "--method",
            "bullet",
            "--date",
            "2026-03-01",
            "--yes",
            "--key",
            "d1",
            "--json",
        )
    )
    assert drawn["status"] == "disbursed"
    # the first close catches up 03-01 … 04-01 day by day; then one close a day
    caught_up = json.loads(_ok("eod", "run", "--date", "2026-04-01", "--json"))
    assert [c["business_date"] for c in caught_up["closed"]][::31] == ["2026-03-01", "2026-04-01"]
    assert len(caught_up["closed"]) == 32 and caught_up["open_business_date"] == "2026-04-02"
    for day in ("2026-04-02", "2026-04-03", "2026-04-04", "2026-04-05"):
        _ok("eod", "run", "--date", day)
    assert "already closed" in _ok("eod", "run", "--date", "2026-04-05")
    shown = json.loads(_ok("loan", "show", drawn["contract_id"], "--json"))
    # 500,000 × 0.0003 × 31 = 4,650 interest; DPD 4 > grace 3: 4 × 500,000 × 0.00045 = 900 penalty
    assert (shown["days_past_due"], shown["bucket"], shown["balances"]["penalty"]) == (4, "M1", 900)
    assert "History" in _ok("loan", "show", drawn["contract_id"])
    # the open business date is now 04-06 (no --date): one more day of penalty, DPD 5: 1,125
    payoff = json.loads(_ok("payoff", "--customer", line["customer_id"], "--json"))
    assert (payoff["on"], payoff["total"]) == ("2026-04-06", 500_000 + 4_650 + 1_125)
    repay = ["repay", "--customer", line["customer_id"], "--all", "--key", "r1", "--json"]
    repaid = json.loads(_ok(*repay))
    assert repaid["contracts"][0]["status"] == "closed" and repaid["business_date"] == "2026-04-06"
    assert json.loads(_ok(*repay)) == repaid
    tb = json.loads(_ok("ledger", "trial-balance", "--json"))
    assert set(tb) == {"total_debits", "total_credits", "balanced", "accounts"}
    assert tb["balanced"] is True and tb["total_debits"] == tb["total_credits"]
    assert tb["accounts"]["6011.02"]["balance"] == 1_125
    _ok("line", "close", line["line_id"])


@pytest.mark.parametrize(
    "args",
    [
        ["repay", "--customer", "cus_x", "--amount", "-5"],
        ["repay", "--customer", "cus_x", "--amount", "5", "--all"],
        ["draw", "--line", "cl_nope", "--amount", "100", "--term", "1", "--yes"],
        ["eod", "run", "--date", "2026-13-01"],
        ["waive", "--contract", "ln_nope", "--reason", "r", "--actor", "a", "--key", "k"],
        ["write-off", "--contract", "ln_nope", "--reason", "r", "--actor", "a", "--key", "k"],
        ["loan", "show", "ln_nope"],
        ["payment", "reverse", "pay_nope", "--reason", "R01", "--actor", "ops1", "--key", "k"],
    ],
)
def test_bad_input_is_one_line_exit_2(cli_db: str, args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "Traceback" not in result.output


def test_a_returned_repayment_is_reversed_and_the_loan_is_owed_again(cli_db: str) -> None:
    common = ["--date", "2026-03-01", "--json"]
    line = json.loads(
        _ok("line", "open", "--customer", "new", "--product", "quick", "--limit", "20000", *common)
    )
    draw = ["draw", "--line", line["line_id"], "--amount", "5000", "--term", "1", "--method", "bullet"]
    drawn = json.loads(_ok(*draw, "--yes", "--key", "d1", *common))
    _ok("eod", "run", "--date", "2026-03-10")  # the days before the repayment's business date
    repaid = json.loads(
        _ok(
            "repay",
            "--customer",
            line["customer_id"],
            "--all",
            "--date",
            "2026-03-11",
            "--key",
            "r1",
            "--json",
        )
    )
    assert repaid["contracts"][0]["status"] == "closed"
    _ok("eod", "run", "--date", "2026-03-11")
    reverse = ["payment", "reverse", repaid["payment_id"], "--reason", "R01 insufficient funds"]
    reversed_ = json.loads(
        _ok(*reverse, "--actor", "ops1", "--date", "2026-03-12", "--key", "rev1", "--json")
    )
    assert reversed_["status"] == "reversed"
    [contract] = reversed_["contracts"]
    assert contract["contract_id"] == drawn["contract_id"] and contract["status"] == "active"
    # owed again as of the reversal's business date: 500,000 principal + interest for 2026-03-01 …
    # 2026-03-12 (11 days) × 500,000 × 0.0003 = 1,650
    assert contract["total_outstanding"] == 500_000 + 1_650
    assert json.loads(_ok("ledger", "trial-balance", "--json"))["balanced"] is True


def test_demo_runs_and_balances(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--no-serve", "--database", f"sqlite:///{tmp_path / 'demo.db'}"])
    assert result.exit_code == 0, result.output
    assert "balanced" in result.output and "NOT" not in result.output
    # the story starts with real applications: two approvals, a model decline, an onboarding refusal
    assert result.output.count("approved: score") == 2
    assert "declined: score" in result.output and "retry on or after" in result.output
    assert "APPLICANT_UNDER_AGE" in result.output


def test_demo_shows_pii_only_masked(tmp_path: Path) -> None:
    from lendcore.cli.demo_story import APPLICANTS

    result = runner.invoke(app, ["demo", "--no-serve", "--database", f"sqlite:///{tmp_path / 'demo.db'}"])
    assert result.exit_code == 0, result.output
    for person in APPLICANTS:
        assert person.name not in result.output
        assert person.phone not in result.output
    assert "138****5678" in result.output  # 李伟's phone, masked 3+4


def test_demo_runs_on_the_configured_database_when_no_database_is_given(
    postgres_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lendcore.servicing.business_day import open_business_date
    from lendcore.store.engine import create_engine, create_session_factory, unit_of_work

    monkeypatch.setenv("LENDCORE_DATABASE_URL", postgres_database_url)
    result = runner.invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "database: postgresql" in result.output
    engine = create_engine(postgres_database_url)
    try:
        with unit_of_work(create_session_factory(engine), read_only=True) as session:
            # the story's last close was 2026-05-20, each day closed in turn
            assert open_business_date(session) == date(2026, 5, 21)
    finally:
        engine.dispose()


def test_demo_without_a_database_keeps_a_fresh_file_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LENDCORE_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    first = runner.invoke(app, ["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    kept = tmp_path / ".lendcore" / "demo.db"
    assert kept.is_file() and str(kept) in first.output  # it ran there and kept it (to be served) …
    again = runner.invoke(app, ["demo", "--no-serve"])
    assert again.exit_code == 0, again.output  # … and the next run starts afresh on the same file


def test_demo_serves_its_database_after_the_story(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lendcore.cli import serve

    served: list[dict[str, object]] = []
    monkeypatch.setattr(serve, "serve_command", lambda **options: served.append(options))
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("LENDCORE_DATABASE_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = runner.invoke(app, ["demo", "--database", url])
    assert result.exit_code == 0, result.output
    assert served == [{"host": "127.0.0.1", "port": 8000, "workers": 1, "migrate": False}]
    assert "http://127.0.0.1:8000/docs" in result.stderr and "http://127.0.0.1:8000/app" in result.stderr
    assert os.environ.pop("LENDCORE_DATABASE_URL") == url  # serve reads the demo's database
    # the back-office sign-ins it prints are real: each username/password authenticates with its role
    import re
    from datetime import UTC, datetime

    from lendcore.auth.staff import authenticate_staff
    from lendcore.store.engine import create_engine, create_session_factory, unit_of_work

    printed = dict(re.findall(r"(demo\.[a-z]+) / (\S+?)(?:,|\s)", result.stderr))
    assert set(printed) == {"demo.operator", "demo.finance"}
    engine = create_engine(url)
    with unit_of_work(create_session_factory(engine)) as session:
        for username, password in printed.items():
            user = authenticate_staff(session, username=username, password=password, now=datetime.now(UTC))
            assert user.username == username
    engine.dispose()


@pytest.mark.parametrize("how", ["--no-serve", "CI=true"])
def test_demo_does_not_serve_with_no_serve_or_under_ci(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lendcore.cli import serve

    served: list[object] = []
    monkeypatch.setattr(serve, "serve_command", lambda **options: served.append(options))
    monkeypatch.delenv("CI", raising=False)
    args = ["demo", "--database", f"sqlite:///{tmp_path / 'demo.db'}"]
    if how == "CI=true":
        monkeypatch.setenv("CI", "true")
    else:
        args.append(how)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert served == []


def test_demo_refuses_a_database_in_use(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert runner.invoke(app, ["demo", "--no-serve", "--database", url]).exit_code == 0
    again = runner.invoke(app, ["demo", "--no-serve", "--database", url])
    assert again.exit_code == 2 and "DEMO_NEEDS_FRESH_DATABASE" in again.stderr
