"""``lendcore reports vintage|roll-rates|month-end``: CSV files with a header and integer fen, checked
against a small book built with the real use cases (three premium contracts, one paid on time, two
never paid) and days past due counted by hand from their due dates."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from lendcore.batch.close import run_daily_close
from lendcore.cli.main import app
from lendcore.collection.queue import collection_queue
from lendcore.core.delinquency import bucket
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.models import ScheduleRow
from tests.servicing.support import do_draw, do_repay, open_line

runner = CliRunner()
JAN, FEB = date(2026, 1, 5), date(2026, 2, 2)
AS_OF = date(2026, 5, 31)
P = 1_200_000
# never paid: B is due from 02-05, C from 03-02 (days past due at each month end, counted by hand)
B_DPD = {date(2026, 2, 28): 23, date(2026, 3, 31): 54, date(2026, 4, 30): 84, AS_OF: 115}
C_DPD = {date(2026, 3, 31): 29, date(2026, 4, 30): 59, AS_OF: 90}


def _book(url: str) -> dict[str, object]:
    engine = create_engine(url)
    try:
        factory = create_session_factory(engine)
        a_customer, a_line = open_line(factory, product="premium", on=JAN)
        _, b_line = open_line(factory, product="premium", on=JAN)
        a = do_draw(factory, a_line, P, 12, on=JAN, method="equal-installment")["contract_id"]
        do_draw(factory, b_line, P, 12, on=JAN, method="equal-installment")
        run_daily_close(factory, JAN)
        with unit_of_work(factory, read_only=True) as session:
            plan = session.scalars(
                select(ScheduleRow)
                .where(ScheduleRow.contract_id == a, ScheduleRow.version == 1)
                .order_by(ScheduleRow.period)
            ).all()
            a_rows = [(r.due_date, r.total, r.principal) for r in plan]
        paid_principal = 0
        c = None
        for due, total, principal in a_rows:
            if due > AS_OF:
                break
            if c is None and due > FEB:  # C is drawn on 02-02, before A's second due date
                run_daily_close(factory, date(2026, 2, 1))
                _, c_line = open_line(factory, product="premium", on=FEB)
                c = do_draw(factory, c_line, P, 12, on=FEB, method="equal-installment")["contract_id"]
            run_daily_close(factory, date.fromordinal(due.toordinal() - 1))
            do_repay(factory, a_customer, total, due)  # A pays each installment on its due date
            paid_principal += principal
        run_daily_close(factory, AS_OF)
        with unit_of_work(factory, read_only=True) as session:
            queue = {e.contract_id: e.overdue for e in collection_queue(session, AS_OF)}
        april = P - sum(principal for due, _, principal in a_rows if due <= date(2026, 4, 30))
        return {"a_principal": P - paid_principal, "a_april": april, "queue": queue, "c": c}
    finally:
        engine.dispose()


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _report(name: str, out: Path, *extra: str) -> list[dict[str, str]]:
    result = runner.invoke(
        app, ["reports", name, "--as-of", AS_OF.isoformat(), "--out", str(out), "--json", *extra]
    )
    assert result.exit_code == 0, result.output
    rows = _csv(out)
    assert json.loads(result.stdout)["rows"] == len(rows)
    return rows


def test_the_three_reports_on_a_small_book(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    book = _book(database_url)

    vintage = {(r["vintage"], int(r["month_on_book"])): r for r in _report("vintage", tmp_path / "v.csv")}
    assert (
        (tmp_path / "v.csv").read_text(encoding="utf-8").splitlines()[0].startswith("vintage,month_on_book,")
    )
    jan = [vintage[("2026-01", k)] for k in (1, 2, 3, 4)]
    assert {r["contracts"] for r in jan} == {"2"} and {r["originated_principal_fen"] for r in jan} == {
        str(2 * P)
    }
    # B is 30+ from 03-31 (54 days) and 90+ at 05-31 (115 days); A never late
    assert [r["thirty_plus_principal_fen"] for r in jan] == ["0", str(P), str(P), str(P)]
    assert [r["thirty_plus_rate"] for r in jan] == ["0.0000", "0.5000", "0.5000", "0.5000"]
    assert [r["ninety_plus_rate"] for r in jan] == ["0.0000", "0.0000", "0.0000", "0.5000"]
    feb = [vintage[("2026-02", k)] for k in (1, 2, 3)]
    assert [r["thirty_plus_rate"] for r in feb] == ["0.0000", "1.0000", "1.0000"]  # C: 29, 59, 90 days
    assert [r["ninety_plus_contracts"] for r in feb] == ["0", "0", "1"]

    rolls = {(r["from_month_end"], r["from_bucket"]): r for r in _report("roll-rates", tmp_path / "r.csv")}
    may = AS_OF.isoformat()
    for dpd in (B_DPD, C_DPD):
        start = rolls[("2026-04-30", bucket(dpd[date(2026, 4, 30)]).value)]
        assert (start["to_month_end"], start["to_bucket"]) == (may, bucket(dpd[AS_OF]).value)
        assert (start["contracts"], start["rolled_contracts"], start["rate"]) == ("1", "1", "1.0000")
        assert start["principal_fen"] == start["rolled_principal_fen"] == str(P)
    current = rolls[("2026-04-30", "M0")]  # A: current at both month ends
    assert (current["contracts"], current["rolled_contracts"], current["rate"]) == ("1", "0", "0.0000")
    assert current["principal_fen"] == str(book["a_april"])  # after its 02-05, 03-05, 04-05 installments

    month_end = {r["class"]: r for r in _report("month-end", tmp_path / "m.csv")}
    assert list(month_end) == ["normal", "special-mention", "substandard", "doubtful", "loss"]
    assert {r["month_end"] for r in month_end.values()} == {may}
    queue = book["queue"]
    assert isinstance(queue, dict)
    # A normal; C at 90 days 关注 (over 90 is 次级); B at 115 days 次级
    assert (month_end["normal"]["contracts"], month_end["normal"]["principal_outstanding_fen"]) == (
        "1",
        str(book["a_principal"]),
    )
    assert month_end["normal"]["overdue_fen"] == "0"
    assert (
        month_end["special-mention"]["contracts"],
        month_end["special-mention"]["principal_outstanding_fen"],
    ) == ("1", str(P))
    assert month_end["special-mention"]["overdue_fen"] == str(queue[book["c"]])
    assert (month_end["substandard"]["contracts"], month_end["substandard"]["principal_outstanding_fen"]) == (
        "1",
        str(P),
    )
    assert int(month_end["substandard"]["overdue_fen"]) == sum(v for k, v in queue.items() if k != book["c"])
    assert month_end["doubtful"]["contracts"] == month_end["loss"]["contracts"] == "0"
    assert month_end["special-mention"]["class_zh"] == "关注"


def test_as_of_after_the_open_business_date_is_refused(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    engine = create_engine(database_url)
    try:
        run_daily_close(create_session_factory(engine), date(2026, 3, 1))
    finally:
        engine.dispose()
    out = tmp_path / "x.csv"
    late = runner.invoke(app, ["reports", "month-end", "--as-of", "2026-03-03", "--out", str(out)])
    assert late.exit_code == 2 and late.stderr.strip().endswith("[AS_OF_AFTER_BUSINESS_DATE]")
    assert not out.exists()
    nowhere = runner.invoke(app, ["reports", "vintage", "--out", str(tmp_path / "no" / "such" / "dir.csv")])
    assert nowhere.exit_code == 2 and nowhere.stderr.strip().endswith("[OUTPUT_NOT_WRITABLE]")
