"""Maker-checker in the back office, in a real browser: an operator proposes a waiver on a contract
page; the approvals queue shows them no approve button on their own proposal and refuses a forced
approval (``SELF_APPROVAL``, shown on the page, nothing written); a second member of staff (finance)
approves it, the contract shows the waiver and the audit log both steps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from lendcore.auth.principal import StaffRole
from lendcore.batch.close import run_daily_close
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, Contract
from lendcore.store.models_approvals import ApprovalProposal
from tests.servicing.support import do_draw, open_line
from tests.web.conftest import Site
from tests.web.test_customer_story import shoot

#: A bullet loan drawn on 03-01, due 04-01, closed through 04-11: 10 days of penalty at 450 fen.
PENALTY = 10 * 450
#: Approved on 04-12, the waiver runs on that business date: one more day accrues first.
PENALTY_ON_APPROVAL = 11 * 450


def overdue_contract(site: Site) -> str:
    _, line_id = open_line(site.factory)
    contract_id: str = do_draw(site.factory, line_id, 1_000_000, 1, method="bullet")["contract_id"]
    run_daily_close(site.factory, date(2026, 4, 11))
    site.clock.now = datetime(2026, 4, 12, 3, 0, tzinfo=UTC)
    return contract_id


def staff_page(site: Site, new_page: Any, username: str, role: StaffRole) -> Any:
    office = new_page("en")
    office.goto("/office/login")
    office.get_by_label("Username").fill(username)
    office.get_by_label("Password").fill(site.staff(username, role))
    office.locator("#staff-sign-in").click()
    office.wait_for_url("**/office")
    return office


def refused(site: Site, page: Any, submit: Callable[[], object]) -> int:
    """Submit a form that is refused: the page shows the refusal with the error table's HTTP status,
    which Chromium reports once as a failed load (expected, so taken off the console errors)."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        submit()
    page.locator("#error").wait_for()
    status: int = answer.value.status
    for _ in range(50):  # the console message may arrive after the page (bounded wait)
        expected = [e for e in site.console_errors if f"status of {status}" in e and answer.value.url in e]
        if expected:
            break
        page.wait_for_timeout(40)
    assert len(expected) == 1, site.console_errors
    site.console_errors.remove(expected[0])
    return status


def penalty_of(site: Site, contract_id: str) -> int:
    with unit_of_work(site.factory, read_only=True) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        return contract.penalty_receivable


def written(site: Site) -> tuple[int, int, int]:
    """Proposals, audit records and the proposals still open."""
    with unit_of_work(site.factory, read_only=True) as session:
        return (
            session.scalar(select(func.count()).select_from(ApprovalProposal)) or 0,
            session.scalar(select(func.count()).select_from(AuditRecord)) or 0,
            session.scalar(
                select(func.count())
                .select_from(ApprovalProposal)
                .where(ApprovalProposal.status == "proposed")
            )
            or 0,
        )


