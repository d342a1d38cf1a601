"""Access tokens (short-lived JWTs) and refresh tokens (opaque, rotating, single use).

**Access token**: HS256 JWT with ``iss`` ``lendcore``, ``aud`` ``lendcore-api``, ``sub`` (``cus_…`` or
``stf_…``), ``kind`` (customer / staff), ``roles`` (staff), ``iat``, ``exp`` (15 minutes by default),
``jti``. Verified on every request without the database; so a logout or a disabled staff user stops
access at the latest when the token expires.

**Refresh token**: ``rt_`` + 256 random bits (URL-safe base64), stored only as its SHA-256. One
sign-in is one *family*. Using a token marks it used and returns a new pair in the same family
(rotation); using a token that was already used or revoked revokes the whole family (whoever holds a
stolen copy and the rightful owner are both signed out: RFC 9700 §4.14.2). Logout revokes the family.
Staff refreshes re-read the user: a disabled user cannot refresh, and changed roles apply.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from lendcore.auth.errors import AuthenticationError
from lendcore.auth.principal import Principal, StaffRole
from lendcore.auth.staff import active_staff_user, principal_of
from lendcore.store.engine import for_update, unit_of_work
from lendcore.store.models import Customer
from lendcore.store.models_api import RefreshToken

ISSUER: Final = "lendcore"
AUDIENCE: Final = "lendcore-api"
ALGORITHM: Final = "HS256"
REFRESH_PREFIX: Final = "rt_"


@dataclass(frozen=True, slots=True)
class AccessTokens:
    """Issues and verifies access tokens with one secret."""

    secret: bytes
    ttl: timedelta

    def issue(self, principal: Principal, now: datetime) -> str:
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": principal.subject,
            "kind": principal.kind,
            "iat": int(now.timestamp()),
            "exp": int((now + self.ttl).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        if principal.is_staff:
            claims["roles"] = sorted(r.value for r in principal.roles)
            claims["username"] = principal.username
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def verify(self, token: str, now: datetime) -> Principal:
        """The principal of a valid token; ``TOKEN_EXPIRED`` or ``TOKEN_INVALID`` (401) otherwise."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                # expiry is checked below against the application's clock, not PyJWT's
                options={
                    "require": ["exp", "iat", "sub", "iss", "aud"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
                leeway=0,
            )
        except jwt.PyJWTError:
            raise _invalid_token() from None
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= int(now.timestamp()):
            raise AuthenticationError("the access token has expired; refresh it", code="TOKEN_EXPIRED")
        return _principal_from_claims(claims)


def _principal_from_claims(claims: dict[str, Any]) -> Principal:
    kind, subject = claims.get("kind"), claims.get("sub")
    if kind == "customer" and isinstance(subject, str) and subject.startswith("cus_"):
        return Principal("customer", subject)
    if kind == "staff" and isinstance(subject, str) and subject.startswith("stf_"):
        roles = claims.get("roles")
        if isinstance(roles, list) and all(r in set(StaffRole) for r in roles):
            username = claims.get("username")
            return Principal(
                "staff",
                subject,
                frozenset(StaffRole(r) for r in roles),
                username if isinstance(username, str) else None,
            )
    raise _invalid_token()


def _invalid_token() -> AuthenticationError:
    return AuthenticationError("the access token is not valid", code="TOKEN_INVALID")


# --- refresh tokens ---------------------------------------------------------------------------------
def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_refresh_token() -> str:
    return REFRESH_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def issue_refresh_token(
    session: Session, principal: Principal, *, now: datetime, ttl: timedelta, family_id: str | None = None
) -> str:
    """A new refresh token for ``principal`` (a new family unless ``family_id``); only its hash is stored."""
    token = new_refresh_token()
    session.add(
        RefreshToken(
            token_hash=_hash(token),
            family_id=family_id or f"fam_{uuid.uuid4().hex}",
            subject_kind=principal.kind,
            subject_id=principal.subject,
            issued_at=now,
            expires_at=now + ttl,
        )
    )
    session.flush()
    return token


def _revoke_family(session: Session, family_id: str, now: datetime, reason: str) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


def _current_principal(session: Session, row: RefreshToken) -> Principal | None:
    if row.subject_kind == "staff":
        try:
            return principal_of(active_staff_user(session, row.subject_id))
        except AuthenticationError:
            return None
    customer = session.get(Customer, row.subject_id)
    if customer is None or customer.status == "closed":
        return None
    return Principal("customer", customer.id)


def rotate_refresh_token(
    factory: sessionmaker[Session], token: str, *, now: datetime, ttl_for: Callable[[Principal], timedelta]
) -> tuple[Principal, str]:
    """Use a refresh token: the principal and a new refresh token of the same family.

    ``REFRESH_TOKEN_INVALID`` (401) for an unknown, expired or revoked token or a subject that can no
    longer sign in; ``REFRESH_TOKEN_REUSED`` (401) for a token already used, after revoking its family
    (committed before the refusal)."""
    refusal: AuthenticationError | None = None
    with unit_of_work(factory) as session:
        row = session.scalars(
            for_update(select(RefreshToken).where(RefreshToken.token_hash == _hash(token)))
        ).first()
        if row is None or row.expires_at <= now:
            refusal = _invalid_refresh()
        elif row.used_at is not None or row.revoked_at is not None:
            _revoke_family(session, row.family_id, now, "reuse")
            refusal = AuthenticationError(
                "this refresh token was already used: every session of its sign-in is revoked",
                code="REFRESH_TOKEN_REUSED",
            )
        else:
            principal = _current_principal(session, row)
            row.used_at = now
            if principal is None:
                _revoke_family(session, row.family_id, now, "subject")
                refusal = _invalid_refresh()
            else:
                new = issue_refresh_token(
                    session, principal, now=now, ttl=ttl_for(principal), family_id=row.family_id
                )
    if refusal is not None:
        raise refusal
    assert principal is not None
    return principal, new


def revoke_refresh_family(session: Session, token: str, *, now: datetime) -> bool:
    """Logout: revoke the family of ``token``; False if no such token (logout answers alike)."""
    row = session.scalars(select(RefreshToken).where(RefreshToken.token_hash == _hash(token))).first()
    if row is None:
        return False
    _revoke_family(session, row.family_id, now, "logout")
    return True


def _invalid_refresh() -> AuthenticationError:
    return AuthenticationError("the refresh token is not valid; sign in again", code="REFRESH_TOKEN_INVALID")
