"""Staff sign in with username and password; access tokens are short-lived JWTs; refresh tokens
rotate, are single use, and a reused one signs the whole sign-in out; roles guard endpoints, and
another customer's record is "not found"."""

from __future__ import annotations

import httpx
import jwt
import pytest
from fastapi import APIRouter, Depends
from sqlalchemy import select, update

from lendcore.api.auth import CurrentPrincipal, ensure_owner, require_roles
from lendcore.api.problems import problem_responses
from lendcore.auth.principal import Principal, StaffRole
from lendcore.core.errors import NotFoundError
from lendcore.store.engine import unit_of_work
from lendcore.store.models_api import RefreshToken, StaffUser
from tests.api.conftest import STAFF_PASSWORD, LiveApi, MakeApi


def login(client: httpx.Client, username: str, password: str = STAFF_PASSWORD) -> httpx.Response:
    return client.post("/api/v1/auth/staff/login", json={"username": username, "password": password})


def refresh(client: httpx.Client, token: str) -> httpx.Response:
    return client.post("/api/v1/auth/refresh", json={"refresh_token": token})


def bearer(pair: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def test_staff_sign_in_and_their_token_carries_their_roles(api: LiveApi) -> None:
    user_id = api.staff("ops.li", StaffRole.OPERATOR, StaffRole.FINANCE)
    client = api.client()
    pair = login(client, "Ops.Li").json()
    me = client.get("/api/v1/me", headers=bearer(pair)).json()
    assert me == {
        "kind": "staff",
        "customer_id": None,
        "staff_user_id": user_id,
        "username": "ops.li",
        "roles": ["finance", "operator"],
    }
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 15 * 60 and claims["roles"] == ["finance", "operator"]
    assert pair["refresh_expires_in"] == 12 * 3600


def test_a_wrong_password_an_unknown_user_and_a_disabled_user_are_refused_alike(api: LiveApi) -> None:
    api.staff("ops.wang", StaffRole.VIEWER)
    api.staff("gone", StaffRole.VIEWER)
    with unit_of_work(api.factory) as session:
        session.execute(update(StaffUser).where(StaffUser.username == "gone").values(status="disabled"))
    client = api.client()
    answers = [login(client, "ops.wang", "wrong password!"), login(client, "nobody"), login(client, "gone")]
    assert {(r.status_code, r.json()["code"], r.json()["detail"]) for r in answers} == {
        (401, "INVALID_CREDENTIALS", "the username or password is wrong")
    }


def test_an_access_token_expires_after_fifteen_minutes(api: LiveApi) -> None:
    api.staff("ops.zhao", StaffRole.VIEWER)
    client = api.client()
    pair = login(client, "ops.zhao").json()
    api.clock.advance(minutes=14, seconds=59)
    assert client.get("/api/v1/me", headers=bearer(pair)).status_code == 200
    api.clock.advance(seconds=1)
    expired = client.get("/api/v1/me", headers=bearer(pair))
    assert expired.status_code == 401 and expired.json()["code"] == "TOKEN_EXPIRED"
    assert expired.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        jwt.encode({"sub": "stf_x", "kind": "staff", "roles": ["admin"]}, "x" * 32, algorithm="HS256"),
        jwt.encode({"sub": "cus_x", "kind": "customer"}, key=None, algorithm="none"),  # type: ignore[arg-type]
    ],
)
def test_a_forged_or_malformed_token_is_refused(api: LiveApi, token: str) -> None:
    response = api.client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json()["code"] == "TOKEN_INVALID"


