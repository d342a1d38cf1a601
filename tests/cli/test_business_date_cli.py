"""Through the CLI, every dated command runs on the stored open business date: ``--date`` must be it,
omitted it is it (not the clock), future and absurd dates are refused in one line, and a refused
command establishes nothing."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from lendcore.cli.database import BUSINESS_TZ
from lendcore.cli.main import app
from lendcore.servicing.business_day import open_business_date
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.migrate import upgrade_database
from lendcore.store.models import Contract, CreditLine

runner = CliRunner()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade_database(url)
    monkeypatch.setenv("LENDCORE_DATABASE_URL", url)
    return url


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _refused(code: str, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    assert code in result.stderr and "Traceback" not in result.output
    assert result.stderr.strip().count("\n") == 0  # one line
    return result.stderr


def _state(url: str) -> tuple[date | None, int, int]:
    engine = create_engine(url)
    try:
        with unit_of_work(create_session_factory(engine), read_only=True) as session:
            return (
                open_business_date(session),
                int(session.scalar(select(func.count()).select_from(CreditLine)) or 0),
                int(session.scalar(select(func.count()).select_from(Contract)) or 0),
            )
    finally:
        engine.dispose()


def _line(*date_args: str) -> dict[str, str]:
    out = _ok(
        "line", "open", "--customer", "new", "--product", "quick", "--limit", "20000", *date_args, "--json"
    )
    return json.loads(out)  # type: ignore[no-any-return]


def test_a_command_dated_other_than_the_open_business_date_is_refused_with_what_to_run(cli_db: str) -> None:
    line = _line("--date", "2026-03-01")
    draw = ["draw", "--line", line["line_id"], "--amount", "1000", "--term", "3", "--yes", "--key", "d1"]
    before = _state(cli_db)
    message = _refused("BUSINESS_DATE_MISMATCH", *draw, "--date", "2026-03-05")
    assert "the open business date is 2026-03-01" in message
    assert "run `lendcore eod run --date 2026-03-04` to close the days before 2026-03-05" in message
    assert "2026-02-28 is closed" in _refused("BUSINESS_DATE_MISMATCH", *draw, "--date", "2026-02-28")
    assert _state(cli_db) == before
    _ok("eod", "run", "--date", "2026-03-04")
    assert json.loads(_ok(*draw, "--date", "2026-03-05", "--json"))["status"] == "disbursed"


def test_without_date_a_command_runs_on_the_open_business_date_not_the_clock(cli_db: str) -> None:
    _line("--date", "2026-03-01")
    assert _line()["opened_on"] == "2026-03-01"
    closed = _ok("eod", "run")  # the open business date
    assert "close of 2026-03-01: succeeded" in closed and "open business date: 2026-03-02" in closed
    assert _line()["opened_on"] == "2026-03-02"


@pytest.mark.parametrize(
    ("when", "code"),
    [
        ("9999-12-31", "BUSINESS_DATE_OUT_OF_RANGE"),
        ("1999-12-31", "BUSINESS_DATE_OUT_OF_RANGE"),
        ("2099-01-01", "BUSINESS_DATE_IN_FUTURE"),
        ("tomorrow", "BUSINESS_DATE_IN_FUTURE"),
        ("10000-01-01", "INVALID_DATE"),
    ],
)
def test_future_and_absurd_dates_are_refused_in_one_line_and_establish_nothing(
    cli_db: str, when: str, code: str
) -> None:
    on = (datetime.now(BUSINESS_TZ).date() + timedelta(days=1)).isoformat() if when == "tomorrow" else when
    _refused(
        code, "line", "open", "--customer", "new", "--product", "quick", "--limit", "20000", "--date", on
    )
    _refused(code, "eod", "run", "--date", on)
    _refused(code, "draw", "--line", "cl_x", "--amount", "1000", "--term", "3", "--yes", "--date", on)
    assert _state(cli_db) == (None, 0, 0)


def test_a_refused_command_does_not_establish_the_business_date(cli_db: str) -> None:
    _refused("LINE_NOT_FOUND", "draw", "--line", "cl_nope", "--amount", "100", "--term", "1", "--yes",
             "--date", "2026-03-01")  # fmt: skip
    assert _state(cli_db) == (None, 0, 0)
    assert _line("--date", "2026-03-05")["opened_on"] == "2026-03-05"
    assert _state(cli_db) == (date(2026, 3, 5), 1, 0)


def test_after_closing_today_nothing_is_booked_until_tomorrow(cli_db: str) -> None:
    today = datetime.now(BUSINESS_TZ).date()
    _ok("eod", "run")  # a fresh database: the first close establishes today, and closes it
    assert _state(cli_db)[0] == today + timedelta(days=1)
    _refused("BUSINESS_DATE_IN_FUTURE", "line", "open", "--customer", "new", "--product", "quick",
             "--limit", "20000")  # fmt: skip
