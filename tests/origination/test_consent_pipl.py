"""PIPL Art. 28/29: sensitive personal information (the ID number, bank cards) is collected only after
its separate consent; every consent names a published text version."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.consent import (
    SENSITIVE_ONBOARDING_FIELDS,
    ConsentKind,
    ConsentTexts,
    PublishedText,
)
from lendcore.core.errors import ConfigurationError, LendcoreError, ValidationError
from lendcore.origination.consent_texts import default_consent_texts, parse_consent_texts
from lendcore.origination.onboarding import (
    ConsentGrant,
    ConsentGrantRequest,
    grant_consent,
    register_customer,
)
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, BankCard, Customer
from lendcore.store.models_origination import Consent

from .helpers import ALL_CONSENTS, CIPHER, NOW, TODAY, onboarding_request, register

WRITTEN = (Customer, BankCard, Consent, AuditRecord)
TERMS = ConsentGrant(ConsentKind.TERMS, "1.0")
PRIVACY = ConsentGrant(ConsentKind.PRIVACY, "1.0")
SENSITIVE = ConsentGrant(ConsentKind.SENSITIVE_PERSONAL_INFO, "1.0")


def _counts(factory: sessionmaker[Session]) -> dict[str, int]:
    with unit_of_work(factory, read_only=True) as session:
        return {m.__name__: int(session.scalar(select(func.count()).select_from(m)) or 0) for m in WRITTEN}


def test_the_id_number_and_bank_cards_are_the_sensitive_onboarding_fields() -> None:
    assert set(SENSITIVE_ONBOARDING_FIELDS) == {"id_number", "cards"}


@pytest.mark.parametrize(
    "consents",
    [(), (TERMS, PRIVACY), (TERMS, PRIVACY, ConsentGrant(ConsentKind.CREDIT_BUREAU_QUERY, "2.0"))],
)
def test_registration_without_the_sensitive_information_consent_is_refused_and_stores_nothing(
    session_factory: sessionmaker[Session], consents: tuple[ConsentGrant, ...]
) -> None:
    with pytest.raises(LendcoreError) as caught, unit_of_work(session_factory) as session:
        register(session, consents=consents)
    assert caught.value.code == "SENSITIVE_CONSENT_REQUIRED"
    assert caught.value.details["fields"] == ["cards", "id_number"]
    assert _counts(session_factory) == dict.fromkeys((m.__name__ for m in WRITTEN), 0)


def test_without_the_consent_the_id_number_is_not_even_examined(
    session_factory: sessionmaker[Session],
) -> None:
    # a malformed ID would be ONBOARDING_INVALID, but without consent it is not looked at at all
    with pytest.raises(LendcoreError) as caught, unit_of_work(session_factory) as session:
        register(session, consents=(TERMS, PRIVACY), id_number="12345")
    assert caught.value.code == "SENSITIVE_CONSENT_REQUIRED"


def test_the_consent_given_in_the_same_request_allows_registration(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        customer = register(session, consents=(SENSITIVE,))
    with unit_of_work(session_factory, read_only=True) as session:
        kinds = session.scalars(select(Consent.kind).where(Consent.customer_id == customer.id)).all()
    assert kinds == ["sensitive_personal_info"]
    assert _counts(session_factory)["BankCard"] == 1


@pytest.mark.parametrize(
    "grant",
    [
        ConsentGrant(ConsentKind.TERMS, "9.9"),
        ConsentGrant(ConsentKind.PRIVACY, "1"),
        ConsentGrant(ConsentKind.SENSITIVE_PERSONAL_INFO, "1.0.0"),
        ConsentGrant(ConsentKind.FUNDING_PARTNER_SHARING, "2.0"),
    ],
)
def test_a_consent_to_an_unpublished_text_version_is_refused_and_stores_nothing(
    session_factory: sessionmaker[Session], grant: ConsentGrant
) -> None:
    with pytest.raises(ValidationError) as caught, unit_of_work(session_factory) as session:
        register(session, consents=(*ALL_CONSENTS, grant))
    assert caught.value.code == "CONSENT_VERSION_UNKNOWN"
    assert grant.text_version in caught.value.message
    assert _counts(session_factory) == dict.fromkeys((m.__name__ for m in WRITTEN), 0)


def test_a_later_grant_of_an_unpublished_version_is_refused_and_stores_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        cid = register(session).id
    before = _counts(session_factory)
    with pytest.raises(ValidationError) as caught, unit_of_work(session_factory) as session:
        grant_consent(
            session,
            ConsentGrantRequest(cid, ConsentKind.CREDIT_BUREAU_QUERY, "3.0"),
            at=NOW + timedelta(hours=1),
        )
    assert caught.value.code == "CONSENT_VERSION_UNKNOWN"
    assert _counts(session_factory) == before


_grants = st.lists(
    st.builds(
        ConsentGrant,
        st.sampled_from(list(ConsentKind)),
        st.sampled_from(["1.0", "2.0", "1.1", "0.9", "x"]),
    ),
    max_size=6,
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_grants)
def test_a_registration_stores_a_customer_only_with_the_sensitive_consent_and_published_versions(
    session_factory: sessionmaker[Session], grants: list[ConsentGrant]
) -> None:
    texts = default_consent_texts()
    published = all(g.text_version in texts.versions(g.kind) for g in grants)
    sensitive = any(g.kind is ConsentKind.SENSITIVE_PERSONAL_INFO for g in grants)
    before = _counts(session_factory)
    try:
        with unit_of_work(session_factory) as session:
            register_customer(
                session, onboarding_request(), business_date=TODAY, cipher=CIPHER, consents=grants, at=NOW
            )
    except LendcoreError as error:
        assert not (published and sensitive)
        assert error.code == ("SENSITIVE_CONSENT_REQUIRED" if published else "CONSENT_VERSION_UNKNOWN")
        assert _counts(session_factory) == before
    else:
        assert published and sensitive
        assert _counts(session_factory)["Customer"] == before["Customer"] + 1


def test_every_consent_kind_has_a_published_text_that_matches_its_hash() -> None:
    texts = default_consent_texts()
    for kind in ConsentKind:
        latest = texts.latest(kind)
        assert hashlib.sha256(latest.text.encode()).hexdigest() == latest.sha256
        assert latest.text.strip()
    assert texts.versions(ConsentKind.CREDIT_BUREAU_QUERY) == ("1.0", "2.0")


def test_a_consent_without_a_version_is_given_to_the_latest_published_text() -> None:
    assert ConsentGrant.parse("credit_bureau_query").text_version == "2.0"
    assert ConsentGrant.parse("privacy").text_version == "1.0"


def test_a_published_text_that_was_altered_is_refused_at_load() -> None:
    text = "第1.0版"
    document = (
        f'[[text]]\nkind = "terms"\nversion = "1.0"\npublished_on = 2025-01-01\nsha256 = "{"0" * 64}"\n'
    )
    document += f'text = "{text}"\n'
    with pytest.raises(ConfigurationError) as caught:
        parse_consent_texts(document)
    assert caught.value.code == "CONSENT_TEXT_ALTERED"
    good = document.replace("0" * 64, hashlib.sha256(text.encode()).hexdigest())
    assert parse_consent_texts(good).latest(ConsentKind.TERMS).text == text


def test_a_version_is_published_once() -> None:
    text = PublishedText(ConsentKind.TERMS, "1.0", TODAY, hashlib.sha256(b"t").hexdigest(), "t")
    with pytest.raises(ConfigurationError) as caught:
        ConsentTexts((text, text))
    assert caught.value.code == "INVALID_CONSENT_TEXTS"