def test_a_token_signed_with_the_right_secret_but_edited_is_refused(api: LiveApi) -> None:
    token = api.token_for(Principal("staff", "stf_01JF0000000000000000000000", frozenset({StaffRole.VIEWER})))
    header, payload, signature = token.split(".")
    forged = ".".join([header, payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB"), signature])
    assert api.client().get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_a_refresh_token_rotates_and_works_once(api: LiveApi) -> None:
    api.staff("ops.sun", StaffRole.VIEWER)
    client = api.client()
    first = login(client, "ops.sun").json()
    second = refresh(client, first["refresh_token"])
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/me", headers=bearer(pair)).status_code == 200
    assert refresh(client, pair["refresh_token"]).status_code == 200


def test_reusing_a_refresh_token_revokes_its_whole_family(api: LiveApi) -> None:
    api.staff("ops.zhou", StaffRole.VIEWER)
    client = api.client()
    stolen = login(client, "ops.zhou").json()["refresh_token"]
    other_sign_in = login(client, "ops.zhou").json()["refresh_token"]
    rightful = refresh(client, stolen).json()["refresh_token"]
    reused = refresh(client, stolen)
    assert reused.status_code == 401 and reused.json()["code"] == "REFRESH_TOKEN_REUSED"
    refused = refresh(client, rightful)
    assert refused.status_code == 401 and refused.json()["code"] == "REFRESH_TOKEN_REUSED"
    assert refresh(client, other_sign_in).status_code == 200  # another sign-in is another family
    with unit_of_work(api.factory, read_only=True) as session:
        rows = session.scalars(select(RefreshToken)).all()
        assert all(len(r.token_hash) == 64 and not r.token_hash.startswith("rt_") for r in rows)


def test_logout_revokes_the_sign_in(api: LiveApi) -> None:
    api.staff("ops.wu", StaffRole.VIEWER)
    client = api.client()
    token = login(client, "ops.wu").json()["refresh_token"]
    assert client.post("/api/v1/auth/logout", json={"refresh_token": token}).status_code == 204
    assert client.post("/api/v1/auth/logout", json={"refresh_token": "rt_unknown"}).status_code == 204
    assert refresh(client, token).status_code == 401


def test_an_expired_or_unknown_refresh_token_is_refused(api: LiveApi) -> None:
    api.staff("ops.qian", StaffRole.VIEWER)
    client = api.client()
    token = login(client, "ops.qian").json()["refresh_token"]
    assert refresh(client, "rt_" + "A" * 43).json()["code"] == "REFRESH_TOKEN_INVALID"
    api.clock.advance(hours=12)
    assert refresh(client, token).json()["code"] == "REFRESH_TOKEN_INVALID"


def test_a_disabled_staff_user_cannot_refresh_and_changed_roles_apply(api: LiveApi) -> None:
    api.staff("ops.feng", StaffRole.VIEWER)
    api.staff("ops.chen", StaffRole.VIEWER)
    client = api.client()
    feng = login(client, "ops.feng").json()["refresh_token"]
    chen = login(client, "ops.chen").json()["refresh_token"]
    with unit_of_work(api.factory) as session:
        session.execute(update(StaffUser).where(StaffUser.username == "ops.feng").values(status="disabled"))
        session.execute(update(StaffUser).where(StaffUser.username == "ops.chen").values(roles=["risk"]))
    assert refresh(client, feng).status_code == 401
    pair = refresh(client, chen).json()
    assert client.get("/api/v1/me", headers=bearer(pair)).json()["roles"] == ["risk"]


def test_a_customer_refresh_token_lasts_fourteen_days(api: LiveApi) -> None:
    customer_id, phone = api.customer()
    client = api.client()
    client.post("/api/v1/auth/otp/request", json={"phone": phone})
    from tests.api.test_auth_otp import last_code

    pair = client.post("/api/v1/auth/otp/verify", json={"phone": phone, "code": last_code(api, phone)}).json()
    assert pair["refresh_expires_in"] == 14 * 86400
    api.clock.advance(days=13)
    renewed = refresh(client, pair["refresh_token"]).json()
    assert client.get("/api/v1/me", headers=bearer(renewed)).json()["customer_id"] == customer_id


# --- roles and ownership ------------------------------------------------------------------------------
def guarded_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.get(
        "/test/ledger",
        dependencies=[Depends(require_roles(StaffRole.FINANCE))],
        responses=problem_responses(401, 403),
    )
    def ledger() -> dict[str, str]:
        return {"ok": "ledger"}

    @router.get("/test/contracts/{owner}", responses=problem_responses(401, 404))
    def contract(owner: str, principal: CurrentPrincipal) -> dict[str, str]:
        ensure_owner(principal, owner, code="CONTRACT_NOT_FOUND", what="contract")
        return {"owner": owner}

    return router


@pytest.fixture
def guarded(make_api: MakeApi) -> LiveApi:
    return make_api(extra_routers=(guarded_router(),))


@pytest.mark.parametrize(
    ("principal", "status"),
    [
        (Principal("staff", "stf_01JF0000000000000000000001", frozenset({StaffRole.FINANCE})), 200),
        (Principal("staff", "stf_01JF0000000000000000000002", frozenset({StaffRole.ADMIN})), 200),
        (
            Principal(
                "staff", "stf_01JF0000000000000000000003", frozenset({StaffRole.VIEWER, StaffRole.RISK})
            ),
            403,
        ),
        (Principal("customer", "cus_01JF0000000000000000000004"), 403),
    ],
)
def test_an_endpoint_admits_the_roles_it_names_and_admin(
    guarded: LiveApi, principal: Principal, status: int
) -> None:
    response = guarded.client(headers=guarded.auth(principal)).get("/api/v1/test/ledger")
    assert response.status_code == status
    if status == 403:
        assert response.json()["code"] == "PERMISSION_DENIED"


def test_without_a_token_a_guarded_endpoint_is_401(guarded: LiveApi) -> None:
    assert guarded.client().get("/api/v1/test/ledger").json()["code"] == "AUTHENTICATION_REQUIRED"


def test_another_customers_record_is_not_found_not_forbidden(guarded: LiveApi) -> None:
    mine, theirs = "cus_01JF0000000000000000000005", "cus_01JF0000000000000000000006"
    client = guarded.client(headers=guarded.auth(Principal("customer", mine)))
    assert client.get(f"/api/v1/test/contracts/{mine}").status_code == 200
    other = client.get(f"/api/v1/test/contracts/{theirs}")
    assert other.status_code == 404 and other.json()["code"] == "CONTRACT_NOT_FOUND"
    staff = guarded.client(headers=guarded.auth(Principal("staff", "stf_01JF0000000000000000000007")))
    assert staff.get(f"/api/v1/test/contracts/{theirs}").status_code == 200


def test_ensure_owner_refuses_as_not_found() -> None:
    with pytest.raises(NotFoundError) as caught:
        ensure_owner(Principal("customer", "cus_a"), "cus_b", code="LINE_NOT_FOUND")
    assert caught.value.code == "LINE_NOT_FOUND"
    ensure_owner(Principal("customer", "cus_a"), "cus_a")
