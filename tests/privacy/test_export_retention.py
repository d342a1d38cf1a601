"""Export (PIPL Art. 45) and the retention job (Art. 47 (1)): the document, its audit, erasure on time."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.privacy.deletion import DeletionRequest, request_deletion
from lendcore.privacy.export import export_customer
from lendcore.privacy.policy import RetentionPolicy
from lendcore.privacy.retention import run_retention
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, BankCard, Contract, Customer
from lendcore.store.models_origination import CreditApplication
from lendcore.store.models_privacy import ProcessingRestriction
from tests.origination.helpers import CIPHER, apply
from tests.privacy.support import AT, NAME, customer_with_contract, registered
from tests.servicing.support import D0


def _export(factory: sessionmaker[Session], customer_id: str, actor: str = "staff-1") -> dict[str, object]:
    with unit_of_work(factory) as session:
        return export_customer(session, customer_id, CIPHER, actor=actor, channel="cli", on=D0, at=AT)


def test_the_export_holds_the_customers_data_decrypted_and_is_audited(
    session_factory: sessionmaker[Session],
) -> None:
    customer_id, contract_id = customer_with_contract(session_factory, settled=True)
    document = _export(session_factory, customer_id)
    json.dumps(document, ensure_ascii=False)  # machine-readable: plain JSON all through
    profile = document["customer"]
    assert isinstance(profile, dict)
    assert profile["name"] == NAME and len(profile["id_number"]) == 18 and profile["phone"].startswith("139")
    assert profile["cards"] and profile["cards"][0]["number"].startswith("622202")
    assert not any("hash" in k or "ciphertext" in k for k in profile)
    contracts = document["contracts"]
    assert isinstance(contracts, list) and [c["id"] for c in contracts] == [contract_id]
    assert contracts[0]["transactions"][0]["type"] == "disbursement"
    assert len(contracts[0]["schedule"]) >= 1 and document["payments"] and document["consents"]
    with unit_of_work(session_factory, read_only=True) as session:
        audit = session.scalars(select(AuditRecord).where(AuditRecord.action == "privacy.export")).one()
        assert (audit.actor, audit.target_id) == ("staff-1", customer_id)
        assert audit.details["unmasked"] == ["name", "id_number", "phone", "card_number"]
        assert NAME not in json.dumps(audit.details, ensure_ascii=False)  # the audit holds no PII


def test_applications_are_exported_with_the_decision_and_its_explanation(
    session_factory: sessionmaker[Session],
) -> None:
    customer_id = registered(session_factory)
    with unit_of_work(session_factory) as session:
        apply(session, customer_id)
    (application,) = _export(session_factory, customer_id)["applications"]  # type: ignore[misc]
    assert application["form"]["monthly_income"] is not None
    assert application["decision"]["explanation"]["reason_codes"] == application["decision"]["reason_codes"]


def test_the_retention_job_erases_the_kept_identity_when_its_period_ends_and_only_then(
    session_factory: sessionmaker[Session],
) -> None:
    customer_id, contract_id = customer_with_contract(session_factory, settled=True)
    with unit_of_work(session_factory) as session:
        request_deletion(session, DeletionRequest(customer_id, D0, customer_id), at=AT)
    with unit_of_work(session_factory) as session:
        assert run_retention(session, date(2036, 2, 29), CIPHER, at=AT).identities_erased == ()
    with unit_of_work(session_factory) as session:
        assert run_retention(session, date(2036, 3, 1), CIPHER, at=AT).identities_erased == (customer_id,)
    with unit_of_work(session_factory) as session:  # idempotent: a second run erases nothing more
        assert run_retention(session, date(2036, 3, 2), CIPHER, at=AT).identities_erased == ()
    with unit_of_work(session_factory, read_only=True) as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        assert (customer.name_ciphertext, customer.id_number_ciphertext, customer.id_number_hash) == (
            None,
        ) * 3
        card = session.scalars(select(BankCard).where(BankCard.customer_id == customer_id)).one()
        assert CIPHER.decrypt("card_number", card.card_number_ciphertext) == ""
        restriction = session.get(ProcessingRestriction, customer_id)
        assert restriction is not None and restriction.erased_on == date(2036, 3, 1)
        assert session.get(Contract, contract_id) is not None  # transaction records stay (no PII in them)
    # and the export still works for what is left
    assert _export(session_factory, customer_id)["customer"]["name"] is None  # type: ignore[index]


def test_declined_applications_lose_their_answers_after_the_configured_period(
    session_factory: sessionmaker[Session],
) -> None:
    customer_id = registered(session_factory)
    with unit_of_work(session_factory) as session:
        apply(session, customer_id, requested_amount=40_000_00)  # the fake scorer declines large asks
    with unit_of_work(session_factory, read_only=True) as session:
        app = session.scalars(select(CreditApplication)).one()
        applied_on = app.applied_on
    policy = RetentionPolicy(declined_application_years=1)
    with unit_of_work(session_factory) as session:
        kept = run_retention(
            session, applied_on.replace(year=applied_on.year + 1), CIPHER, at=AT, policy=policy
        )
    with unit_of_work(session_factory) as session:
        later = applied_on.replace(year=applied_on.year + 1) + timedelta(days=1)
        erased = run_retention(session, later, CIPHER, at=AT, policy=policy)
    assert kept.applications_erased == () and len(erased.applications_erased) == 1
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalars(select(CreditApplication)).one().form == {"erased": True}
        assert session.scalar(select(func.count()).where(AuditRecord.action == "privacy.retention")) == 2


def test_a_relationship_that_ended_long_ago_is_erased_without_a_request(
    session_factory: sessionmaker[Session],
) -> None:
    from lendcore.servicing.lines import close_line
    from lendcore.store.models import CreditLine

    customer_id, _ = customer_with_contract(session_factory, settled=True)
    with unit_of_work(session_factory) as session:
        line = session.scalars(select(CreditLine).where(CreditLine.customer_id == customer_id)).one()
        close_line(session, line.id, reason_code="CUSTOMER_LEFT", business_date=D0, actor="ops")
    with unit_of_work(session_factory) as session:
        early = run_retention(session, date(2036, 2, 29), CIPHER, at=AT)
    with unit_of_work(session_factory) as session:
        due = run_retention(session, date(2036, 3, 1), CIPHER, at=AT)
    assert early.relationships_ended == () and early.identities_erased == ()
    assert due.relationships_ended == (customer_id,) and due.identities_erased == (customer_id,)
    with unit_of_work(session_factory, read_only=True) as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None and (customer.name_ciphertext, customer.phone_ciphertext) == (None, None)
        restriction = session.get(ProcessingRestriction, customer_id)
        assert restriction is not None and restriction.request_id is None
    with unit_of_work(session_factory) as session:  # idempotent
        again = run_retention(session, date(2036, 3, 2), CIPHER, at=AT)
    assert again.relationships_ended == () and again.identities_erased == ()


def test_a_customer_with_an_open_line_is_kept(session_factory: sessionmaker[Session]) -> None:
    customer_with_contract(session_factory, settled=True)  # the line stays open: still a customer
    with unit_of_work(session_factory) as session:
        report = run_retention(session, date(2040, 1, 1), CIPHER, at=AT)
    assert report.relationships_ended == () and report.identities_erased == ()


def test_the_retention_job_runs_on_the_worker_from_its_daily_schedule(
    session_factory: sessionmaker[Session],
) -> None:
    """The scheduler's ``privacy-retention`` (02:30, for the day before) enqueues ``privacy.retention``,
    whose handler runs the same erasure in the job's transaction; a redelivered job erases nothing
    more."""
    from datetime import UTC, datetime

    from lendcore.batch.jobs import default_registry
    from lendcore.jobs.outbox import enqueue
    from lendcore.jobs.scheduler import DEFAULT_SCHEDULES, local_date
    from lendcore.jobs.worker import Worker
    from lendcore.store.types import utc_now

    schedule = next(s for s in DEFAULT_SCHEDULES if s.name == "privacy-retention")
    at = datetime(2036, 3, 1, 18, 30, tzinfo=UTC)  # 02:30 on 03-02 in Shanghai
    assert local_date(at) == date(2036, 3, 2)
    assert schedule.kind == "privacy.retention" and schedule.payload(at) == {"business_date": "2036-03-01"}
    customer_id, _ = customer_with_contract(session_factory, settled=True)
    with unit_of_work(session_factory) as session:
        request_deletion(session, DeletionRequest(customer_id, D0, customer_id), at=AT)
        enqueue(session, "privacy.retention", schedule.payload(at))
        enqueue(session, "privacy.retention", schedule.payload(at))  # delivered twice
    worker = Worker(session_factory, default_registry(None), clock=lambda: max(at, utc_now()))
    assert worker.run_until_idle() == 2
    with unit_of_work(session_factory, read_only=True) as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None and customer.name_ciphertext is None
        erased = session.scalars(select(AuditRecord.details).where(AuditRecord.action == "privacy.retention"))
        assert [d["identities_erased"] for d in erased] == [1, 0]
