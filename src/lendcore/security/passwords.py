"""Staff passwords, hashed with Argon2id (argon2-cffi). Never stored or logged in plain text."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from lendcore.core.errors import ValidationError

MIN_PASSWORD_LENGTH = 12

_HASHER = PasswordHasher()  # argon2id with the library's current RFC 9106 low-memory profile


def hash_password(password: str, *, hasher: PasswordHasher | None = None) -> str:
    """Return an encoded Argon2id hash (salt and parameters included). ``PASSWORD_TOO_SHORT`` under 12."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters", code="PASSWORD_TOO_SHORT"
        )
    return (hasher or _HASHER).hash(password)


def verify_password(encoded: str, password: str, *, hasher: PasswordHasher | None = None) -> bool:
    """True if ``password`` matches; False on a mismatch or a malformed hash (never raises)."""
    try:
        return (hasher or _HASHER).verify(encoded, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str, *, hasher: PasswordHasher | None = None) -> bool:
    """True if the hash was made with weaker parameters than the current ones (rehash on next login)."""
    try:
        return (hasher or _HASHER).check_needs_rehash(encoded)
    except InvalidHashError:
        return True
