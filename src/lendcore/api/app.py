"""The application factory: the API is composed here, explicitly, and nowhere else.

::

    app = create_app(Database(session_factory), settings=ApiSettings(...), cipher=cipher)

* routers: :data:`ROUTERS` (operations at the root, everything else under ``/api/v1``), plus
  ``extra_routers`` (tests mount their own, e.g. a dummy money-moving route); a router carries its
  full prefix (``APIRouter(prefix=API_PREFIX)``);
* errors: one ``exception_handlers`` table (``LendcoreError`` through
  :func:`lendcore.api.problems.problem_for`, validation errors, Starlette's HTTP errors, stored
  idempotent responses, and the catch-all);
* middleware, outermost first: secure headers, request context (request id, logs, metrics, the
  catch-all, body limit), CORS (only with an allow-list), idempotency recording;
* the OpenAPI 3.1 document at ``/api/v1/openapi.json``, Swagger UI at ``/docs`` (assets served here).

:func:`app_from_env` is what ``lendcore serve`` runs (uvicorn ``factory=True``): the configured
database, keys and settings, the development OTP sink.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Final

from fastapi import APIRouter, Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from lendcore import __version__
from lendcore.api.context import REQUEST_ID_HEADER
from lendcore.api.database import Database
from lendcore.api.docs import DOCS_PATH, docs_router
from lendcore.api.idempotency import (
    HEADER,
    REPLAYED_HEADER,
    IdempotencyMiddleware,
    ReplayStoredResponse,
    replay_handler,
)
from lendcore.api.middleware import RequestContextMiddleware, SecureHeadersMiddleware
from lendcore.api.problems import (
    FieldError,
    Problem,
    http_exception_handler,
    internal_error_handler,
    lendcore_error_handler,
    problem_responses,
    validation_error_handler,
)
from lendcore.api.ratelimit import RateLimiter
from lendcore.api.routers import (
    API_PREFIX,
    applications,
    approvals,
    auth,
    cards,
    contracts,
    customers,
    drawdowns,
    finance,
    hardship,
    health,
    lines,
    official_accounts,
    payments,
    payoff,
    privacy,
    quotes,
    repayments,
    scheduled,
    staff,
    staff_customers,
)
from lendcore.api.settings import ApiSettings
from lendcore.api.state import AppState
from lendcore.api.strict import reject_unknown_query_parameters
from lendcore.auth.otp import DevelopmentOtpSink, OtpSender
from lendcore.core.errors import LendcoreError
from lendcore.security.pii import PiiCipher
from lendcore.servicing.repay_channel import inline_channel
from lendcore.store.types import utc_now

log = logging.getLogger("lendcore.api")

OPENAPI_URL: Final = f"{API_PREFIX}/openapi.json"
TITLE: Final = "lendcore API"

#: What the API serves (each router carries its full prefix: see lendcore.api.routers).
ROUTERS: Final[tuple[APIRouter, ...]] = (
    health.router,
    auth.router,
    staff.router,
    approvals.router,
    finance.router,
    customers.router,
    applications.router,
    lines.router,
    contracts.router,
    payoff.router,
    quotes.router,
    drawdowns.router,
    repayments.router,
    payments.router,
    official_accounts.router,
    scheduled.router,
    hardship.router,
    privacy.router,
    cards.router,
    staff_customers.router,
)


def create_app(
    database: Database,
    *,
    settings: ApiSettings,
    cipher: PiiCipher,
    otp_sender: OtpSender | None = None,
    rate_limiter: RateLimiter | None = None,
    clock: Callable[[], datetime] = utc_now,
    extra_routers: Sequence[APIRouter] = (),
    on_shutdown: Callable[[], None] | None = None,
) -> FastAPI:
    state = AppState(
        settings=settings,
        database=database,
        cipher=cipher,
        otp_sender=otp_sender or DevelopmentOtpSink(cipher),
        rate_limiter=rate_limiter or RateLimiter(settings.rate_limits, enabled=settings.rate_limits_enabled),
        clock=clock,
        # a real channel configured: the worker submits; otherwise the in-process one, at once
        payment_channel=inline_channel(),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if on_shutdown is not None:
            on_shutdown()

    middleware = [
        Middleware(SecureHeadersMiddleware, hsts_max_age=settings.hsts_max_age, docs_prefix=DOCS_PATH),
        Middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes),
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type", HEADER, REQUEST_ID_HEADER],
                expose_headers=[REQUEST_ID_HEADER, "Retry-After", REPLAYED_HEADER],
                allow_credentials=False,
            )
        )
    middleware.append(Middleware(IdempotencyMiddleware, state=state))

    app = FastAPI(
        title=TITLE,
        version=__version__,
        summary="lendcore's HTTP API: problem+json errors, Idempotency-Key on money-moving requests",
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        middleware=middleware,
        dependencies=[Depends(reject_unknown_query_parameters)],
        exception_handlers={
            LendcoreError: lendcore_error_handler,
            RequestValidationError: validation_error_handler,
            StarletteHTTPException: http_exception_handler,
            ReplayStoredResponse: replay_handler,
            Exception: internal_error_handler,
        },
    )
    app.state.lendcore = state
    for router in (*ROUTERS, *extra_routers):
        app.include_router(router)
    if settings.docs_enabled:
        app.include_router(docs_router(OPENAPI_URL, TITLE))
    app.openapi = _openapi_with_problems(app)  # type: ignore[method-assign]
    return app


def _openapi_with_problems(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """FastAPI's OpenAPI document plus the problem schemas every error response refers to, and the
    answers every operation with a body can give: 400 (the body cannot be read) and 413 (too large)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (Problem, FieldError):
                definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, nested in definition.pop("$defs", {}).items():
                    schemas.setdefault(name, nested)
                schemas[model.__name__] = definition
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if isinstance(operation, dict) and "requestBody" in operation:
                        for status, answer in problem_responses(400, 413).items():
                            operation["responses"].setdefault(str(status), answer)
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def app_from_env(extra_routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The application on the configured database (``LENDCORE_DATABASE_URL`` or the embedded SQLite
    file), keys (``LENDCORE_PII_*``) and settings (``LENDCORE_JWT_SECRET``, ``LENDCORE_API_*``), with
    the development OTP sink. The schema is not migrated here (``lendcore serve --migrate`` does it):
    ``/readyz`` says 503 until it is at head."""
    from lendcore.origination.blind_index import check_key_ring
    from lendcore.store.engine import create_engine, create_session_factory, unit_of_work

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        settings = ApiSettings.from_env()
        cipher = PiiCipher.from_env()
    for warning in caught:
        log.warning("%s", warning.message)
    engine = create_engine()
    factory = create_session_factory(engine)
    try:
        with unit_of_work(factory, read_only=True) as session:
            check_key_ring(session, cipher)
    except LendcoreError:
        engine.dispose()
        raise
    except Exception:  # the database is not there (yet): /readyz says so
        log.warning("the database could not be checked at start-up", exc_info=True)
    log.warning("one-time codes go to the development outbox (otp_outbox), not to phones")
    return create_app(
        Database(factory),
        settings=settings,
        cipher=cipher,
        on_shutdown=engine.dispose,
        extra_routers=extra_routers,
    )
