"""End to end: applications decided, lines drawn, some contracts 30+ days late through the daily close,
others repaid; the monitoring records carry the performance outcome and KS / Gini are computed on the
matured cohort, in process and through ``lendcore risk monitor --from-db``."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from lendcore.batch.close import run_daily_close
from lendcore.cli.main import app
from lendcore.core.allocation import CustomerMode
from lendcore.core.performance import PerformanceDefinition
from lendcore.origination.monitoring_source import recent_application_records
from lendcore.risk.monitoring import monitor
from lendcore.risk.scorecard import default_scorecard
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract
from tests.origination.helpers import TODAY, apply, make_id, register
from tests.servicing.support import do_draw, do_repay

DUE = date(2025, 7, 16)  # a 1-month bullet drawn on TODAY (2025-06-16)
UNTIL = date(2025, 8, 16)  # = TODAY + 2 months: a 2-month window has fully elapsed
AMOUNTS = [3_000_00, 8_000_00, 20_000_00, 1_500_00, 12_000_00, 5_000_00]

runner = CliRunner()


def test_monitoring_reads_the_performance_of_matured_cohorts(
    session_factory: sessionmaker[Session], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = default_scorecard()
    decided: list[tuple[str, dict[str, object]]] = []
    with unit_of_work(session_factory) as session:
        for i, amount in enumerate(AMOUNTS):
            customer = register(session)
            decided.append(
                (
                    customer.id,
                    apply(session, customer.id, device=f"dev-{i}", scorer=card, requested_amount=amount),
                )
            )
        too_old = register(session, id_number=make_id(birth=date(1950, 1, 1)))  # AGE_ABOVE_MAXIMUM
        declined = apply(session, too_old.id, device="dev-old", scorer=card)
    assert declined["outcome"] == "declined"
    approved = [(cid, d) for cid, d in decided if d["outcome"] == "approved"]
    assert len(approved) >= 4
    # the two riskiest (lowest score) go 30+ days late; the others repay on the due date
    approved.sort(key=lambda cd: int(str(cd[1]["score"])))
    bad, good = approved[:2], approved[2:]
    contract_of: dict[str, str] = {}
    for _, d in approved:
        drawn = do_draw(session_factory, str(d["credit_line_id"]), 50_000, 1, on=TODAY, method="bullet")
        contract_of[str(d["application_id"])] = drawn["contract_id"]
    for cid, _ in good:
        do_repay(session_factory, cid, None, DUE, CustomerMode.PAY_OFF_ALL)
    day = DUE + timedelta(days=1)
    while day <= UNTIL:
        run_daily_close(session_factory, day)
        day += timedelta(days=1)
    # one bad customer cures after the close of 08-16: still bad (ever 30+)
    do_repay(session_factory, bad[0][0], None, UNTIL, CustomerMode.PAY_OFF_ALL)
    with unit_of_work(session_factory, read_only=True) as session:
        worst = {
            app_id: (c.status, c.days_past_due, c.max_days_past_due)
            for app_id, cid in contract_of.items()
            if (c := session.get(Contract, cid)) is not None
        }
    assert worst[str(bad[0][1]["application_id"])] == ("closed", 0, 31)
    assert worst[str(bad[1][1]["application_id"])] == ("active", 31, 31)
    assert all(worst[str(d["application_id"])] == ("closed", 0, 0) for _, d in good)

    two_months = PerformanceDefinition(window_months=2)
    with unit_of_work(session_factory, read_only=True) as session:
        records = recent_application_records(session, TODAY, UNTIL, definition=two_months)
        default_window = recent_application_records(session, TODAY, UNTIL)
    by_app = {r["application_id"]: r for r in records}
    assert len(records) == len(AMOUNTS) + 1
    for _, d in bad:
        r = by_app[d["application_id"]]
        assert (r["outcome"], r["matured"], r["outcome_reason"]) == ("bad", True, "bad_dpd")
    for _, d in good:
        r = by_app[d["application_id"]]
        assert (r["outcome"], r["matured"], r["outcome_reason"]) == ("good", True, "good")
        assert r["performance_window_end"] == UNTIL.isoformat()
    r = by_app[declined["application_id"]]
    assert (r["outcome"], r["matured"], r["outcome_reason"]) == (None, False, "declined")
    # six months after the decision nothing good is known yet; the bads are already bad
    assert sorted(str(r["outcome"]) for r in default_window if r["decision"] == "approved") == sorted(
        ["bad"] * len(bad) + ["None"] * len(good)
    )

    report = monitor(card, records, outcome_field="outcome", bad_value="bad")
    assert report.n_matured == len(approved)
    assert report.matured_bad_rate == pytest.approx(len(bad) / len(approved))
    assert report.ks is not None and report.gini is not None
    assert report.gini > 0 and report.ks > 0  # the bads were the two lowest scores (ties count half)

    monkeypatch.setenv("LENDCORE_DATABASE_URL", database_url)
    args = ["risk", "monitor", "--from-db", "--since", str(TODAY), "--until", str(UNTIL), "--json"]
    result = runner.invoke(app, [*args, "--window-months", "2", "--bad-dpd", "30"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["n_matured"] == len(approved)
    assert shown["gini"] == pytest.approx(report.gini)
    assert shown["ks"] == pytest.approx(report.ks)
    # 31 days late is not bad at a 60-day threshold: every matured line is good, one class only
    result = runner.invoke(app, [*args, "--window-months", "2", "--bad-dpd", "60"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["gini"] is None
    result = runner.invoke(app, [*args, "--window-months", "0"])
    assert result.exit_code == 2 and "INVALID_PERFORMANCE_WINDOW" in result.output
