"""``/api/v1/auth``: customers sign in by phone and one-time code, staff by username and password;
both get an access token and a rotating refresh token. ``/api/v1/me``: who the token is for."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field
from starlette.responses import Response

from lendcore.api.auth import CurrentPrincipal
from lendcore.api.problems import problem_responses
from lendcore.api.ratelimit import limiter_of, rate_limit
from lendcore.api.routers import API_PREFIX
from lendcore.api.state import AppState, StateDep
from lendcore.api.types import ApiModel
from lendcore.auth.otp import request_code, verify_code
from lendcore.auth.principal import Principal, StaffRole
from lendcore.auth.staff import authenticate_staff, principal_of
from lendcore.auth.tokens import issue_refresh_token, revoke_refresh_family, rotate_refresh_token
from lendcore.core.errors import LendcoreError
from lendcore.core.identity import normalize_phone
from lendcore.security.pii import PiiCipher

router = APIRouter(prefix=API_PREFIX, tags=["authentication"])

Phone = Annotated[str, Field(min_length=1, max_length=32, examples=["13812345678"])]
RefreshTokenText = Annotated[str, Field(min_length=1, max_length=128)]


class OtpRequest(ApiModel):
    phone: Phone


class OtpRequested(BaseModel):
    status: Literal["sent"] = "sent"
    expires_in: int = Field(description="seconds the code is valid")
    resend_in: int = Field(description="seconds before another code can be asked for")


class OtpVerify(ApiModel):
    phone: Phone
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$", examples=["123456"])]


class StaffLogin(ApiModel):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class RefreshRequest(ApiModel):
    refresh_token: RefreshTokenText


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str = Field(description="single use: exchange it at /auth/refresh for a new pair")
    refresh_expires_in: int


class Me(BaseModel):
    kind: Literal["customer", "staff"]
    customer_id: str | None = None
    staff_user_id: str | None = None
    username: str | None = None
    roles: list[StaffRole] = []


def refresh_ttl(state: AppState, principal: Principal) -> timedelta:
    return state.settings.staff_refresh_ttl if principal.is_staff else state.settings.customer_refresh_ttl


def _pair(state: AppState, principal: Principal, refresh_token: str) -> TokenPair:
    now = state.clock()
    return TokenPair(
        access_token=state.access_tokens.issue(principal, now),
        expires_in=int(state.settings.access_token_ttl.total_seconds()),
        refresh_token=refresh_token,
        refresh_expires_in=int(refresh_ttl(state, principal).total_seconds()),
    )


def _sign_in(state: AppState, principal: Principal) -> TokenPair:
    with state.database.write() as session:
        token = issue_refresh_token(session, principal, now=state.clock(), ttl=refresh_ttl(state, principal))
    return _pair(state, principal, token)


def _phone_key(cipher: PiiCipher, phone: str) -> str:
    """The phone's rate-limit key: its blind index (the number itself is never a dictionary key)."""
    try:
        return cipher.blind_index("phone", normalize_phone(phone))
    except LendcoreError:
        return "invalid"


_AUTH_PROBLEMS = problem_responses(401, 422, 429)


@router.post(
    "/auth/otp/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OtpRequested,
    summary="Send a one-time code to a customer's phone",
    description="Answers alike whether or not the phone has an account (only a customer's phone "
    "gets a code).",
    dependencies=[Depends(rate_limit("otp_request"))],
    responses=problem_responses(422, 429),
)
def otp_request(body: OtpRequest, request: Request, state: StateDep) -> OtpRequested:
    limiter_of(request).check("otp_request:phone", _phone_key(state.cipher, body.phone))
    with state.database.write() as session:
        sent = request_code(
            session,
            cipher=state.cipher,
            sender=state.otp_sender,
            policy=state.otp_policy,
            phone=body.phone,
            now=state.clock(),
        )
    return OtpRequested(expires_in=sent.expires_in, resend_in=sent.resend_in)


@router.post(
    "/auth/otp/verify",
    response_model=TokenPair,
    summary="Exchange a one-time code for tokens",
    dependencies=[Depends(rate_limit("otp_verify"))],
    responses=_AUTH_PROBLEMS,
)
def otp_verify(body: OtpVerify, request: Request, state: StateDep) -> TokenPair:
    limiter_of(request).check("otp_verify:phone", _phone_key(state.cipher, body.phone))
    customer_id = verify_code(
        state.database.session_factory,
        cipher=state.cipher,
        policy=state.otp_policy,
        phone=body.phone,
        code=body.code,
        now=state.clock(),
    )
    return _sign_in(state, Principal("customer", customer_id))


@router.post(
    "/auth/staff/login",
    response_model=TokenPair,
    summary="Sign a member of staff in",
    dependencies=[Depends(rate_limit("login"))],
    responses=_AUTH_PROBLEMS,
)
def staff_login(body: StaffLogin, request: Request, state: StateDep) -> TokenPair:
    limiter_of(request).check("login:username", body.username.strip().lower())
    with state.database.write() as session:
        user = authenticate_staff(session, username=body.username, password=body.password, now=state.clock())
        principal = principal_of(user)
    return _sign_in(state, principal)


@router.post(
    "/auth/refresh",
    response_model=TokenPair,
    summary="Exchange a refresh token (single use) for a new pair",
    dependencies=[Depends(rate_limit("refresh"))],
    responses=_AUTH_PROBLEMS,
)
def refresh(body: RefreshRequest, state: StateDep) -> TokenPair:
    principal, token = rotate_refresh_token(
        state.database.session_factory,
        body.refresh_token,
        now=state.clock(),
        ttl_for=lambda p: refresh_ttl(state, p),
    )
    return _pair(state, principal, token)


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke the refresh token and every token of its sign-in",
    dependencies=[Depends(rate_limit("refresh"))],
    responses=problem_responses(422, 429),
)
def logout(body: RefreshRequest, state: StateDep) -> Response:
    with state.database.write() as session:
        revoke_refresh_family(session, body.refresh_token, now=state.clock())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=Me, summary="Who the access token is for", responses=problem_responses(401))
def me(principal: CurrentPrincipal) -> Me:
    if principal.is_staff:
        return Me(
            kind="staff",
            staff_user_id=principal.subject,
            username=principal.username,
            roles=sorted(principal.roles),
        )
    return Me(kind="customer", customer_id=principal.subject)
