"""One generic proposal form for every maker-checker kind, in a real browser: every kind's form has a
labelled field per payload parameter; risk proposes a limit override and a decision override from the
pages that show their targets, a second risk user approves them in the queue and they run; an amount
that is not money, an unknown target and a role that may not propose are refused, nothing written."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from lendcore.approvals.forms import form_of
from lendcore.approvals.kinds import KINDS
from lendcore.auth.principal import StaffRole
from lendcore.store.engine import unit_of_work
from lendcore.store.models import CreditLine
from lendcore.store.models_approvals import ApprovalProposal
from lendcore.store.models_origination import CreditApplication
from tests.origination.helpers import apply, register
from tests.servicing.support import open_line
from tests.web.conftest import Site
from tests.web.test_customer_story import shoot
from tests.web.test_office_approvals import refused
from tests.web.test_office_customers import UNLABELLED, signed_in_staff


def proposals(site: Site) -> int:
    with unit_of_work(site.factory, read_only=True) as session:
        return session.scalar(select(func.count()).select_from(ApprovalProposal)) or 0


def line_of(site: Site, line_id: str) -> tuple[int, str]:
    with unit_of_work(site.factory, read_only=True) as session:
        line = session.get(CreditLine, line_id)
        assert line is not None
        return line.credit_limit, line.status


def proposal_shown(page: Any) -> str:
    found = re.search(r"apv_[0-9A-Z]+", page.locator("#proposed").inner_text())
    assert found, page.locator("#proposed").inner_text()
    return found[0]


def approve_in_queue(site: Site, page: Any, proposal_id: str, note: str) -> None:
    page.goto("/office/approvals")
    page.locator(f"#note-{proposal_id}").fill(note)
    page.locator(f"#approve-{proposal_id}").click()
    assert proposal_id in page.locator("#decided").inner_text()


def test_every_kind_has_a_form_with_a_labelled_field_per_parameter(site: Site, new_page: Any) -> None:
    admin = signed_in_staff(site, new_page, "ada", StaffRole.ADMIN, "en")
    admin.locator("#go-propose").click()
    expect(admin.locator("#kinds a")).to_have_count(len(KINDS))
    assert {a.get_attribute("id") for a in admin.locator("#kinds a").all()} == {f"kind-{k}" for k in KINDS}
    shoot(admin, "office-propose-kinds-en")
    for kind in KINDS:
        admin.goto(f"/office/propose/{kind}")
        assert admin.evaluate(UNLABELLED) == [], kind
        names = admin.locator("#propose-form [name^=p_]").evaluate_all("es => es.map(e => e.name)")
        assert names == [f"p_{f.name}" for f in form_of(kind)], kind
    assert site.console_errors == []


def test_risk_proposes_a_limit_override_from_the_customer_page_and_another_approves_it(
    site: Site, new_page: Any
) -> None:
    customer_id, _ = site.customer()
    _, line_id = open_line(site.factory, customer_id=customer_id, limit=2_000_000)
    maker = signed_in_staff(site, new_page, "rita", StaffRole.RISK, "en")
    maker.goto(f"/office/customers/{customer_id}")
    maker.locator(".propose-limit-override").click()
    assert maker.get_by_label("Credit line id").input_value() == line_id
    before = proposals(site)
    maker.get_by_label("New limit (yuan)").fill("1,000.5x")
    maker.get_by_label("Reason").fill("income verified")
    assert refused(site, maker, maker.locator("#propose").click) == 422
    assert "INVALID_AMOUNT" in maker.locator("#error").inner_text()
    assert maker.get_by_label("Reason").input_value() == "income verified"  # what was typed is kept
    assert proposals(site) == before
    maker.get_by_label("New limit (yuan)").fill("30000")
    shoot(maker, "office-propose-limit-en")
    maker.locator("#propose").click()
    proposal_id = proposal_shown(maker)
    assert line_of(site, line_id) == (2_000_000, "active")  # proposed, not applied

    checker = signed_in_staff(site, new_page, "rolf", StaffRole.RISK, "en")
    checker.goto("/office/approvals")
    assert "new_limit: ¥30,000.00" in checker.locator(f"#proposal-{proposal_id}").inner_text()
    shoot(checker, "office-approvals-limit-en")
    approve_in_queue(site, checker, proposal_id, "payslips seen")
    assert line_of(site, line_id) == (3_000_000, "active")
    assert site.console_errors == []


def test_risk_overrides_a_declined_application_and_an_operator_may_not(site: Site, new_page: Any) -> None:
    with unit_of_work(site.factory) as session:
        decided = apply(session, register(session).id, requested_amount=40_000_00, device=uuid.uuid4().hex)
    assert decided["outcome"] == "declined"
    ops = signed_in_staff(site, new_page, "ops", StaffRole.OPERATOR, "en")
    ops.goto(f"/office/propose/decision-override?target={decided['decision_id']}")
    expect(ops.locator("#may-not-propose")).to_have_count(1)
    ops.get_by_label("Reason").fill("I think so")
    assert refused(site, ops, ops.locator("#propose").click) == 403
    assert "PERMISSION_DENIED" in ops.locator("#error").inner_text()
    ops.goto("/office/propose/write-off?target=ln_01JAAAAAAAAAAAAAAAAAAAAAAA")
    ops.get_by_label("Reason").fill("fraud")
    assert refused(site, ops, ops.locator("#propose").click) == 404
    assert "CONTRACT_NOT_FOUND" in ops.locator("#error").inner_text()
    assert proposals(site) == 0

    maker = signed_in_staff(site, new_page, "rita", StaffRole.RISK, "zh")
    maker.goto("/office/propose")
    shoot(maker, "office-propose-kinds-zh")
    maker.goto("/office/applications")
    maker.locator(".propose-decision-override").click()
    assert maker.locator("#target-id").input_value() == decided["decision_id"]
    maker.get_by_label("改判为").select_option("approved")
    maker.get_by_label("额度（元；批准时必填）").fill("20000")
    maker.get_by_label("定价等级（留空：原等级）").fill("D")
    maker.get_by_label("理由").fill("收入证明已核实")
    shoot(maker, "office-propose-decision-zh")
    maker.locator("#propose").click()
    proposal_id = proposal_shown(maker)
    checker = signed_in_staff(site, new_page, "rolf", StaffRole.RISK, "zh")
    checker.goto("/office/approvals")
    shoot(checker, "office-approvals-decision-zh")
    approve_in_queue(site, checker, proposal_id, "同意")
    with unit_of_work(site.factory, read_only=True) as session:
        application = session.get(CreditApplication, decided["application_id"])
        assert application is not None and application.status == "approved"
        line = session.scalars(
            select(CreditLine).where(CreditLine.customer_id == application.customer_id)
        ).one()
        assert (line.credit_limit, line.pricing_grade) == (2_000_000, "D")
    assert site.console_errors == []
