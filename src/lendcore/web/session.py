"""The pages' session: the API's access token in a cookie, a CSRF token bound to it, the language.

* ``lc_session``: the JWT from the same sign-in as the API (HttpOnly, SameSite=Strict, Secure unless
  the request came to a loopback host: a browser drops Secure cookies on plain-HTTP ``127.0.0.1``).
* CSRF: every form carries ``csrf_token`` = HMAC-SHA256(jwt secret, session cookie) (before sign-in:
  of the ``lc_pre`` cookie, a random value). A POST whose token does not match is refused (403)
  before anything is read or written. SameSite=Strict already stops cross-site posts in current
  browsers; the token covers older ones and same-site subdomains.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from lendcore.api.state import AppState
from lendcore.auth.errors import AuthenticationError, PermissionDeniedError
from lendcore.auth.principal import Principal
from lendcore.web.i18n import Lang, lang_of

SESSION_COOKIE: Final = "lc_session"
PRE_SESSION_COOKIE: Final = "lc_pre"
LANG_COOKIE: Final = "lang"
CSRF_FIELD: Final = "csrf_token"
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class CsrfError(PermissionDeniedError):
    """A form without the session's CSRF token (403 ``CSRF_TOKEN_INVALID``)."""

    default_code = "CSRF_TOKEN_INVALID"


def _secure(request: Request) -> bool:
    return (request.url.hostname or "") not in LOOPBACK_HOSTS


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="strict", secure=_secure(request), path="/"
    )


def lang(request: Request) -> Lang:
    return lang_of(request.cookies.get(LANG_COOKIE))


def _csrf_basis(request: Request, *, signing_in: bool = False) -> str:
    """The cookie the token is bound to: the session's; while signing in, the pre-session's (a stale
    session cookie may still be there)."""
    if signing_in:
        return request.cookies.get(PRE_SESSION_COOKIE) or ""
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRE_SESSION_COOKIE) or ""


def csrf_token(state: AppState, basis: str) -> str:
    secret = state.settings.jwt_secret
    return hmac.new(secret, b"csrf:" + basis.encode(), hashlib.sha256).hexdigest()


def request_csrf_token(state: AppState, request: Request) -> str:
    return csrf_token(state, _csrf_basis(request))


def check_csrf(state: AppState, request: Request, submitted: str | None, *, signing_in: bool = False) -> None:
    basis = _csrf_basis(request, signing_in=signing_in)
    if not basis or not submitted or not hmac.compare_digest(csrf_token(state, basis), submitted):
        raise CsrfError("this form has expired: reload the page and try again")


def new_pre_session() -> str:
    return secrets.token_urlsafe(24)


def session_principal(state: AppState, request: Request) -> Principal | None:
    """Who the session cookie is for, or None (no cookie, expired or forged token)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return state.access_tokens.verify(token, state.clock())
    except AuthenticationError:
        return None
