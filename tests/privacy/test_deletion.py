"""Deletion (PIPL Art. 47): erased what the law allows, kept what it requires, processing restricted."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.consent import ConsentKind
from lendcore.core.errors import BusinessRuleError, NotFoundError
from lendcore.origination.onboarding import consent_records
from lendcore.privacy.deletion import DeletionRequest, request_deletion
from lendcore.privacy.policy import RetentionPolicy
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, BankCard, Contract, CreditLine, Customer, JournalEntry
from lendcore.store.models_privacy import PrivacyRequest, ProcessingRestriction
from tests.origination.helpers import CIPHER, apply
from tests.privacy.support import AT, customer_with_contract, customer_with_line, registered
from tests.servicing.support import D0, assert_invariants, do_draw, snapshot


def _delete(factory: sessionmaker[Session], customer_id: str, **kw: object) -> dict[str, object]:
    with unit_of_work(factory) as session:
        request = DeletionRequest(customer_id, D0, actor=customer_id)
        return request_deletion(session, request, at=AT, **kw).to_json()  # type: ignore[arg-type]


def test_an_open_contract_blocks_erasure_and_nothing_is_written(
    session_factory: sessionmaker[Session],
) -> None:
    customer_id, contract_id = customer_with_contract(session_factory)
    before = snapshot(session_factory)
    with pytest.raises(BusinessRuleError) as error:
        _delete(session_factory, customer_id)
    assert error.value.code == "ERASURE_BLOCKED_OPEN_CONTRACTS"
    assert error.value.details["contracts"] == [contract_id]
    assert contract_id in str(error.value) and "settled" in str(error.value)
    assert snapshot(session_factory) == before
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(PrivacyRequest)) == 0
        assert session.get(ProcessingRestriction, customer_id) is None


def test_a_settled_customer_is_erased_where_allowed_and_kept_where_the_law_requires(
    session_factory: sessionmaker[Session],
) -> None:
    customer_id, contract_id = customer_with_contract(session_factory, settled=True)
    result = _delete(session_factory, customer_id)
    assert result["keep_until"] == "2036-03-01"  # 10 years (AML) after the relationship ended
    with unit_of_work(session_factory, read_only=True) as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        # erased: contact data and its index (a phone number is recycled to someone else)
        assert (customer.phone_ciphertext, customer.phone_hash) == (None, None)
        # kept: identity (AML), readable by the lender
        assert (
            customer.name_ciphertext is not None
            and CIPHER.decrypt("name", customer.name_ciphertext) == "欧阳娜娜"
        )
        assert customer.id_number_hash is not None and customer.status == "closed"
        # kept: the transaction records
        contract = session.get(Contract, contract_id)
        assert contract is not None and contract.status == "closed"
        assert session.scalar(select(func.count()).where(JournalEntry.contract_id == contract_id)) > 0
        # processing stopped: consents revoked (kept as history), lines closed, cards unbound
        assert not any(r.active_at(AT) for r in consent_records(session, customer_id))
        assert {
            x.status for x in session.scalars(select(CreditLine).where(CreditLine.customer_id == customer_id))
        } == {"closed"}
        assert {
            c.status for c in session.scalars(select(BankCard).where(BankCard.customer_id == customer_id))
        } == {"unbound"}
        audit = session.scalars(select(AuditRecord).where(AuditRecord.action == "privacy.deletion")).one()
        assert audit.target_id == customer_id
    assert_invariants(session_factory)


def test_every_processing_path_refuses_a_restricted_customer(session_factory: sessionmaker[Session]) -> None:
    customer_id, line_id = customer_with_line(session_factory)
    _delete(session_factory, customer_id)
    with pytest.raises(BusinessRuleError) as error:
        do_draw(session_factory, line_id, 100_000, 3)
    assert error.value.code == "PROCESSING_RESTRICTED"
    with unit_of_work(session_factory) as session, pytest.raises(BusinessRuleError) as refused:
        apply(session, customer_id)
    assert refused.value.code == "PROCESSING_RESTRICTED"


def test_application_answers_are_erased_and_the_decision_keeps_only_its_outcome(
    session_factory: sessionmaker[Session],
) -> None:
    from lendcore.store.models_origination import CreditApplication, CreditDecision

    customer_id = registered(session_factory)
    with unit_of_work(session_factory) as session:
        decided = apply(session, customer_id)
    assert decided["outcome"] in ("approved", "declined", "referred")
    _delete(session_factory, customer_id)
    with unit_of_work(session_factory, read_only=True) as session:
        app = session.scalars(
            select(CreditApplication).where(CreditApplication.customer_id == customer_id)
        ).one()
        assert app.form == {"erased": True} and app.phone_hash is None and app.device_id_hash is None
        decision = session.scalars(
            select(CreditDecision).where(CreditDecision.application_id == app.id)
        ).one()
        assert decision.record["inputs"] == {"erased": True}
        assert decision.outcome == decided["outcome"]


def test_asking_twice_returns_the_first_answer(session_factory: sessionmaker[Session]) -> None:
    customer_id, _ = customer_with_line(session_factory)
    first = _delete(session_factory, customer_id)
    assert _delete(session_factory, customer_id) == first
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(PrivacyRequest)) == 1


def test_the_retention_period_is_configurable(session_factory: sessionmaker[Session]) -> None:
    customer_id, _ = customer_with_line(session_factory)
    result = _delete(session_factory, customer_id, policy=RetentionPolicy(identity_years=5))
    assert result["keep_until"] == date(2031, 3, 1).isoformat()


def test_an_unknown_customer_is_refused(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(NotFoundError) as error:
        _delete(session_factory, "cus_nope")
    assert error.value.code == "CUSTOMER_NOT_FOUND"


def test_the_revoked_consents_include_the_optional_ones(session_factory: sessionmaker[Session]) -> None:
    from lendcore.origination.onboarding import ConsentGrantRequest, grant_consent

    customer_id, _ = customer_with_line(session_factory)
    with unit_of_work(session_factory) as session:
        grant_consent(
            session, ConsentGrantRequest(customer_id, ConsentKind.CREDIT_BUREAU_QUERY, "1.0"), at=AT
        )
    result = _delete(session_factory, customer_id)
    assert result["consents_revoked"] == 4


def test_money_held_for_the_customer_blocks_erasure_until_refunded(
    session_factory: sessionmaker[Session],
) -> None:
    from lendcore.store.models import UnappliedFunds
    from tests.servicing.support import do_repay

    customer_id, _ = customer_with_contract(session_factory)
    do_repay(session_factory, customer_id, 550_000, D0)  # more than owed: the rest is held for them
    with unit_of_work(session_factory, read_only=True) as session:
        row = session.get(UnappliedFunds, customer_id)
        assert row is not None and row.balance > 0
        held = row.balance
    with pytest.raises(BusinessRuleError) as error:
        _delete(session_factory, customer_id)
    assert error.value.code == "ERASURE_BLOCKED_OPEN_CONTRACTS"
    assert error.value.details["unapplied_funds"] == held
