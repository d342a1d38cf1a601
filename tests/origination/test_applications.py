from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.consent import ConsentKind
from lendcore.core.errors import BusinessRuleError, ConflictError, ValidationError
from lendcore.origination.applications import build_context, strategy_pricing
from lendcore.origination.blacklist import add_to_blacklist
from lendcore.origination.onboarding import (
    ConsentGrant,
    ConsentGrantRequest,
    ConsentRevocation,
    grant_consent,
    revoke_consent,
)
from lendcore.risk.rules import BlacklistKind, RulesConfig
from lendcore.servicing.lines import close_line
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, CreditLine, Customer, IdempotencyKey
from lendcore.store.models_origination import CreditApplication, CreditDecision, LimitChange

from .helpers import CATALOG, CIPHER, NOW, TODAY, apply, make_phone, register


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _customer(session_factory: sessionmaker[Session], **kw: Any) -> str:
    with unit_of_work(session_factory) as session:
        return register(session, **kw).id


def test_approve_opens_a_line_and_stores_the_decision(session_factory: sessionmaker[Session]) -> None:
    cid = _customer(session_factory)
    with unit_of_work(session_factory) as session:
        result = apply(session, cid)
    assert result["outcome"] == "approved" and result["grade"] == "A"
    assert result["credit_limit"] is not None and result["credit_line_id"]
    assert result["retry_on"] is None
    with unit_of_work(session_factory, read_only=True) as session:
        line = session.get(CreditLine, result["credit_line_id"])
        assert line is not None and line.credit_limit == result["credit_limit"] and line.pricing_grade == "A"
        assert line.opened_on == TODAY and line.status == "active"
        decision = session.get(CreditDecision, result["decision_id"])
        assert decision is not None and decision.credit_line_id == line.id
        # quick, 6 months, grade A: 0.0004 - 0.0001 = 0.0003/day = 300 ppm
        assert decision.daily_rate_ppm == 300
        assert decision.record["format"] == "lendcore.decision/1"
        assert decision.record["inputs"]["context"]["bureau_authorised"] is False
        change = session.scalars(select(LimitChange)).one()
        assert change.reason_code == "LINE_OPENED" and change.new_limit == line.credit_limit
        app = session.get(CreditApplication, result["application_id"])
        assert app is not None and app.status == "approved" and app.form["requested_amount"] == 3_000_00


def test_pricing_bridge_matches_the_catalog() -> None:
    product = CATALOG.get("quick")
    from lendcore.risk.strategy import price_for

    bands = strategy_pricing(product)
    for grade in product.pricing.grades:
        for term in product.terms:
            assert price_for(bands, grade, term) == product.daily_rate(term, grade)


def test_idempotent_retry_returns_the_same_decision(session_factory: sessionmaker[Session]) -> None:
    cid = _customer(session_factory)
    with unit_of_work(session_factory) as session:
        first = apply(session, cid, key="same-key")
    with unit_of_work(session_factory) as session:
        again = apply(session, cid, key="same-key")
    assert again == first
    with unit_of_work(session_factory, read_only=True) as session:
        assert _count(session, CreditApplication) == 1
        assert _count(session, CreditDecision) == 1
        assert _count(session, CreditLine) == 1
        assert _count(session, IdempotencyKey) == 1
    with pytest.raises(ConflictError) as info, unit_of_work(session_factory) as session:
        apply(session, cid, key="same-key", requested_amount=4_000_00)
    assert info.value.code == "IDEMPOTENCY_KEY_REUSED"


def test_consent_gating(session_factory: sessionmaker[Session]) -> None:
    # registration needs the sensitive-information consent (ID, cards); the privacy policy is asked at apply
    cid = _customer(
        session_factory,
        consents=(
            ConsentGrant(ConsentKind.TERMS, "1.0"),
            ConsentGrant(ConsentKind.SENSITIVE_PERSONAL_INFO, "1.0"),
        ),
    )
    with unit_of_work(session_factory) as session:
        revoke_consent(session, ConsentRevocation(cid, ConsentKind.SENSITIVE_PERSONAL_INFO), at=NOW)
    with pytest.raises(BusinessRuleError) as info, unit_of_work(session_factory) as session:
        apply(session, cid)
    assert info.value.code == "CONSENT_REQUIRED"
    assert set(info.value.details["missing"]) == {"privacy", "sensitive_personal_info"}
    with unit_of_work(session_factory, read_only=True) as session:
        assert _count(session, CreditApplication) == 0 and _count(session, IdempotencyKey) == 0


