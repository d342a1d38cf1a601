from __future__ import annotations

import base64
import logging

import pytest

from lendcore.core.errors import ConfigurationError
from lendcore.security.logging import PiiMaskingFilter, install_pii_log_filter
from lendcore.security.pii import (
    KeyRing,
    PiiCipher,
    PiiCryptoError,
    generate_key,
    mask_card_number,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_text,
)

HMAC_KEY = b"h" * 32


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


@pytest.fixture
def k1() -> bytes:
    return generate_key()


@pytest.fixture
def cipher(k1: bytes) -> PiiCipher:
    return PiiCipher(KeyRing.parse(f"k1:{b64(k1)}"), HMAC_KEY)


def test_round_trip_and_random_nonce(cipher: PiiCipher) -> None:
    a = cipher.encrypt("id_number", "11010519491231002X")
    b = cipher.encrypt("id_number", "11010519491231002X")
    assert a != b
    assert cipher.decrypt("id_number", a) == "11010519491231002X"
    assert cipher.key_id_of(a) == "k1"
    assert b"11010519491231002X" not in a


def test_unicode_round_trip(cipher: PiiCipher) -> None:
    assert cipher.decrypt("name", cipher.encrypt("name", "欧阳娜娜")) == "欧阳娜娜"


def test_tamper_detected(cipher: PiiCipher) -> None:
    blob = bytearray(cipher.encrypt("phone", "13812345678"))
    blob[-1] ^= 1
    with pytest.raises(PiiCryptoError) as exc:
        cipher.decrypt("phone", bytes(blob))
    assert exc.value.code == "PII_DECRYPT_FAILED"


def test_wrong_field_rejected(cipher: PiiCipher) -> None:
    blob = cipher.encrypt("id_number", "11010519491231002X")
    with pytest.raises(PiiCryptoError) as exc:
        cipher.decrypt("phone", blob)
    assert exc.value.code == "PII_DECRYPT_FAILED"


def test_malformed_and_unknown_key(cipher: PiiCipher) -> None:
    with pytest.raises(PiiCryptoError) as exc:
        cipher.decrypt("phone", b"\x01")
    assert exc.value.code == "PII_BLOB_MALFORMED"
    other = PiiCipher(KeyRing.parse(f"k9:{b64(generate_key())}"), HMAC_KEY)
    with pytest.raises(PiiCryptoError) as exc:
        cipher.decrypt("phone", other.encrypt("phone", "13812345678"))
    assert exc.value.code == "PII_KEY_UNKNOWN"


def test_key_rotation(k1: bytes, cipher: PiiCipher) -> None:
    old = cipher.encrypt("card_number", "6222021234567890123")
    k2 = generate_key()
    ring = KeyRing.parse(f"k2:{b64(k2)},k1:{b64(k1)}")
    assert ring.active_id == "k2" and ring == cipher.keyring.with_active("k2", k2)
    rotated = PiiCipher(ring, HMAC_KEY)
    assert rotated.decrypt("card_number", old) == "6222021234567890123"
    assert rotated.needs_reencrypt(old)
    moved = rotated.reencrypt("card_number", old)
    assert rotated.key_id_of(moved) == "k2" and not rotated.needs_reencrypt(moved)
    assert rotated.reencrypt("card_number", moved) is moved
    only_k2 = PiiCipher(KeyRing.parse(f"k2:{b64(k2)}"), HMAC_KEY)
    assert only_k2.decrypt("card_number", moved) == "6222021234567890123"
    assert KeyRing.parse(ring.spec()) == ring


@pytest.mark.parametrize(
    "spec", ["", "k1", f"k1:{b64(b'short')}", "k1:!!notbase64", f"k1:{b64(b'x' * 32)},k1:{b64(b'y' * 32)}"]
)
def test_bad_keyring(spec: str) -> None:
    with pytest.raises(ConfigurationError) as exc:
        KeyRing.parse(spec)
    assert exc.value.code == "PII_KEYRING_INVALID"


def test_env_config_and_dev_default(k1: bytes) -> None:
    env = {"LENDCORE_PII_KEYS": f"k1:{b64(k1)}", "LENDCORE_PII_HMAC_KEY": b64(HMAC_KEY)}
    c = PiiCipher.from_env(env)
    assert not c.insecure and c.keyring.active_id == "k1"
    with pytest.warns(RuntimeWarning, match="INSECURE"):
        dev = PiiCipher.from_env({})
    assert dev.insecure and dev.keyring.active_id == "dev0"


def test_hmac_stable_normalised_and_field_separated(cipher: PiiCipher, k1: bytes) -> None:
    h = cipher.blind_index("phone", "13812345678")
    assert h == cipher.blind_index("phone", "+86 138-1234-5678")
    assert h == PiiCipher(KeyRing.parse(f"k1:{b64(k1)}"), HMAC_KEY).blind_index("phone", "13812345678")
    assert cipher.blind_index("id_number", "11010519491231002x") == cipher.blind_index(
        "id_number", "11010519491231002X"
    )
    assert cipher.blind_index("name", "13812345678") != h
    assert PiiCipher(cipher.keyring, b"z" * 32).blind_index("phone", "13812345678") != h
    assert len(h) == 64


def test_masking() -> None:
    assert mask_id_number("110105194912311234") == "110***********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_card_number("6222021234567890123") == "622202*********0123"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_name("欧阳修") == "欧阳*"
    assert mask_name("王小明") == "王**"


def test_mask_text() -> None:
    text = "id=11010519491231002X tel:+86 138 1234 5678 card 6222021234567890123 amount 50000"
    masked = mask_text(text)
    assert "11010519491231002X" not in masked and "110***********002X" in masked
    assert "138****5678" in masked and "622202*********0123" in masked
    assert "amount 50000" in masked


def test_log_filter(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("lendcore.test.pii")
    flt = PiiMaskingFilter()
    log.addFilter(flt)
    try:
        with caplog.at_level(logging.INFO, logger="lendcore.test.pii"):
            log.info("applicant %s phone %s", "11010519491231002X", "13812345678")
            try:
                raise ValueError("card 6222021234567890123 declined")
            except ValueError:
                log.exception("failed")
    finally:
        log.removeFilter(flt)
    text = caplog.text
    assert "11010519491231002X" not in text and "13812345678" not in text
    assert "6222021234567890123" not in text and "622202*********0123" in text


def test_install_filter_on_handlers() -> None:
    logger = logging.getLogger("lendcore.test.install")
    handler = logging.Handler()
    logger.addHandler(handler)
    try:
        flt = install_pii_log_filter(logger)
        assert flt in handler.filters and flt in logger.filters
    finally:
        logger.removeHandler(handler)
        logger.removeFilter(flt)
