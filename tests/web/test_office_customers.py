"""Back-office customers in a real browser: every member of staff sees the list and a customer
masked (and finds one by phone); an operator has no unmask form and a forced one is refused and
audited nowhere; risk unmasks one field with a reason, sees it once, and the audit log says who,
which field, when, why and from where."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from lendcore.auth.principal import StaffRole
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord
from tests.web.conftest import Site
from tests.web.test_customer_story import shoot
from tests.web.test_office_approvals import refused

UNLABELLED = (
    "[...document.querySelectorAll('input:not([type=hidden]), select')]"
    ".filter(e => e.labels.length === 0).map(e => e.name)"
)


def signed_in_staff(site: Site, new_page: Any, username: str, role: StaffRole, lang: str) -> Any:
    page = new_page(lang)
    page.goto("/office/login")
    page.get_by_label("Username" if lang == "en" else "用户名").fill(username)
    page.get_by_label("Password" if lang == "en" else "密码").fill(site.staff(username, role))
    page.locator("#staff-sign-in").click()
    page.wait_for_url("**/office")
    return page


def unmaskings(site: Site) -> list[tuple[str, str, dict[str, Any], str | None]]:
    with unit_of_work(site.factory, read_only=True) as session:
        rows = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "customer.unmasked").order_by(AuditRecord.id)
        )
        return [(r.actor, r.target_id, dict(r.details), r.reason) for r in rows]


def test_an_operator_sees_customers_masked_and_cannot_unmask(site: Site, new_page: Any) -> None:
    first, phone = site.customer()
    site.customer()
    ops = signed_in_staff(site, new_page, "ops", StaffRole.OPERATOR, "en")
    ops.locator("#go-customers").click()
    ops.wait_for_url("**/office/customers")
    listed = ops.locator("#customers").inner_text()
    assert listed.count("张*") == 2 and phone not in listed and phone[-4:] in listed
    shoot(ops, "office-customers-en")
    ops.get_by_label("Find by mobile number").fill(phone)
    ops.locator("#find").click()
    expect(ops.locator("#customers tr")).to_have_count(2)  # the header and the one customer
    ops.locator(f"a[href='/office/customers/{first}']").click()
    assert ops.locator("#masked-phone").inner_text() == phone[:3] + "****" + phone[-4:]
    assert "*" in ops.locator("#masked-id-number").inner_text()
    assert phone not in ops.content()
    expect(ops.locator("#no-unmask")).to_have_count(1)
    expect(ops.locator("#unmask-form")).to_have_count(0)
    shoot(ops, "office-customer-en")
    assert ops.evaluate(UNLABELLED) == []

    # a forced unmask (a form built by hand) is refused and leaves no trace in the audit log
    force = (
        "([action, csrf]) => { const f = document.createElement('form');"
        " f.method = 'post'; f.action = action;"
        " for (const [k, v] of [['csrf_token', csrf], ['field', 'phone'], ['reason', 'curious']]) {"
        " const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v;"
        " f.appendChild(i); }"
        " document.body.appendChild(f); f.submit(); }"
    )
    csrf = ops.locator("form input[name=csrf_token]").first.input_value()
    action = f"/office/customers/{first}/unmask"
    assert refused(site, ops, lambda: ops.evaluate(force, [action, csrf])) == 403
    assert "PERMISSION_DENIED" in ops.locator("#error").inner_text()
    assert phone not in ops.content()
    assert unmaskings(site) == []
    assert site.console_errors == []


def test_risk_unmasks_a_phone_with_a_reason_and_the_audit_log_records_it(site: Site, new_page: Any) -> None:
    customer_id, phone = site.customer()
    risk = signed_in_staff(site, new_page, "risk", StaffRole.RISK, "zh")
    risk.goto("/office/customers")
    shoot(risk, "office-customers-zh")
    risk.goto(f"/office/customers/{customer_id}")
    assert risk.evaluate(UNLABELLED) == []
    # without a reason the browser will not submit; forced, the use case refuses it
    risk.locator("#unmask-reason").evaluate("e => e.removeAttribute('required')")
    assert refused(site, risk, risk.locator("#unmask").click) == 422
    assert "REASON_REQUIRED" in risk.locator("#error").inner_text()
    assert unmaskings(site) == []

    risk.get_by_label("要查看的信息").select_option("phone")
    risk.get_by_label("理由").fill("疑似冒用身份，核实本人")
    risk.locator("#unmask").click()
    assert risk.locator("#revealed-value").inner_text() == phone
    shoot(risk, "office-customer-unmasked-zh")
    ((actor, target, details, reason),) = unmaskings(site)
    assert actor.startswith("stf_") and target == customer_id and reason == "疑似冒用身份，核实本人"
    assert details["field"] == "phone" and details["client_ip"] == "127.0.0.1"
    risk.goto(f"/office/customers/{customer_id}")  # shown once: the page itself stays masked
    assert phone not in risk.content()
    risk.goto("/office/audit")
    assert "customer.unmasked" in risk.locator("#audit").inner_text()
    assert site.console_errors == []
