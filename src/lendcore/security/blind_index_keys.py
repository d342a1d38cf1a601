"""The blind-index key ring: HMAC keys by id, the first active, every one still looked up.

A blind index (keyed hash of an ID number, phone, card or device) only matches a hash made with the
same key, so changing the key without care would let the same person register twice. Keys are
therefore versioned like the encryption keys: every stored hash carries the id of the key that made
it, lookups hash the value with every key of the ring, and ``lendcore pii reindex`` moves stored
hashes to the active key.

Configuration (read only by :meth:`BlindIndexKeyRing.from_env`, at the shell):

``LENDCORE_PII_HMAC_KEYS``
    ``h2:BASE64KEY,h1:BASE64KEY``: comma-separated ``id:key`` pairs, keys of at least 32 bytes in
    standard base64; the **first is active** (new hashes), all are used for lookups.
``LENDCORE_PII_HMAC_KEY``
    the older single-key form: one base64 key, which is key id ``h1`` (:data:`LEGACY_KEY_ID`), the id
    every hash stored before key ids existed carries. Ignored when ``LENDCORE_PII_HMAC_KEYS`` is set.

With neither, a fixed **development** key is used, also as ``h1``, and the ring is ``insecure``. Which
key an id stands for is pinned in the database by a fingerprint (see
:mod:`lendcore.origination.blind_index`): a ring that gives a stored key id a different key is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from lendcore.core.errors import ConfigurationError

ENV_HMAC_KEYS: Final = "LENDCORE_PII_HMAC_KEYS"
ENV_HMAC_KEY: Final = "LENDCORE_PII_HMAC_KEY"
#: Key id of the single key of ``LENDCORE_PII_HMAC_KEY`` (and of hashes stored before key ids existed).
LEGACY_KEY_ID: Final = "h1"
MIN_KEY_BYTES: Final = 32
_KEY_ID_RE: Final = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_FINGERPRINT_MESSAGE: Final = b"lendcore/blind-index/key-fingerprint/v1"
_DEV_HMAC_KEY: Final = hashlib.sha256(b"lendcore INSECURE development PII HMAC key").digest()


def _invalid(message: str) -> ConfigurationError:
    return ConfigurationError(message, code="PII_HMAC_KEY_INVALID")


@dataclass(frozen=True, slots=True)
class BlindIndexKeyRing:
    """HMAC keys by id; ``active_id`` makes new hashes, every key is used for lookups."""

    keys: Mapping[str, bytes]
    active_id: str
    insecure: bool = False

    def __post_init__(self) -> None:
        if self.active_id not in self.keys:
            raise _invalid("the active blind-index key id is not in the key ring")
        for kid, key in self.keys.items():
            if not _KEY_ID_RE.match(kid):
                raise _invalid(f"bad blind-index key id {kid!r} (letters, digits, _ . -; at most 32)")
            if len(key) < MIN_KEY_BYTES:
                raise _invalid(f"blind-index key {kid!r} must be at least {MIN_KEY_BYTES} bytes")

    @classmethod
    def single(cls, key: bytes, *, insecure: bool = False) -> BlindIndexKeyRing:
        """A ring of one key, id ``h1``: the single-key configuration."""
        return cls({LEGACY_KEY_ID: key}, LEGACY_KEY_ID, insecure=insecure)

    @classmethod
    def development(cls) -> BlindIndexKeyRing:
        return cls.single(_DEV_HMAC_KEY, insecure=True)

    @classmethod
    def parse(cls, spec: str) -> BlindIndexKeyRing:
        """Parse ``h2:BASE64,h1:BASE64`` (first = active)."""
        keys: dict[str, bytes] = {}
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            kid, sep, b64 = part.partition(":")
            kid = kid.strip()
            if not sep:
                raise _invalid(f"{ENV_HMAC_KEYS} entries must look like id:base64")
            if kid in keys:
                raise _invalid(f"duplicate blind-index key id {kid!r}")
            keys[kid] = _decode(b64.strip(), f"blind-index key {kid!r}")
        if not keys:
            raise _invalid(f"{ENV_HMAC_KEYS} is empty")
        return cls(keys, next(iter(keys)))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BlindIndexKeyRing:
        """``LENDCORE_PII_HMAC_KEYS``, else ``LENDCORE_PII_HMAC_KEY`` as ``h1``, else the development key."""
        env = os.environ if environ is None else environ
        spec = env.get(ENV_HMAC_KEYS, "").strip()
        if spec:
            return cls.parse(spec)
        single = env.get(ENV_HMAC_KEY, "").strip()
        if single:
            return cls.single(_decode(single, ENV_HMAC_KEY))
        warnings.warn(
            f"{ENV_HMAC_KEYS} is not set: using the INSECURE development HMAC key",
            RuntimeWarning,
            stacklevel=2,
        )
        return cls.development()

    def fingerprint(self, key_id: str) -> str:
        """A public fingerprint of one key (HMAC of a fixed message): tells keys apart, reveals none."""
        return hmac.new(self.keys[key_id], _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()

    def spec(self) -> str:
        """The ring back in ``LENDCORE_PII_HMAC_KEYS`` form (active first)."""
        ordered = [self.active_id, *(k for k in self.keys if k != self.active_id)]
        return ",".join(f"{k}:{base64.b64encode(self.keys[k]).decode()}" for k in ordered)


def _decode(b64: str, what: str) -> bytes:
    try:
        key = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(f"{what} is not base64") from None
    if len(key) < MIN_KEY_BYTES:
        raise _invalid(f"{what} must be at least {MIN_KEY_BYTES} bytes")
    return key
