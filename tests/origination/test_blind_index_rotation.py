"""Rotating the blind-index key never lets a duplicate in, and never goes unnoticed.

Scenario: customers are registered under key ``h1`` (the single-key configuration). The operator puts
a new key first (``h2:NEW,h1:OLD``); every lookup still finds ``h1`` hashes. ``reindex`` moves every
hash whose value is stored to ``h2``; ``h1`` may then leave the ring. A ring without a key id the
database still uses, or with a different key under a stored id, is refused with its code.
"""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import ConfigurationError, ConflictError
from lendcore.core.identity import CardInput
from lendcore.origination.blacklist import add_to_blacklist
from lendcore.origination.blind_index import check_key_ring, ensure_key_ring, reindex
from lendcore.risk.rules import BlacklistKind
from lendcore.security.blind_index_keys import BlindIndexKeyRing
from lendcore.security.pii import PiiCipher
from lendcore.store.engine import unit_of_work
from lendcore.store.models import BankCard, Customer
from lendcore.store.models_origination import BlacklistEntry, BlindIndexKey, CreditApplication

from .helpers import CIPHER, apply, make_card, make_id, make_phone, onboarding_request, register

OLD_KEY = b"k" * 32  # the helpers' single key: key id h1
NEW_KEY = b"n" * 32
ROTATED = PiiCipher(CIPHER.keyring, BlindIndexKeyRing({"h2": NEW_KEY, "h1": OLD_KEY}, "h2"))
NEW_ONLY = PiiCipher(CIPHER.keyring, BlindIndexKeyRing({"h2": NEW_KEY}, "h2"))


def _register(session: Session, cipher: PiiCipher, **kw: object) -> Customer:
    from lendcore.origination.onboarding import register_customer

    from .helpers import ALL_CONSENTS, NOW, TODAY

    return register_customer(
        session, onboarding_request(**kw), business_date=TODAY, cipher=cipher, consents=ALL_CONSENTS, at=NOW
    )


def _key_ids(session: Session) -> dict[str, list[str | None]]:
    """The key ids in use per table (blacklist entries one by one)."""
    return {
        "customers": sorted(set(session.scalars(select(Customer.hash_key_id))), key=str),
        "cards": sorted(set(session.scalars(select(BankCard.hash_key_id))), key=str),
        "applications": sorted(set(session.scalars(select(CreditApplication.hash_key_id))), key=str),
        "blacklist": sorted(session.scalars(select(BlacklistEntry.hash_key_id)), key=str),
    }


def test_the_single_key_configuration_is_key_id_h1_and_stores_it_with_every_hash(
    session_factory: sessionmaker[Session],
) -> None:
    env = {
        "LENDCORE_PII_KEYS": CIPHER.keyring.spec(),
        "LENDCORE_PII_HMAC_KEY": base64.b64encode(OLD_KEY).decode(),
    }
    cipher = PiiCipher.from_env(env)
    assert cipher.hash_key_id == "h1" and not cipher.insecure
    with unit_of_work(session_factory) as session:
        customer = _register(session, cipher)
        card = session.scalars(select(BankCard).where(BankCard.customer_id == customer.id)).one()
        assert (customer.hash_key_id, card.hash_key_id) == ("h1", "h1")
        registered = session.get(BlindIndexKey, "h1")
        assert registered is not None and registered.fingerprint == cipher.hash_keys.fingerprint("h1")


def test_a_rotated_key_still_finds_the_duplicate_id_phone_card_and_blacklist_entry(
    session_factory: sessionmaker[Session],
) -> None:
    id_number, phone, card = make_id(), make_phone(), make_card()
    with unit_of_work(session_factory) as session:
        register(session, id_number=id_number, phone=phone, cards=(CardInput(card, "张三"),))
        add_to_blacklist(session, BlacklistKind.DEVICE, "device-x", cipher=CIPHER, added_by="risk-1")
    cases = [
        ({"id_number": id_number}, "DUPLICATE_ID_NUMBER"),
        ({"phone": phone}, "DUPLICATE_PHONE"),
        ({"cards": (CardInput(card, "张三"),)}, "DUPLICATE_CARD"),
    ]
    for same, code in cases:
        with pytest.raises(ConflictError) as caught, unit_of_work(session_factory) as session:
            _register(session, ROTATED, **same)
        assert caught.value.code == code
    with pytest.raises(ConflictError) as caught, unit_of_work(session_factory) as session:
        add_to_blacklist(session, BlacklistKind.DEVICE, "device-x", cipher=ROTATED, added_by="risk-1")
    assert caught.value.code == "ALREADY_BLACKLISTED"
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 1