def test_bureau_authorisation_is_recorded_and_revocation_takes_effect(
    session_factory: sessionmaker[Session],
) -> None:
    a = _customer(session_factory)
    b = _customer(session_factory)
    with unit_of_work(session_factory) as session:
        grant_consent(
            session,
            ConsentGrantRequest(a, ConsentKind.CREDIT_BUREAU_QUERY, "1.0"),
            at=NOW - timedelta(days=1),
        )
        grant_consent(
            session,
            ConsentGrantRequest(b, ConsentKind.CREDIT_BUREAU_QUERY, "1.0"),
            at=NOW - timedelta(days=1),
        )
        revoke_consent(
            session, ConsentRevocation(b, ConsentKind.CREDIT_BUREAU_QUERY), at=NOW - timedelta(hours=1)
        )
    with unit_of_work(session_factory) as session:
        ra = apply(session, a, device="dev-a")
        rb = apply(session, b, device="dev-b")
    with unit_of_work(session_factory, read_only=True) as session:
        da = session.get(CreditDecision, ra["decision_id"])
        db = session.get(CreditDecision, rb["decision_id"])
        assert da is not None and db is not None
        assert da.record["inputs"]["context"]["bureau_authorised"] is True
        assert db.record["inputs"]["context"]["bureau_authorised"] is False
    assert ra["credit_limit"] > rb["credit_limit"]  # 征信授权 uplift
    # revoking terms blocks the next application
    c = _customer(session_factory)
    with unit_of_work(session_factory) as session:
        revoke_consent(session, ConsentRevocation(c, ConsentKind.TERMS), at=NOW)
    with pytest.raises(BusinessRuleError) as info, unit_of_work(session_factory) as session:
        apply(session, c)
    assert info.value.code == "CONSENT_REQUIRED"


def test_cooldown_after_decline_and_decline_does_not_count(session_factory: sessionmaker[Session]) -> None:
    cid = _customer(session_factory)
    # 40,000 yuan → PD 0.40 → grade E → declined by the score
    with unit_of_work(session_factory) as session:
        declined = apply(session, cid, requested_amount=40_000_00)
    assert declined["outcome"] == "declined" and declined["reason_codes"] == ["GRADE_DECLINED"]
    assert declined["retry_on"] == (TODAY + timedelta(days=30)).isoformat()
    day29 = TODAY + timedelta(days=29)
    with unit_of_work(session_factory) as session:
        early = apply(session, cid, on=day29)
    assert early["outcome"] == "declined" and early["reason_codes"] == ["REAPPLY_COOLDOWN"]
    assert early["retry_on"] == (TODAY + timedelta(days=30)).isoformat()
    # on day 30 the applicant is approved: neither decline counts against the half-year limit,
    # and the early (cooldown-only) decline did not restart the cooldown
    with unit_of_work(session_factory) as session:
        ok = apply(session, cid, on=TODAY + timedelta(days=30))
    assert ok["outcome"] == "approved"


def test_one_line_application_per_half_year(session_factory: sessionmaker[Session]) -> None:
    cid = _customer(session_factory)
    with unit_of_work(session_factory) as session:
        first = apply(session, cid)
        assert first["outcome"] == "approved"
        close_line(
            session, first["credit_line_id"], reason_code="CUSTOMER_REQUEST", business_date=TODAY, actor="s1"
        )
    later = TODAY + timedelta(days=100)
    with unit_of_work(session_factory) as session:
        second = apply(session, cid, on=later)
    assert second["outcome"] == "declined" and second["reason_codes"] == ["APPLICATION_FREQUENCY_LIMIT"]
    assert second["retry_on"] == (TODAY + timedelta(days=183)).isoformat()
    with unit_of_work(session_factory) as session:
        third = apply(session, cid, on=TODAY + timedelta(days=183))
    assert third["outcome"] == "approved"