def test_an_operator_proposes_a_waiver_and_finance_approves_it(site: Site, new_page: Any) -> None:
    contract_id = overdue_contract(site)
    assert penalty_of(site, contract_id) == PENALTY
    ops = staff_page(site, new_page, "ops", StaffRole.OPERATOR)
    ops.goto(f"/office/contracts/{contract_id}")
    ops.get_by_label("What to waive").select_option("penalty")
    ops.get_by_label("Amount (yuan; empty: all of it)").fill("10.00")
    ops.get_by_label("Reason").fill("complaint #12: the reminder SMS was late")
    ops.locator("#propose-waiver").click()
    assert "waiting for a second member of staff" in ops.locator("#proposed").inner_text()
    assert penalty_of(site, contract_id) == PENALTY  # a proposal waives nothing
    assert "proposed" in ops.locator("#contract-proposals").inner_text()

    # the proposer's queue: no approve button on their own proposal, only withdrawing it
    ops.goto("/office/approvals")
    expect(ops.locator("#approvals article.proposal")).to_have_count(1)
    expect(ops.locator("button.approve")).to_have_count(0)
    assert "Your own proposal" in ops.locator("#approvals").inner_text()
    shoot(ops, "office-approvals-own-en")
    proposal_id = ops.locator("#approvals .proposal-id").inner_text()

    # a forced POST to approve it is refused, shown clearly, and writes nothing
    before = written(site)
    form = ops.locator("form.decide").first
    force = f"f => {{ f.action = '/office/approvals/{proposal_id}/approve'; f.submit(); }}"
    assert refused(site, ops, lambda: form.evaluate(force)) == 403
    error = ops.locator("#error").inner_text()
    assert "SELF_APPROVAL" in error and "second member of staff" in error
    shoot(ops, "office-self-approval-en")
    assert written(site) == before
    assert penalty_of(site, contract_id) == PENALTY

    # finance approves: the waiver runs
    fin = staff_page(site, new_page, "fin", StaffRole.FINANCE)
    fin.goto("/office/approvals")
    shoot(fin, "office-approvals-en")
    fin.get_by_label("Checker's note").fill("late SMS confirmed")
    fin.locator(f"#approve-{proposal_id}").click()
    assert proposal_id in fin.locator("#decided").inner_text()
    expect(fin.locator("#approvals article.proposal")).to_have_count(0)  # nothing open
    decided = fin.locator("#decided-proposals").inner_text()
    assert "executed" in decided and "late SMS confirmed" in decided
    assert penalty_of(site, contract_id) == PENALTY_ON_APPROVAL - 1_000

    fin.goto(f"/office/contracts/{contract_id}")
    assert "waiver" in fin.locator("#transactions").inner_text()
    assert "¥10.00" in fin.locator("#transactions").inner_text()
    assert fin.locator("#penalty").inner_text() == "¥39.50"
    assert "executed" in fin.locator("#contract-proposals").inner_text()
    shoot(fin, "office-contract-waiver-en")

    fin.goto("/office/audit")  # both steps, by two different members of staff
    rows = [r.split("\t") for r in fin.locator("#audit").inner_text().split("\n")[1:]]
    steps = {(r[2], r[3]) for r in rows if r[2].startswith("approval.")}
    assert steps == {
        ("approval.propose", f"proposal {proposal_id}"),
        ("approval.approve", f"proposal {proposal_id}"),
    }
    actors = {r[2]: r[1] for r in rows if r[2].startswith("approval.")}
    assert actors["approval.propose"] != actors["approval.approve"]
    assert site.console_errors == []


def test_a_checker_rejects_a_proposal_with_a_reason_and_nothing_is_waived(site: Site, new_page: Any) -> None:
    contract_id = overdue_contract(site)
    ops = staff_page(site, new_page, "ops", StaffRole.OPERATOR)
    ops.goto(f"/office/contracts/{contract_id}")
    ops.get_by_label("Reason").fill("goodwill")
    ops.locator("#propose-waiver").click()  # all of the penalty
    fin = staff_page(site, new_page, "fin", StaffRole.FINANCE)
    fin.goto("/office/approvals")
    proposal_id = fin.locator("#approvals .proposal-id").inner_text()
    # no reason: refused, still open
    assert refused(site, fin, fin.locator(f"#reject-{proposal_id}").click) == 422
    assert "REASON_REQUIRED" in fin.locator("#error").inner_text()
    assert written(site)[2] == 1
    fin.get_by_label("Checker's note").fill("not eligible: third waiver this year")
    fin.locator(f"#reject-{proposal_id}").click()
    assert "rejected" in fin.locator("#decided-proposals").inner_text()
    assert written(site)[2] == 0
    assert penalty_of(site, contract_id) == PENALTY
    assert site.console_errors == []


def test_a_waiver_amount_that_is_not_money_is_refused_and_nothing_is_proposed(
    site: Site, new_page: Any
) -> None:
    contract_id = overdue_contract(site)
    ops = staff_page(site, new_page, "ops", StaffRole.OPERATOR)
    ops.goto(f"/office/contracts/{contract_id}")
    ops.get_by_label("Amount (yuan; empty: all of it)").fill("1.234")
    ops.get_by_label("Reason").fill("typo")
    assert refused(site, ops, ops.locator("#propose-waiver").click) == 422
    assert "INVALID_AMOUNT" in ops.locator("#error").inner_text()
    assert written(site)[0] == 0
    assert site.console_errors == []
