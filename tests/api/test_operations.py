"""What every response carries (secure headers, request id), CORS, health and readiness, metrics,
structured logs, and the offline docs page."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi import APIRouter

from lendcore import metrics
from lendcore.api.logs import JsonFormatter
from lendcore.api.settings import ApiSettings
from lendcore.security.logging import PiiMaskingFilter
from lendcore.store.migrate import head_revision, upgrade_database
from tests.api.conftest import LiveApi, MakeApi, live_api

SECURE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def crash_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.get("/test/crash")
    def crash(phone: str | None = None) -> None:
        raise RuntimeError(f"customer {phone} broke it")

    return router


@pytest.mark.parametrize(
    "path", ["/healthz", "/api/v1/me", "/api/v1/nowhere", "/docs", "/docs/assets/swagger-ui.css"]
)
def test_every_response_has_the_secure_headers_and_a_request_id(api: LiveApi, path: str) -> None:
    response = api.client().get(path)
    for name, value in SECURE.items():
        assert response.headers[name] == value, (path, name)
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert re.fullmatch(r"req_[0-9a-f]{32}", response.headers["x-request-id"])
    assert "strict-transport-security" not in response.headers


def test_api_responses_are_never_cached(api: LiveApi) -> None:
    client = api.client()
    assert client.get("/api/v1/me").headers["cache-control"] == "no-store"
    assert (
        client.get("/healthz", headers={"Authorization": "Bearer x"}).headers["cache-control"] == "no-store"
    )
    assert "cache-control" not in client.get("/healthz").headers


def test_hsts_is_sent_when_configured(make_api: MakeApi) -> None:
    api = make_api(settings=ApiSettings(hsts_max_age=31536000))
    assert (
        api.client().get("/healthz").headers["strict-transport-security"]
        == "max-age=31536000; includeSubDomains"
    )


def test_a_clients_request_id_is_echoed_and_a_malformed_one_replaced(api: LiveApi) -> None:
    client = api.client()
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    replaced = client.get("/healthz", headers={"X-Request-ID": 'evil injected" {"level": 1}'}).headers[
        "x-request-id"
    ]
    assert replaced.startswith("req_")


def test_cors_is_off_by_default(api: LiveApi) -> None:
    response = api.client().options(
        "/api/v1/me", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_only_the_configured_origins(make_api: MakeApi) -> None:
    api = make_api(settings=ApiSettings(cors_origins=("https://app.example",)))
    client = api.client()
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "idempotency-key"}
    allowed = client.options("/api/v1/auth/refresh", headers={"Origin": "https://app.example", **preflight})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "idempotency-key" in allowed.headers["access-control-allow-headers"].lower()
    refused = client.options("/api/v1/auth/refresh", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers


def test_health_and_readiness(api: LiveApi) -> None:
    client = api.client()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "revision": head_revision()}


def test_not_ready_while_the_schema_is_behind(empty_database_url: str) -> None:
    upgrade_database(empty_database_url, "0005_blind_index_keys")
    with live_api(empty_database_url) as api:
        client = api.client()
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        assert response.status_code == 503 and response.json()["code"] == "SCHEMA_NOT_AT_HEAD"
        assert "0005_blind_index_keys" in response.json()["detail"]


def test_not_ready_when_the_database_cannot_be_reached() -> None:
    with live_api("postgresql+psycopg://lendcore@127.0.0.1:1/none") as api:
        response = api.client().get("/readyz")
        assert response.status_code == 503 and response.json()["code"] == "DATABASE_UNAVAILABLE"
        assert "127.0.0.1" not in response.text


def _eventually(check: Callable[[], bool], within: float = 10.0) -> bool:
    """True as soon as ``check()`` is; False if it is still false after ``within`` seconds.

    The access log line and the request metric are written after the response has been sent (their
    duration includes sending it), so a client can read the response before they exist: the test
    waits for them, bounded, instead of racing the server thread.
    """
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_by_route_template_method_and_status_class(make_api: MakeApi) -> None:
    api = make_api(extra_routers=(crash_router(),))
    client = api.client()
    name = "lendcore_http_request_duration_seconds_count"
    before = _sample(client.get("/metrics").text, name, route="/api/v1/staff-users", status="4xx")
    client.get("/api/v1/staff-users", params={"limit": 5})
    client.get("/api/v1/staff-users", params={"limit": 7})
    assert _eventually(
        lambda: (
            _sample(
                client.get("/metrics").text, name, route="/api/v1/staff-users", method="GET", status="4xx"
            )
            == before + 2
        )
    )
    unmatched = _sample(client.get("/metrics").text, name, route="<unmatched>")
    client.get("/api/v1/no/such/route/12345")
    assert _eventually(
        lambda: _sample(client.get("/metrics").text, name, route="<unmatched>") == unmatched + 1
    )


def test_business_hooks_are_exported(api: LiveApi) -> None:
    before = _sample(api.client().get("/metrics").text, "lendcore_decisions_total", outcome="approved")
    metrics.record_decision("approved")
    metrics.record_payment("succeeded")
    with metrics.time_close():
        pass
    text = api.client().get("/metrics").text
    assert _sample(text, "lendcore_decisions_total", outcome="approved") == before + 1
    assert "lendcore_payments_total" in text and "lendcore_close_duration_seconds_count" in text
    assert api.client().get("/metrics").headers["content-type"].startswith("text/plain")


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PiiMaskingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def test_logs_are_json_lines_with_the_request_id_and_no_pii(make_api: MakeApi, json_log: io.StringIO) -> None:
    api = make_api(extra_routers=(crash_router(),))
    api.client().get("/api/v1/test/crash", params={"phone": "13812345678"}, headers={"X-Request-ID": "r-77"})
    assert _eventually(lambda: '"lendcore.api.access"' in json_log.getvalue())
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    mine = [entry for entry in lines if entry.get("request_id") == "r-77"]
    error = next(e for e in mine if e["level"] == "error")
    assert "RuntimeError" in error["exception"] and "138****5678" in error["exception"]
    access = next(e for e in mine if e["logger"] == "lendcore.api.access")
    assert access["route"] == "/api/v1/test/crash" and access["status"] == 500 and access["method"] == "GET"
    assert "13812345678" not in json_log.getvalue()


def test_the_docs_page_loads_only_our_own_assets(api: LiveApi) -> None:
    client = api.client()
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert (
        "http://" not in page.text and "https://" not in page.text and "//" not in page.text.replace("<!", "")
    )
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
    assert len(scripts) == 2 and len(styles) == 1
    assert "<script>" not in page.text  # no inline script: the CSP allows 'self' only
    for path in scripts:
        asset = client.get(path)
        assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/javascript"), path
    assert b"SwaggerUIBundle" in client.get(scripts[0]).content  # the bundle itself, served by us
    assert "/api/v1/openapi.json" in client.get(scripts[1]).text
    css = client.get(styles[0])
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/docs/assets/../app.py").status_code == 404


def test_the_openapi_document_is_3_1_and_documents_problems(api: LiveApi) -> None:
    document = api.client().get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert {"Problem", "FieldError"} <= set(document["components"]["schemas"])
    login = document["paths"]["/api/v1/auth/staff/login"]["post"]
    assert "application/problem+json" in login["responses"]["401"]["content"]
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
