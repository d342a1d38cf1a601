"""Every error is an RFC 9457 problem with a stable code; a 5xx never shows internals."""

from __future__ import annotations

import importlib
import json
import logging
import pkgutil

import pytest
from fastapi import APIRouter

import lendcore
from lendcore.api.problems import GENERIC_5XX_DETAIL, PROBLEM_JSON, problem_for, problem_type
from lendcore.api.settings import ApiSettings
from lendcore.api.types import ApiModel, PositiveFen
from lendcore.core.errors import (
    BusinessRuleError,
    ConfigurationError,
    LendcoreError,
    NotFoundError,
    ValidationError,
)
from tests.api.conftest import LiveApi, MakeApi

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "instance", "request_id"}


def _every_lendcore_error_class() -> list[type[LendcoreError]]:
    for module in pkgutil.walk_packages(lendcore.__path__, "lendcore."):
        if module.name.startswith("lendcore.cli") or ".migrations" in module.name:
            continue
        importlib.import_module(module.name)
    found: list[type[LendcoreError]] = []
    pending: list[type[LendcoreError]] = [LendcoreError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", _every_lendcore_error_class(), ids=lambda c: c.__name__)
def test_every_lendcore_error_maps_to_its_http_status_and_code(cls: type[LendcoreError]) -> None:
    try:
        error = cls("the message", code="SOME_CODE")
    except TypeError:  # a subclass with required extra arguments
        error = cls("the message", code="SOME_CODE", retry_after=3)  # type: ignore[call-arg]
    status, body = problem_for(error)
    assert status == cls.http_status
    assert body["code"] == "SOME_CODE" and body["status"] == status
    assert body["type"] == problem_type("SOME_CODE") == "urn:lendcore:problem:some-code"
    assert body["detail"] == ("the message" if status < 500 or status == 503 else GENERIC_5XX_DETAIL)


def test_a_5xx_problem_never_carries_the_internal_message() -> None:
    status, body = problem_for(ConfigurationError("key h2 missing from /etc/lendcore/keys", code="X"))
    assert status == 500 and "h2" not in json.dumps(body)


class _Body(ApiModel):
    amount: PositiveFen
    note: str


def _failing_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.get("/test/raise/{kind}")
    def raise_(kind: str) -> dict[str, str]:
        if kind == "rule":
            raise BusinessRuleError("the limit is exceeded", code="LIMIT_EXCEEDED")
        if kind == "missing":
            raise NotFoundError("no such contract", code="CONTRACT_NOT_FOUND")
        if kind == "invalid":
            raise ValidationError("amount above the maximum", code="AMOUNT_TOO_LARGE")
        raise RuntimeError("SELECT secret FROM customers WHERE phone = '13812345678'")

    @router.post("/test/body")
    def body(payload: _Body) -> dict[str, int]:
        return {"amount": payload.amount}

    return router


@pytest.fixture
def failing_api(make_api: MakeApi) -> LiveApi:
    return make_api(extra_routers=(_failing_router(),), settings=ApiSettings())


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("rule", 409, "LIMIT_EXCEEDED"),
        ("missing", 404, "CONTRACT_NOT_FOUND"),
        ("invalid", 422, "AMOUNT_TOO_LARGE"),
    ],
)
def test_a_refusal_is_a_problem_document_with_its_code(
    failing_api: LiveApi, kind: str, status: int, code: str
) -> None:
    response = failing_api.client().get(f"/api/v1/test/raise/{kind}")
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert set(body) == PROBLEM_FIELDS
    assert body["code"] == code and body["status"] == status
    assert body["instance"] == f"/api/v1/test/raise/{kind}"
    assert body["request_id"] == response.headers["x-request-id"]


def test_an_unhandled_exception_is_a_generic_500_logged_with_the_request_id(
    failing_api: LiveApi, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="lendcore.api"):
        response = failing_api.client().get("/api/v1/test/raise/bug", headers={"X-Request-ID": "trace-42"})
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["code"] == "INTERNAL_ERROR" and body["detail"] == GENERIC_5XX_DETAIL
    assert body["request_id"] == "trace-42" == response.headers["x-request-id"]
    assert (
        "SELECT" not in response.text
        and "Traceback" not in response.text
        and "customers" not in response.text
    )
    logged = [r for r in caplog.records if r.exc_info and "SELECT secret" in str(r.exc_info[1])]
    assert logged, "the exception was not logged"
    assert response.headers["x-content-type-options"] == "nosniff"  # a 500 still has the secure headers


def test_a_request_that_fails_validation_names_every_field(failing_api: LiveApi) -> None:
    response = failing_api.client().post(
        "/api/v1/test/body", json={"amount": "100", "colour": "crimson-13812345678"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "INVALID_INPUT"
    fields = {e["field"]: e["code"] for e in body["errors"]}
    assert fields == {
        "body.amount": "AMOUNT_NOT_POSITIVE",
        "body.note": "FIELD_REQUIRED",
        "body.colour": "UNKNOWN_FIELD",
    }
    assert "crimson" not in response.text  # input values are not echoed (they may be personal data)


def test_one_lendcore_refusal_at_the_edge_has_the_code_the_use_case_would_give(failing_api: LiveApi) -> None:
    response = failing_api.client().post("/api/v1/test/body", json={"amount": 10**11, "note": "x"})
    assert response.status_code == 422
    assert response.json()["code"] == "AMOUNT_TOO_LARGE"
    assert [e["field"] for e in response.json()["errors"]] == ["body.amount"]


def test_a_body_that_is_not_json_is_a_problem(failing_api: LiveApi) -> None:
    response = failing_api.client().post(
        "/api/v1/test/body", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "INVALID_JSON"


def test_unknown_routes_and_methods_are_problems(api: LiveApi) -> None:
    client = api.client()
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    assert missing.headers["content-type"] == PROBLEM_JSON
    wrong = client.delete("/healthz")
    assert wrong.status_code == 405 and wrong.json()["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in wrong.headers["allow"]


def test_a_body_above_the_size_limit_is_refused_with_413(make_api: MakeApi) -> None:
    api = make_api(settings=ApiSettings(max_body_bytes=1000))
    response = api.client().post("/api/v1/auth/otp/request", json={"phone": "1" * 2000})
    assert response.status_code == 413 and response.json()["code"] == "REQUEST_TOO_LARGE"


def test_an_unknown_query_parameter_is_refused_like_an_unknown_field(api: LiveApi) -> None:
    response = api.client().get("/healthz", params={"verbose": "1", "limt": "5"})
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("query.limt", "UNKNOWN_FIELD"),
        ("query.verbose", "UNKNOWN_FIELD"),
    ]


def test_a_query_parameter_given_twice_is_refused_not_silently_narrowed_to_the_last(api: LiveApi) -> None:
    # ?limit=5&limit=50 would otherwise page by 50 (the framework keeps the last value)
    response = api.client().get("/api/v1/staff-users", params=[("limit", "5"), ("limit", "50")])
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("query.limit", "PARAMETER_REPEATED")
    ]


def test_a_body_that_cannot_be_decoded_is_a_400_problem(api: LiveApi) -> None:
    response = api.client().post(
        "/api/v1/auth/otp/request", content=b"W\xff\x7f", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["code"] == "INVALID_BODY"
    assert response.headers["content-type"] == "application/problem+json"