def test_velocity_by_device(session_factory: sessionmaker[Session]) -> None:
    customers = [_customer(session_factory) for _ in range(4)]
    results = []
    for cid in customers:
        with unit_of_work(session_factory) as session:
            results.append(apply(session, cid, device="shared-phone"))
    assert [r["outcome"] for r in results[:3]] == ["approved"] * 3
    assert results[3]["outcome"] == "declined" and results[3]["reason_codes"] == ["VELOCITY_DEVICE"]
    assert results[3]["retry_on"] == (TODAY + timedelta(days=7)).isoformat()


def test_blacklist_and_existing_line(session_factory: sessionmaker[Session]) -> None:
    phone = make_phone()
    cid = _customer(session_factory, phone=phone)
    with unit_of_work(session_factory) as session:
        add_to_blacklist(session, BlacklistKind.PHONE, "+86 " + phone, cipher=CIPHER, added_by="risk-1")
        r = apply(session, cid)
    assert r["outcome"] == "declined" and r["reason_codes"] == ["BLACKLIST_PHONE"] and r["retry_on"] is None
    other = _customer(session_factory)
    with unit_of_work(session_factory) as session:
        assert apply(session, other, device="d2")["outcome"] == "approved"
    with pytest.raises(BusinessRuleError) as info, unit_of_work(session_factory) as session:
        apply(session, other, device="d2", on=TODAY + timedelta(days=200))
    assert info.value.code == "LINE_ALREADY_OPEN"


def test_form_and_product_validation(session_factory: sessionmaker[Session]) -> None:
    cid = _customer(session_factory)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"term_months": 24}, "TERM_NOT_ALLOWED"),
        ({"requested_amount": 60_000_00}, "AMOUNT_OUT_OF_RANGE"),
        ({"purpose": "yacht"}, "INVALID_PURPOSE"),
        ({"monthly_income": "lots"}, "INVALID_MONTHLY_INCOME"),
        ({"colour": "blue"}, "UNKNOWN_FIELD"),
        ({"colour": "blue", "purpose": "yacht"}, "INVALID_FORM"),
    ]
    for form, code in cases:
        with pytest.raises(ValidationError) as info, unit_of_work(session_factory) as session:
            apply(session, cid, **form)
        assert info.value.code == code, form
    with unit_of_work(session_factory, read_only=True) as session:
        assert _count(session, CreditApplication) == 0


def test_context_reads_history(session_factory: sessionmaker[Session]) -> None:
    cid = _customer(session_factory)
    with unit_of_work(session_factory) as session:
        apply(session, cid, requested_amount=40_000_00)  # declined
    with unit_of_work(session_factory, read_only=True) as session:
        customer = session.get(Customer, cid)
        assert customer is not None
        ctx = build_context(
            session,
            customer,
            business_date=TODAY + timedelta(days=3),
            cipher=CIPHER,
            device_hash=CIPHER.blind_index("device", "device-1"),
            bureau_authorised=False,
            rules=RulesConfig(),
        )
        assert ctx.id_valid and ctx.birth_date is not None and ctx.sex is not None
        assert ctx.device_application_dates == (TODAY,) and ctx.id_application_dates == (TODAY,)
        assert [p.outcome.value for p in ctx.prior_applications] == ["declined"]
        assert ctx.is_new_customer and ctx.existing_overdue_days == 0
        audit = session.scalars(
            select(AuditRecord.action).where(AuditRecord.action == "application.decided")
        ).all()
        assert len(audit) == 1


def test_an_id_that_cannot_be_decrypted_refuses_the_request_and_never_declines_the_customer(
    session_factory: sessionmaker[Session],
) -> None:
    from lendcore.security.pii import KeyRing, PiiCipher, PiiCryptoError, generate_key

    with unit_of_work(session_factory) as session:
        customer = register(session)
    # wrong encryption keys, the right blind-index key (a wrong one is refused before: PII_HMAC_KEY_CHANGED)
    wrong_keys = PiiCipher(KeyRing.parse(f"kx:{base64.b64encode(generate_key()).decode()}"), CIPHER.hash_keys)
    with pytest.raises(PiiCryptoError) as caught, unit_of_work(session_factory) as session:
        apply(session, customer.id, cipher=wrong_keys)
    assert caught.value.code in ("PII_DECRYPT_FAILED", "PII_KEY_UNKNOWN")
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(CreditApplication)) == 0
        assert session.scalar(select(func.count()).select_from(CreditDecision)) == 0
