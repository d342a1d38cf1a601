"""Staff users: created by an administrator (``lendcore admin create-user``), sign in with a username
and a password (Argon2id, :mod:`lendcore.security.passwords`), carry roles.

A wrong password, an unknown username and a disabled user are refused alike
(``INVALID_CREDENTIALS``), and an unknown username still costs one Argon2 verification, so neither the
answer nor its timing tells which usernames exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lendcore.auth.errors import AuthenticationError
from lendcore.auth.principal import Principal, StaffRole
from lendcore.core.errors import ConflictError, ValidationError
from lendcore.security.passwords import hash_password, needs_rehash, verify_password
from lendcore.store.audit import record_audit
from lendcore.store.models_api import StaffUser

_USERNAME: Final = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


@cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so that path costs what a known one does."""
    return hash_password("lendcore-no-such-user-dummy-password")


def normalize_username(text: str) -> str:
    """Lower case; 3-64 characters of ``a-z 0-9 . _ -``, starting with a letter or digit."""
    name = text.strip().lower() if isinstance(text, str) else ""
    if not _USERNAME.match(name):
        raise ValidationError(
            "a username is 3-64 characters: letters, digits, '.', '_' or '-', starting with a letter "
            "or digit",
            code="INVALID_USERNAME",
        )
    return name


def parse_roles(roles: Iterable[str | StaffRole]) -> tuple[StaffRole, ...]:
    """Known roles, each once, in the order of :class:`StaffRole`; ``ROLE_REQUIRED`` if none."""
    chosen = set()
    for role in roles:
        try:
            chosen.add(StaffRole(role))
        except ValueError:
            allowed = ", ".join(r.value for r in StaffRole)
            raise ValidationError(f"unknown role {role!r}; roles: {allowed}", code="INVALID_ROLE") from None
    if not chosen:
        raise ValidationError("a staff user needs at least one role", code="ROLE_REQUIRED")
    return tuple(r for r in StaffRole if r in chosen)


def create_staff_user(
    session: Session, *, username: str, password: str, roles: Iterable[str | StaffRole], actor: str
) -> StaffUser:
    """A new active staff user (audited as ``staff_user.created``). ``INVALID_USERNAME``,
    ``PASSWORD_TOO_SHORT``, ``INVALID_ROLE``, ``ROLE_REQUIRED``, ``USERNAME_TAKEN``."""
    name = normalize_username(username)
    chosen = parse_roles(roles)
    password_hash = hash_password(password)
    if session.scalar(select(StaffUser.id).where(StaffUser.username == name)) is not None:
        raise ConflictError(f"the username {name!r} is taken", code="USERNAME_TAKEN")
    user = StaffUser(username=name, password_hash=password_hash, roles=[r.value for r in chosen])
    savepoint = session.begin_nested()
    try:
        session.add(user)
        session.flush()
    except IntegrityError:  # a concurrent create of the same username won
        savepoint.rollback()
        raise ConflictError(f"the username {name!r} is taken", code="USERNAME_TAKEN") from None
    savepoint.commit()
    record_audit(
        session,
        actor=actor,
        action="staff_user.created",
        target_type="staff_user",
        target_id=user.id,
        details={"username": name, "roles": user.roles},
    )
    return user


def principal_of(user: StaffUser) -> Principal:
    return Principal(
        "staff", user.id, frozenset(StaffRole(r) for r in user.roles if r in set(StaffRole)), user.username
    )


def authenticate_staff(session: Session, *, username: str, password: str, now: datetime) -> StaffUser:
    """The active staff user with this username and password; ``INVALID_CREDENTIALS`` otherwise.
    Upgrades the stored hash when the hasher's parameters changed."""
    try:
        name = normalize_username(username)
    except ValidationError:
        name = ""
    user = (
        session.scalars(select(StaffUser).where(StaffUser.username == name)).one_or_none() if name else None
    )
    if user is None:
        verify_password(_dummy_hash(), password)
        raise _invalid()
    if not verify_password(user.password_hash, password) or user.status != "active":
        raise _invalid()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    session.flush()
    return user


def active_staff_user(session: Session, user_id: str) -> StaffUser:
    """The staff user a refresh token names, if still active (``AUTHENTICATION_REQUIRED`` otherwise)."""
    user = session.get(StaffUser, user_id)
    if user is None or user.status != "active":
        raise AuthenticationError("this staff user can no longer sign in", code="AUTHENTICATION_REQUIRED")
    return user


def _invalid() -> AuthenticationError:
    return AuthenticationError("the username or password is wrong", code="INVALID_CREDENTIALS")
