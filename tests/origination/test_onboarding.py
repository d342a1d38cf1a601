from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.consent import ConsentKind
from lendcore.core.errors import BusinessRuleError, ConflictError, ValidationError
from lendcore.core.identity import CardInput, OnboardingRequest, card_bins, id_check_char
from lendcore.origination.onboarding import (
    ConsentGrant,
    ConsentGranted,
    ConsentGrantRequest,
    ConsentRevocation,
    ConsentRevoked,
    consent_records,
    customer_view,
    grant_consent,
    register_customer,
    revoke_consent,
)
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, BankCard, Customer
from lendcore.store.models_origination import Consent

from .helpers import (
    ALL_CONSENTS,
    CIPHER,
    NOW,
    TODAY,
    make_card,
    make_id,
    make_phone,
    onboarding_request,
    register,
)


def _with_check(first17: str) -> str:
    return first17 + id_check_char(first17)


def _bad_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_register_stores_encrypted_pii_and_masked_view(session_factory: sessionmaker[Session]) -> None:
    id_number, phone, card = make_id(), make_phone(), make_card()
    request = OnboardingRequest("张三", id_number, phone, (CardInput(card, "张三"),))
    with unit_of_work(session_factory) as session:
        customer = register_customer(
            session, request, business_date=TODAY, cipher=CIPHER, consents=ALL_CONSENTS, at=NOW
        )
        cid = customer.id
    with unit_of_work(session_factory, read_only=True) as session:
        raw = session.execute(
            text("SELECT name_ciphertext, id_number_ciphertext, phone_ciphertext FROM customers")
        ).one()
        for blob in raw:
            for plain in (id_number, phone, "张三"):
                assert plain.encode() not in bytes(blob)
        card_blob = session.execute(text("SELECT card_number_ciphertext FROM bank_cards")).scalar_one()
        assert card.encode() not in bytes(card_blob)
        row = session.get(Customer, cid)
        assert row is not None and row.id_number_hash == CIPHER.blind_index("id_number", id_number)
        view = customer_view(session, cid, CIPHER)
    assert view["name"] == "张*"
    assert view["id_number"] == id_number[:3] + "*" * 11 + id_number[-4:]
    assert view["phone"] == phone[:3] + "****" + phone[-4:]
    assert view["cards"][0]["number"] == card[:6] + "*" * (len(card) - 10) + card[-4:]
    assert view["cards"][0]["is_default"] is True
    assert sorted(c["kind"] for c in view["consents"]) == ["privacy", "sensitive_personal_info", "terms"]
    dumped = repr(view)
    assert id_number not in dumped and phone not in dumped and card not in dumped


@pytest.mark.parametrize(
    ("field", "kwargs", "code"),
    [
        ("name", {"name": "张3"}, "INVALID_NAME"),
        ("id_number", {"id_number": "12345"}, "INVALID_ID_NUMBER"),
        ("phone", {"phone": "12345678901"}, "INVALID_PHONE"),
        ("id_number", {"id_number": make_id(region="990101")}, "ID_REGION_UNKNOWN"),
        ("id_number", {"id_number": _with_check("11010519901340123")}, "ID_BIRTH_DATE_INVALID"),
        ("id_number", {"id_number": _bad_check(make_id())}, "ID_CHECKSUM_MISMATCH"),
        ("id_number", {"id_number": make_id(birth=TODAY - timedelta(days=365 * 17))}, "APPLICANT_UNDER_AGE"),
    ],
)
def test_each_bad_field_has_its_code_and_nothing_is_stored(
    session_factory: sessionmaker[Session], field: str, kwargs: dict[str, str], code: str
) -> None:
    with pytest.raises(ValidationError) as info, unit_of_work(session_factory) as session:
        register(session, **kwargs)
    assert info.value.code == "ONBOARDING_INVALID"
    assert {(e["field"], e["code"]) for e in info.value.details["errors"]} >= {(field, code)}
    with unit_of_work(session_factory, read_only=True) as session:
        assert _count(session, Customer) == 0 and _count(session, Consent) == 0


