"""Personal information at rest: AES-256-GCM with a rotating key ring, keyed hashes, masking.

Configuration (read only by :meth:`KeyRing.from_env` / :func:`blind_index_key_from_env`, at the shell):

``LENDCORE_PII_KEYS``
    ``k2:BASE64KEY,k1:BASE64KEY`` – comma-separated ``id:key`` pairs, 32-byte keys in standard base64;
    the **first is active** (used to encrypt), all are used to decrypt. Rotate by putting a new key
    first, then re-encrypt stored values with :meth:`PiiCipher.reencrypt` and finally drop the old key.
``LENDCORE_PII_HMAC_KEYS`` (or the older single ``LENDCORE_PII_HMAC_KEY``, key id ``h1``)
    the blind-index key ring for :meth:`PiiCipher.blind_index`, separate from the encryption keys
    (:mod:`lendcore.security.blind_index_keys`): ``h2:BASE64,h1:BASE64``, first active; lookups use
    :meth:`PiiCipher.blind_indexes` (every key), and ``lendcore pii reindex`` moves stored hashes to
    the active key.

When a variable is unset, a fixed **development** key is used and the ring is marked ``insecure``
(a :class:`RuntimeWarning` is emitted). Never run production without both variables.

Ciphertext blob: ``0x01 | len(key id) | key id (ASCII) | 12-byte nonce | ciphertext + 16-byte tag``.
The associated data is ``b"lendcore/pii/v1|" + header + b"|" + field`` so a blob only decrypts in the
column (field) it was written for and its header cannot be altered.
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

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lendcore.core.errors import ConfigurationError, LendcoreError
from lendcore.security.blind_index_keys import ENV_HMAC_KEY, BlindIndexKeyRing

__all__ = ["ENV_HMAC_KEY", "BlindIndexKeyRing"]  # re-exported: the cipher's configuration

ENV_KEYS: Final = "LENDCORE_PII_KEYS"
BLOB_VERSION: Final = 1
NONCE_BYTES: Final = 12
_KEY_ID_RE: Final = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")

#: Development-only key ring (public, in source): ``dev0`` derived from a fixed string.
DEV_KEY_ID: Final = "dev0"
_DEV_KEY: Final = hashlib.sha256(b"lendcore INSECURE development PII key - never use in production").digest()


class PiiCryptoError(LendcoreError):
    """A PII blob cannot be decrypted (tampered, wrong field, unknown key): never a user error."""

    default_code = "PII_DECRYPT_FAILED"
    http_status = 500


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Encryption keys by id; ``active_id`` encrypts, every key decrypts."""

    keys: Mapping[str, bytes]
    active_id: str
    insecure: bool = False

    def __post_init__(self) -> None:
        if self.active_id not in self.keys:
            raise ConfigurationError("active PII key id not in the key ring", code="PII_KEYRING_INVALID")
        for kid, key in self.keys.items():
            if not _KEY_ID_RE.match(kid):
                raise ConfigurationError(f"bad PII key id {kid!r}", code="PII_KEYRING_INVALID")
            if len(key) != 32:
                raise ConfigurationError(f"PII key {kid!r} must be 32 bytes", code="PII_KEYRING_INVALID")

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        """Parse ``k2:BASE64,k1:BASE64`` (first = active)."""
        keys: dict[str, bytes] = {}
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            kid, sep, b64 = part.partition(":")
            if not sep:
                raise ConfigurationError(
                    "PII key entries must look like id:base64", code="PII_KEYRING_INVALID"
                )
            try:
                key = base64.b64decode(b64.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise ConfigurationError(
                    f"PII key {kid!r} is not base64", code="PII_KEYRING_INVALID"
                ) from None
            if kid.strip() in keys:
                raise ConfigurationError(f"duplicate PII key id {kid!r}", code="PII_KEYRING_INVALID")
            keys[kid.strip()] = key
        if not keys:
            raise ConfigurationError("empty PII key ring", code="PII_KEYRING_INVALID")
        return cls(keys, next(iter(keys)))

    @classmethod
    def development(cls) -> KeyRing:
        return cls({DEV_KEY_ID: _DEV_KEY}, DEV_KEY_ID, insecure=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KeyRing:
        env = os.environ if environ is None else environ
        spec = env.get(ENV_KEYS, "").strip()
        if not spec:
            warnings.warn(
                f"{ENV_KEYS} is not set: using the INSECURE development PII key", RuntimeWarning, stacklevel=2
            )
            return cls.development()
        return cls.parse(spec)

    def with_active(self, key_id: str, key: bytes) -> KeyRing:
        """A new ring with ``key_id`` added (or replaced) and made active; old keys still decrypt."""
        keys = {key_id: key, **{k: v for k, v in self.keys.items() if k != key_id}}
        return KeyRing(keys, key_id, insecure=False)

    def spec(self) -> str:
        """The ring back in ``LENDCORE_PII_KEYS`` form (active first)."""
        ordered = [self.active_id, *(k for k in self.keys if k != self.active_id)]
        return ",".join(f"{k}:{base64.b64encode(self.keys[k]).decode()}" for k in ordered)


def generate_key() -> bytes:
    """A fresh random 256-bit key (for ``lendcore`` key rotation tooling and tests)."""
    return AESGCM.generate_key(bit_length=256)


# --- normalisation for keyed hashes -------------------------------------------------------------------
def normalise_for_index(field: str, value: str) -> str:
    """Canonical text of a value so equal values hash equally (``+86 138-0013-8000`` = ``13800138000``)."""
    # Local import: identity is pure core, security depends on it, not the other way round.
    from lendcore.core.identity import normalize_id_number, normalize_name

    text = value.strip()
    if field in ("id_number",):
        return normalize_id_number(text)
    if field in ("phone",):
        digits = re.sub(r"\D", "", text)
        if digits.startswith("0086"):
            digits = digits[4:]
        elif digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
        return digits
    if field in ("card_number",):
        return re.sub(r"\D", "", text)
    if field in ("name",):
        return normalize_name(text).replace(" ", "").casefold()
    return text


class PiiCipher:
    """Encrypts PII for a field (column), decrypts with any known key, computes blind indexes."""

    __slots__ = ("_aead", "hash_keys", "insecure", "keyring")

    def __init__(
        self, keyring: KeyRing, hmac_keys: BlindIndexKeyRing | bytes, *, hmac_insecure: bool = False
    ) -> None:
        """``hmac_keys``: the blind-index key ring, or one key (bytes), which is key id ``h1``."""
        if isinstance(hmac_keys, bytes):
            hmac_keys = BlindIndexKeyRing.single(hmac_keys, insecure=hmac_insecure)
        self.keyring = keyring
        self.hash_keys = hmac_keys
        self._aead = {kid: AESGCM(key) for kid, key in keyring.keys.items()}
        self.insecure = keyring.insecure or hmac_keys.insecure

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PiiCipher:
        return cls(KeyRing.from_env(environ), BlindIndexKeyRing.from_env(environ))

    @property
    def hash_key_id(self) -> str:
        """Id of the blind-index key new hashes are made with."""
        return self.hash_keys.active_id

    @staticmethod
    def _header(key_id: str) -> bytes:
        kid = key_id.encode("ascii")
        return bytes((BLOB_VERSION, len(kid))) + kid

    @staticmethod
    def _ad(header: bytes, field: str) -> bytes:
        return b"lendcore/pii/v1|" + header + b"|" + field.encode("utf-8")

    def encrypt(self, field: str, plaintext: str) -> bytes:
        """Encrypt ``plaintext`` for column ``field`` with the active key (fresh random nonce)."""
        header = self._header(self.keyring.active_id)
        nonce = os.urandom(NONCE_BYTES)
        ct = self._aead[self.keyring.active_id].encrypt(
            nonce, plaintext.encode("utf-8"), self._ad(header, field)
        )
        return header + nonce + ct

    @staticmethod
    def key_id_of(blob: bytes) -> str:
        """The key id a blob was encrypted with (``PII_BLOB_MALFORMED`` if the header is bad)."""
        if len(blob) < 2 or blob[0] != BLOB_VERSION or len(blob) < 2 + blob[1] + NONCE_BYTES + 16:
            raise PiiCryptoError("malformed PII ciphertext", code="PII_BLOB_MALFORMED")
        try:
            return blob[2 : 2 + blob[1]].decode("ascii")
        except UnicodeDecodeError:
            raise PiiCryptoError("malformed PII ciphertext", code="PII_BLOB_MALFORMED") from None

    def decrypt(self, field: str, blob: bytes) -> str:
        """Decrypt a blob written for ``field``; ``PII_DECRYPT_FAILED`` on tampering or wrong field."""
        kid = self.key_id_of(blob)
        aead = self._aead.get(kid)
        if aead is None:
            raise PiiCryptoError(
                f"PII key {kid!r} is not in the key ring", code="PII_KEY_UNKNOWN", key_id=kid
            )
        split = 2 + blob[1]
        header, nonce, ct = blob[:split], blob[split : split + NONCE_BYTES], blob[split + NONCE_BYTES :]
        try:
            return aead.decrypt(nonce, ct, self._ad(header, field)).decode("utf-8")
        except InvalidTag:
            raise PiiCryptoError("PII ciphertext failed authentication", code="PII_DECRYPT_FAILED") from None

    def needs_reencrypt(self, blob: bytes) -> bool:
        return self.key_id_of(blob) != self.keyring.active_id

    def reencrypt(self, field: str, blob: bytes) -> bytes:
        """Re-encrypt under the active key (rotation); returns ``blob`` unchanged if already active."""
        if not self.needs_reencrypt(blob):
            return blob
        return self.encrypt(field, self.decrypt(field, blob))

    def blind_index(self, field: str, value: str, key_id: str | None = None) -> str:
        """HMAC-SHA256 (hex) of the normalised value, domain-separated by field, for exact lookups;
        with the active key unless ``key_id`` names another key of the ring."""
        kid = self.hash_keys.active_id if key_id is None else key_id
        key = self.hash_keys.keys.get(kid)
        if key is None:
            raise ConfigurationError(
                f"blind-index key {kid!r} is not in the key ring", code="PII_HMAC_KEY_MISSING", key_id=kid
            )
        msg = field.encode("utf-8") + b"\x00" + normalise_for_index(field, value).encode("utf-8")
        return hmac.new(key, msg, hashlib.sha256).hexdigest()

    def blind_indexes(self, field: str, value: str) -> tuple[str, ...]:
        """The value's blind index under every key of the ring, the active key's first: what a
        lookup must match so that a hash stored under an older key is still found."""
        return tuple(self.blind_index(field, value, kid) for kid in self.hash_keys.keys)


# --- masking ------------------------------------------------------------------------------------------
COMPOUND_SURNAMES: Final = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "司空",
        "夏侯",
        "轩辕",
        "令狐",
        "钟离",
        "闻人",
        "澹台",
        "南宫",
        "西门",
        "端木",
        "独孤",
        "呼延",
        "百里",
        "申屠",
        "太史",
        "万俟",
        "赫连",
        "濮阳",
        "公羊",
        "淳于",
        "单于",
        "拓跋",
        "左丘",
        "东郭",
        "第五",
    ]
)


