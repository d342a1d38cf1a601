from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from lendcore.core.errors import ValidationError
from lendcore.security.passwords import hash_password, needs_rehash, verify_password

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def test_hash_and_verify() -> None:
    h = hash_password("correct horse battery", hasher=FAST)
    assert h.startswith("$argon2id$") and "correct horse" not in h
    assert verify_password(h, "correct horse battery", hasher=FAST)
    assert not verify_password(h, "wrong horse battery", hasher=FAST)
    assert not verify_password("not-a-hash", "whatever", hasher=FAST)


def test_too_short() -> None:
    with pytest.raises(ValidationError) as exc:
        hash_password("short", hasher=FAST)
    assert exc.value.code == "PASSWORD_TOO_SHORT"


def test_needs_rehash() -> None:
    weak = hash_password("correct horse battery", hasher=FAST)
    assert needs_rehash(weak)  # default hasher is stronger
    assert not needs_rehash(weak, hasher=FAST)
    assert needs_rehash("garbage")
