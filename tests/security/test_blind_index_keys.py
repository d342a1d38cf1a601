"""The blind-index key ring: configuration forms, the active key, every key for lookups."""

from __future__ import annotations

import base64

import pytest

from lendcore.core.errors import ConfigurationError
from lendcore.security.blind_index_keys import BlindIndexKeyRing
from lendcore.security.pii import KeyRing, PiiCipher

A, B = b"a" * 32, b"b" * 32


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_the_ring_variable_wins_and_its_first_key_is_active() -> None:
    env = {"LENDCORE_PII_HMAC_KEYS": f"h2:{b64(B)},h1:{b64(A)}", "LENDCORE_PII_HMAC_KEY": b64(A)}
    ring = BlindIndexKeyRing.from_env(env)
    assert ring.active_id == "h2" and set(ring.keys) == {"h1", "h2"} and not ring.insecure
    assert BlindIndexKeyRing.parse(ring.spec()) == ring


def test_the_single_key_variable_is_key_id_h1_and_hashes_as_before() -> None:
    ring = BlindIndexKeyRing.from_env({"LENDCORE_PII_HMAC_KEY": b64(A)})
    assert ring.active_id == "h1" and ring.keys == {"h1": A}
    cipher = PiiCipher(KeyRing.development(), ring)
    assert cipher.blind_index("phone", "13812345678") == PiiCipher(KeyRing.development(), A).blind_index(
        "phone", "13812345678"
    )


def test_without_configuration_the_development_key_is_h1_and_insecure() -> None:
    with pytest.warns(RuntimeWarning):
        ring = BlindIndexKeyRing.from_env({})
    assert ring.active_id == "h1" and ring.insecure


def test_lookups_hash_under_every_key_active_first() -> None:
    rotated = PiiCipher(KeyRing.development(), BlindIndexKeyRing({"h2": B, "h1": A}, "h2"))
    hashes = rotated.blind_indexes("id_number", "110105198804120016")
    assert hashes == (
        rotated.blind_index("id_number", "110105198804120016", "h2"),
        rotated.blind_index("id_number", "110105198804120016", "h1"),
    )
    assert hashes[0] == rotated.blind_index("id_number", "110105198804120016") != hashes[1]


@pytest.mark.parametrize(
    "spec",
    ["", "h1", f"h1:{b64(b'short')}", "h1:not base64!", f"h1:{b64(A)},h1:{b64(B)}", f"bad id:{b64(A)}"],
)
def test_a_bad_ring_is_refused_with_its_code(spec: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        BlindIndexKeyRing.parse(spec)
    assert caught.value.code == "PII_HMAC_KEY_INVALID"


def test_fingerprints_tell_keys_apart_and_are_not_the_key() -> None:
    ring = BlindIndexKeyRing({"h2": B, "h1": A}, "h2")
    assert ring.fingerprint("h1") != ring.fingerprint("h2")
    assert b64(A) not in ring.fingerprint("h1") and len(ring.fingerprint("h1")) == 64