def test_all_field_errors_at_once(session_factory: sessionmaker[Session]) -> None:
    valid_id = make_id()  # one ID: its check character replaced by another is always invalid
    bad_id = valid_id[:-1] + ("0" if valid_id[-1] != "0" else "1")
    minor = make_id(birth=TODAY - timedelta(days=17 * 365))
    good = make_card()
    card_bad_luhn = good[:-1] + str((int(good[-1]) + 1) % 10)
    request = OnboardingRequest(
        "李四",
        bad_id,
        "+86 12000000000",
        (CardInput(card_bad_luhn, "李四"), CardInput(make_card(), "王五"), CardInput("62220", "李四")),
    )
    with pytest.raises(ValidationError) as info, unit_of_work(session_factory) as session:
        register_customer(session, request, business_date=TODAY, cipher=CIPHER, consents=ALL_CONSENTS)
    codes = {(e["field"], e["code"]) for e in info.value.details["errors"]}
    assert ("phone", "INVALID_PHONE") in codes
    assert ("cards[1].holder_name", "CARD_NAME_MISMATCH") in codes
    assert ("cards[2].number", "INVALID_CARD_NUMBER") in codes
    assert any(f == "id_number" for f, _ in codes)
    assert ("cards[0].number", "CARD_LUHN_MISMATCH") in codes
    with pytest.raises(ValidationError) as info2, unit_of_work(session_factory) as session:
        register(session, id_number=minor)
    assert ("id_number", "APPLICANT_UNDER_AGE") in {
        (e["field"], e["code"]) for e in info2.value.details["errors"]
    }
    with pytest.raises(ValidationError) as info3, unit_of_work(session_factory) as session:
        register(session, cards=())
    assert ("cards", "CARD_REQUIRED") in {(e["field"], e["code"]) for e in info3.value.details["errors"]}
    credit_bin = next(b.prefix for b in card_bins() if b.card_type.value == "credit")
    with pytest.raises(ValidationError) as info4, unit_of_work(session_factory) as session:
        register(session, cards=(CardInput(make_card(credit_bin, 16), "张三"),))
    assert ("cards[0].number", "CARD_NOT_DEBIT") in {
        (e["field"], e["code"]) for e in info4.value.details["errors"]
    }
    with pytest.raises(ValidationError) as info5, unit_of_work(session_factory) as session:
        register(session, cards=(CardInput(make_card("999999", 16), "张三"),))
    assert ("cards[0].number", "CARD_BIN_UNKNOWN") in {
        (e["field"], e["code"]) for e in info5.value.details["errors"]
    }
    with unit_of_work(session_factory, read_only=True) as session:
        assert _count(session, Customer) == 0 and _count(session, BankCard) == 0
        assert _count(session, AuditRecord) == 0


def test_duplicates_by_blind_index(session_factory: sessionmaker[Session]) -> None:
    first = onboarding_request()
    with unit_of_work(session_factory) as session:
        register_customer(session, first, business_date=TODAY, cipher=CIPHER, consents=ALL_CONSENTS)
    cases = [
        (onboarding_request(id_number=first.id_number), "DUPLICATE_ID_NUMBER"),
        # the same phone written differently still matches
        (onboarding_request(phone="+86 " + first.phone), "DUPLICATE_PHONE"),
        (onboarding_request(cards=(CardInput(first.cards[0].number, "张三"),)), "DUPLICATE_CARD"),
    ]
    for request, code in cases:
        with pytest.raises(ConflictError) as info, unit_of_work(session_factory) as session:
            register_customer(session, request, business_date=TODAY, cipher=CIPHER, consents=ALL_CONSENTS)
        assert info.value.code == code
    with unit_of_work(session_factory, read_only=True) as session:
        assert _count(session, Customer) == 1


def test_grant_and_revoke_consent(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        cid = register(session).id
        # a published version
        granted = grant_consent(
            session, ConsentGrantRequest(cid, ConsentKind.CREDIT_BUREAU_QUERY, "2.0"), at=NOW
        )
        assert (granted.customer_id, granted.kind, granted.text_version, granted.granted_at) == (
            cid,
            ConsentKind.CREDIT_BUREAU_QUERY,
            "2.0",
            NOW,
        )
        assert ConsentGranted.from_json(granted.to_json()) == granted
    later = NOW + timedelta(hours=1)
    with unit_of_work(session_factory) as session:
        revoked = revoke_consent(session, ConsentRevocation(cid, ConsentKind.CREDIT_BUREAU_QUERY), at=later)
        assert revoked.consent_ids == (granted.consent_id,) and revoked.revoked_at == later
        assert ConsentRevoked.from_json(revoked.to_json()) == revoked
    with unit_of_work(session_factory, read_only=True) as session:
        records = consent_records(session, cid)
        bureau = [r for r in records if r.kind is ConsentKind.CREDIT_BUREAU_QUERY]
        assert bureau[0].active_at(NOW) and not bureau[0].active_at(later)
        actions = session.scalars(select(AuditRecord.action).order_by(AuditRecord.id)).all()
        assert actions == ["customer.registered", "consent.granted", "consent.revoked"]
    with pytest.raises(BusinessRuleError) as info, unit_of_work(session_factory) as session:
        revoke_consent(session, ConsentRevocation(cid, ConsentKind.CREDIT_BUREAU_QUERY), at=later)
    assert info.value.code == "CONSENT_NOT_ACTIVE"


def test_consent_grant_parse() -> None:
    assert ConsentGrant.parse("terms:2.1") == ConsentGrant(ConsentKind.TERMS, "2.1")
    assert ConsentGrant.parse("privacy").text_version == "1.0"
    with pytest.raises(ValidationError) as info:
        ConsentGrant.parse("marketing")
    assert info.value.code == "INVALID_CONSENT_KIND"
