"""``GET /api/v1/me/export`` (own data only, decrypted, audited) and ``POST /api/v1/me/deletion``."""

from __future__ import annotations

from sqlalchemy import select

from lendcore.auth.staff import StaffRole
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, Customer
from tests.api.conftest import LiveApi
from tests.api.support import customer_principal, problem, staff_principal

EXPORT = "/api/v1/me/export"


def test_a_customer_exports_their_own_data_decrypted_and_the_access_is_audited(api: LiveApi) -> None:
    customer_id, phone = api.customer()
    other_id, other_phone = api.customer()
    with api.client() as client:
        answer = client.get(EXPORT, headers=api.auth(customer_principal(customer_id)))
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    document = answer.json()
    assert document["customer"]["id"] == customer_id and document["customer"]["phone"] == phone
    assert other_id not in answer.text and other_phone not in answer.text  # only one's own
    with unit_of_work(api.factory, read_only=True) as session:
        audit = session.scalars(select(AuditRecord).where(AuditRecord.action == "privacy.export")).one()
        assert (audit.actor, audit.target_id, audit.details["channel"]) == (customer_id, customer_id, "api")


def test_staff_and_strangers_cannot_use_the_customer_export(api: LiveApi) -> None:
    with api.client() as client:
        problem(client.get(EXPORT), 401, "AUTHENTICATION_REQUIRED")
        staff = client.get(EXPORT, headers=api.auth(staff_principal(StaffRole.ADMIN)))
    problem(staff, 403, "CUSTOMERS_ONLY")
    with unit_of_work(api.factory, read_only=True) as session:
        assert session.scalars(select(AuditRecord).where(AuditRecord.action == "privacy.export")).all() == []


def test_a_customer_asks_for_deletion_and_is_then_restricted(api: LiveApi) -> None:
    customer_id, _ = api.customer()
    headers = api.auth(customer_principal(customer_id))
    with api.client() as client:
        first = client.post("/api/v1/me/deletion", headers=headers)
        again = client.post("/api/v1/me/deletion", headers=headers)
    assert first.status_code == 200, first.text
    assert again.json() == first.json()
    with unit_of_work(api.factory, read_only=True) as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None and customer.phone_ciphertext is None and customer.status == "closed"