def test_an_old_key_blacklist_entry_still_declines_after_the_rotation(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        customer = register(session)
        add_to_blacklist(session, BlacklistKind.DEVICE, "device-bad", cipher=CIPHER, added_by="risk-1")
    with unit_of_work(session_factory) as session:
        result = apply(session, customer.id, device="device-bad", cipher=ROTATED)
    assert result["outcome"] == "declined" and "BLACKLIST_DEVICE" in result["reason_codes"]


def test_reindex_moves_every_hash_with_a_known_value_to_the_active_key_and_is_idempotent(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        people = [register(session) for _ in range(3)]
        apply(session, people[0].id, device=None)
        phone = CIPHER.decrypt("phone", people[1].phone_ciphertext)  # type: ignore[arg-type]
        add_to_blacklist(session, BlacklistKind.PHONE, phone, cipher=CIPHER, added_by="risk-1")
        add_to_blacklist(session, BlacklistKind.ID_NUMBER, make_id(), cipher=CIPHER, added_by="risk-1")
    first = reindex(session_factory, ROTATED, batch_size=2)  # several batches
    assert (first.customers, first.cards, first.applications, first.blacklist_entries) == (3, 3, 1, 1)
    assert first.kept == {"blacklist entries": 1}  # an ID that belongs to no customer: value unknown
    assert first.key_ids_in_use == ("h1", "h2") and first.retired_key_ids == ()
    with unit_of_work(session_factory, read_only=True) as session:
        assert _key_ids(session) == {  # only the blacklisted ID nobody has stays on h1
            "customers": ["h2"],
            "cards": ["h2"],
            "applications": ["h2"],
            "blacklist": ["h1", "h2"],
        }
        stored = {c.id: c.id_number_hash for c in session.scalars(select(Customer))}
        for c in session.scalars(select(Customer)):
            value = ROTATED.decrypt("id_number", c.id_number_ciphertext)  # type: ignore[arg-type]
            assert (c.hash_key_id, c.id_number_hash) == ("h2", ROTATED.blind_index("id_number", value))
    again = reindex(session_factory, ROTATED, batch_size=2)
    assert again.moved == 0 and again.kept == first.kept
    with unit_of_work(session_factory, read_only=True) as session:
        assert {c.id: c.id_number_hash for c in session.scalars(select(Customer))} == stored


def test_reindex_retires_a_key_no_stored_hash_uses(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        first = register(session)
        id_number = CIPHER.decrypt("id_number", first.id_number_ciphertext)  # type: ignore[arg-type]
    report = reindex(session_factory, ROTATED)
    assert report.retired_key_ids == ("h1",) and report.key_ids_in_use == ("h2",)
    with unit_of_work(session_factory, read_only=True) as session:
        check_key_ring(session, NEW_ONLY)  # h1 may leave the ring now
    with pytest.raises(ConflictError) as caught, unit_of_work(session_factory) as session:
        _register(session, NEW_ONLY, id_number=id_number)
    assert caught.value.code == "DUPLICATE_ID_NUMBER"  # the new key alone finds the re-indexed person


def test_a_ring_missing_a_stored_key_id_is_refused(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        register(session)
    for attempt in (check_key_ring, ensure_key_ring):
        with pytest.raises(ConfigurationError) as caught, unit_of_work(session_factory) as session:
            attempt(session, NEW_ONLY)
        assert caught.value.code == "PII_HMAC_KEY_MISSING" and caught.value.details["key_id"] == "h1"
    with pytest.raises(ConfigurationError) as caught, unit_of_work(session_factory) as session:
        _register(session, NEW_ONLY)
    assert caught.value.code == "PII_HMAC_KEY_MISSING"


def test_a_different_key_under_a_stored_key_id_is_refused(session_factory: sessionmaker[Session]) -> None:
    """The reported failure: a new value of LENDCORE_PII_HMAC_KEY (still id h1) let the same person
    register again. Now the key's fingerprint no longer matches and nothing is written."""
    with unit_of_work(session_factory) as session:
        first = register(session)
        id_number = CIPHER.decrypt("id_number", first.id_number_ciphertext)  # type: ignore[arg-type]
    changed = PiiCipher(CIPHER.keyring, NEW_KEY)  # single key: id h1, another key
    with pytest.raises(ConfigurationError) as caught, unit_of_work(session_factory) as session:
        _register(session, changed, id_number=id_number)
    assert caught.value.code == "PII_HMAC_KEY_CHANGED"
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 1
