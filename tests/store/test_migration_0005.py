"""Migration 0005: hashes stored before key ids existed are key id h1, verified on first use."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, Table, insert, select

from lendcore.core.errors import ConfigurationError
from lendcore.origination.blind_index import ensure_key_ring
from lendcore.security.pii import KeyRing, PiiCipher
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.migrate import upgrade_database
from lendcore.store.models_origination import BlindIndexKey

CIPHER = PiiCipher(KeyRing.development(), b"k" * 32)
ID_NUMBER = "110105198804120016"


def test_0005_labels_existing_hashes_h1_and_the_first_start_verifies_the_key(empty_database_url: str) -> None:
    url = empty_database_url
    upgrade_database(url, "0004_business_day")
    now = datetime(2026, 4, 8, tzinfo=UTC)
    engine = create_engine(url)
    try:
        customers = Table("customers", MetaData(), autoload_with=engine)
        with engine.begin() as connection:
            connection.execute(
                insert(customers).values(
                    id="cus_old",
                    id_number_ciphertext=CIPHER.encrypt("id_number", ID_NUMBER),
                    id_number_hash=CIPHER.blind_index("id_number", ID_NUMBER),
                    status="active",
                    created_at=now,
                    updated_at=now,
                )
            )
    finally:
        engine.dispose()
    upgrade_database(url)
    engine = create_engine(url)
    try:
        factory = create_session_factory(engine)
        with unit_of_work(factory, read_only=True) as session:
            labelled = session.execute(
                select(Table("customers", MetaData(), autoload_with=engine).c.hash_key_id)
            )
            assert labelled.scalars().all() == ["h1"]
            legacy = session.get(BlindIndexKey, "h1")
            assert legacy is not None and legacy.fingerprint is None
        with pytest.raises(ConfigurationError) as caught, unit_of_work(factory) as session:
            ensure_key_ring(session, PiiCipher(CIPHER.keyring, b"x" * 32))  # not the key of the old hashes
        assert caught.value.code == "PII_HMAC_KEY_CHANGED"
        with unit_of_work(factory) as session:
            ensure_key_ring(session, CIPHER)
        with unit_of_work(factory, read_only=True) as session:
            legacy = session.get(BlindIndexKey, "h1")
            assert legacy is not None and legacy.fingerprint == CIPHER.hash_keys.fingerprint("h1")
    finally:
        engine.dispose()
