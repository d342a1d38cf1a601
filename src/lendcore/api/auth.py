"""Authentication and authorisation dependencies for endpoints.

::

    @router.get("/contracts/{contract_id}")
    def show(contract_id: ContractId, principal: CurrentPrincipal, db: DatabaseDep) -> ContractView:
        with db.read() as session:
            contract = load(session, contract_id)           # NotFoundError CONTRACT_NOT_FOUND if none
            ensure_owner(principal, contract.customer_id, code="CONTRACT_NOT_FOUND")
            ...

    @router.post("/waivers", dependencies=[Depends(require_roles(StaffRole.OPERATOR))])

* :data:`CurrentPrincipal` (``Depends(current_principal)``): the caller from ``Authorization: Bearer``
  (401 ``AUTHENTICATION_REQUIRED`` / ``TOKEN_INVALID`` / ``TOKEN_EXPIRED``, with ``WWW-Authenticate``).
* :data:`CurrentCustomer`: a customer's principal (staff get 403 ``CUSTOMERS_ONLY``).
* :func:`require_roles`: staff with one of the roles, ``admin`` always (403 ``PERMISSION_DENIED``).
* :func:`ensure_owner`: a customer asking for another customer's record gets 404 with the record's
  own not-found code, exactly as if it did not exist (no 403: that would confirm it exists).

The dependencies are ``async def``: they only compute (a JWT check, a role test), and FastAPI runs a
plain ``def`` dependency in the thread pool, one thread hop per dependency per request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lendcore.api.state import StateDep
from lendcore.auth.errors import AuthenticationError, PermissionDeniedError
from lendcore.auth.principal import Principal, StaffRole
from lendcore.core.errors import NotFoundError

bearer = HTTPBearer(auto_error=False, bearerFormat="JWT", description="an access token from /api/v1/auth")
_CACHE = "lendcore.principal"


async def current_principal(
    request: Request,
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    cached = request.scope.get(_CACHE)
    if isinstance(cached, Principal):
        return cached
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("sign in: this needs an access token (Authorization: Bearer …)")
    principal = state.access_tokens.verify(credentials.credentials, state.clock())
    request.scope[_CACHE] = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def current_customer(principal: CurrentPrincipal) -> Principal:
    if principal.customer_id is None:
        raise PermissionDeniedError("only customers can do this", code="CUSTOMERS_ONLY")
    return principal


CurrentCustomer = Annotated[Principal, Depends(current_customer)]


def require_roles(*roles: StaffRole) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting staff with any of ``roles`` (``admin`` always); returns the principal."""
    wanted = frozenset(roles)

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any_role(wanted):
            names = ", ".join(sorted(r.value for r in wanted)) or "admin"
            raise PermissionDeniedError(f"this needs a staff role: {names}", code="PERMISSION_DENIED")
        return principal

    dependency.__name__ = "require_roles_" + "_".join(sorted(r.value for r in wanted))
    return dependency


def ensure_owner(
    principal: Principal, owner_customer_id: str | None, *, code: str = "NOT_FOUND", what: str = "record"
) -> None:
    """Refuse a customer access to a record that is not theirs as *not found* (404, ``code``).
    Staff pass (their role check is the endpoint's)."""
    if principal.is_staff:
        return
    if principal.customer_id is None or principal.customer_id != owner_customer_id:
        raise NotFoundError(f"no such {what}", code=code)