def _mask_middle(text: str, head: int, tail: int) -> str:
    if len(text) <= head + tail:
        return "*" * len(text)
    return text[:head] + "*" * (len(text) - head - tail) + text[len(text) - tail :]


def mask_id_number(value: str) -> str:
    """``110105194912310021`` → ``110***********0021`` (first 3, last 4)."""
    return _mask_middle(value.strip(), 3, 4)


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678`` (first 3, last 4)."""
    return _mask_middle(value.strip(), 3, 4)


def mask_card_number(value: str) -> str:
    """``6222021234567890123`` → ``622202*********0123`` (first 6, last 4)."""
    return _mask_middle(re.sub(r"[\s-]", "", value), 6, 4)


def mask_name(value: str) -> str:
    """Keep the surname: ``张三`` → ``张*``, ``欧阳娜娜`` → ``欧阳**``, ``Li Lei`` → ``L*****``."""
    name = value.strip()
    if not name:
        return name
    keep = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
    return name[:keep] + "*" * (len(name) - keep)


_ID_IN_TEXT: Final = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{11})([\dXx])(?![0-9A-Za-z])")
_CARD_IN_TEXT: Final = re.compile(r"(?<!\d)(\d{15,19})(?!\d)")
_PHONE_IN_TEXT: Final = re.compile(r"(?<!\d)((?:\+?86[\s-]?)?)(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")


def mask_text(text: str) -> str:
    """Mask every ID number, bank card number and mobile number found in free text."""
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _CARD_IN_TEXT.sub(lambda m: mask_card_number(m.group(1)), text)
    return _PHONE_IN_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}****{m.group(4)}", text)
