"""``Idempotency-Key`` for money-moving requests (IETF draft "The Idempotency-Key HTTP Header Field").

An endpoint that moves money declares the dependency (after its rate limits, so a limited request is
refused before its key is claimed)::

    @router.post("/repayments", status_code=201, responses=problem_responses(400, 401, 409, 422, 429))
    def repay(body: RepayBody, principal: CurrentCustomer, key: IdempotencyKeyDep, db: DatabaseDep): ...

* no header: 400 ``IDEMPOTENCY_KEY_REQUIRED``; a malformed one: 400 ``INVALID_IDEMPOTENCY_KEY``. The
  value is a Structured Field string (``Idempotency-Key: "8e03…"``, 1-128 printable ASCII
  characters); a bare token (``Idempotency-Key: 8e03…``) is accepted too;
* the first request with a key runs; its response, **whatever its status** (a 201, a 409 problem, a
  422 of a body that failed validation, a 500), is stored with its status, the headers that matter
  (:data:`~lendcore.api.idempotency_store.STORED_HEADERS`) and its body, keyed by (principal, method
  and route template, key) with a fingerprint of the request (method, path, query, canonical JSON
  body), before the client receives it;
* a retry with the same key and request gets the stored response verbatim, with
  ``Idempotent-Replayed: true``; the endpoint does not run;
* the same key with a different request: 422 ``IDEMPOTENCY_KEY_REUSED``;
* while the first is still running: 409 ``IDEMPOTENCY_KEY_IN_PROGRESS`` (retry later).

The dependency claims the key (a committed row); :class:`IdempotencyMiddleware` captures the response
and stores it. A body that is not JSON at all is refused (422) before any dependency runs, so such a
request is not remembered; a retry gets the same refusal. Keys are kept; expiring old ones is an
operational job (``api_idempotency.created_at``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lendcore.api.auth import CurrentPrincipal
from lendcore.api.errors import BadRequestError
from lendcore.api.idempotency_store import Claim, StoredResponse, claim, complete, request_fingerprint
from lendcore.api.problems import internal_error_body, problem_response
from lendcore.api.state import AppState, StateDep

log = logging.getLogger("lendcore.api.idempotency")

HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
MAX_KEY_LENGTH: Final = 128
_SCOPE_KEY: Final = "lendcore.idempotency"
_BARE: Final = re.compile(r"^[A-Za-z0-9._:~+/=-]{1,128}$")
_SF_STRING: Final = re.compile(r'^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$')


def parse_key(header: str) -> str:
    """The key of an ``Idempotency-Key`` value (sf-string or bare token); ``INVALID_IDEMPOTENCY_KEY``."""
    value = header.strip()
    match = _SF_STRING.match(value)
    key = re.sub(r"\\([\"\\])", r"\1", match[1]) if match else (value if _BARE.match(value) else None)
    if key is None or not key or len(key) > MAX_KEY_LENGTH:
        raise BadRequestError(
            f'an {HEADER} is a quoted string of 1-{MAX_KEY_LENGTH} printable ASCII characters, e.g. "3f9c…"',
            code="INVALID_IDEMPOTENCY_KEY",
        )
    return key


@dataclass(slots=True)
class _Pending:
    claimed: Claim | None = None


class ReplayStoredResponse(Exception):  # noqa: N818 (a control-flow signal, not an error)
    """Raised by the dependency to answer with a stored response (handled in the exception table)."""

    def __init__(self, stored: StoredResponse) -> None:
        super().__init__("replay")
        self.stored = stored


async def replay_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ReplayStoredResponse)
    stored = exc.stored
    response = Response(content=stored.body, status_code=stored.status)
    for name, value in stored.headers:
        response.headers.append(name, value)
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _route_of(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


async def idempotency_key(
    request: Request,
    principal: CurrentPrincipal,
    state: StateDep,
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description="required: a unique value per operation, e.g. "
            '"8e03978e-40d5-43e8-bc93-6894a57f9324"; retries carry the same one',
        ),
    ] = None,
) -> str:
    """The dependency of every money-moving endpoint (see the module docstring); returns the key."""
    pending = request.scope.get(_SCOPE_KEY)
    if not isinstance(pending, _Pending):  # pragma: no cover - create_app installs the middleware
        raise RuntimeError("IdempotencyMiddleware is not installed")
    if key is None:
        raise BadRequestError(
            f"a money-moving request needs an {HEADER} header", code="IDEMPOTENCY_KEY_REQUIRED"
        )
    parsed = parse_key(key)
    body = await request.body()
    fingerprint = request_fingerprint(
        request.method, request.url.path, request.url.query, body, key=state.settings.fingerprint_key
    )
    outcome = await run_in_threadpool(
        claim,
        state.database.session_factory,
        principal=principal.key,
        route=_route_of(request),
        key=parsed,
        request_hash=fingerprint,
        now=state.clock(),
        stale_after=state.settings.idempotency_stale_after,
    )
    if isinstance(outcome, StoredResponse):
        raise ReplayStoredResponse(outcome)
    pending.claimed = outcome
    return parsed


IdempotencyKeyDep = Annotated[str, Depends(idempotency_key)]


class IdempotencyMiddleware:
    """Stores the response of a request whose key the dependency claimed, before sending it."""

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        pending = scope[_SCOPE_KEY] = _Pending()
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []
        sent = False

        async def capture(message: Message) -> None:
            nonlocal start, sent
            if pending.claimed is None:
                await send(message)
                return
            if message["type"] == "http.response.start":
                start = dict(message)
                return
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and start is not None:
                    await self._store(pending.claimed, start, b"".join(chunks))
                    sent = True
                    await send(start)
                    await send({"type": "http.response.body", "body": b"".join(chunks)})
                return
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except Exception:
            if pending.claimed is not None and not sent:  # the catch-all answers this very 500
                answer = problem_response(Request(scope), 500, internal_error_body())
                await self._store(
                    pending.claimed, {"status": 500, "headers": answer.raw_headers}, bytes(answer.body)
                )
            raise

    async def _store(self, claimed: Claim, start: dict[str, Any], body: bytes) -> None:
        headers = [
            (bytes(k).decode("latin-1"), bytes(v).decode("latin-1")) for k, v in start.get("headers", [])
        ]
        try:
            await run_in_threadpool(
                complete,
                self.state.database.session_factory,
                claimed,
                status=int(start["status"]),
                headers=headers,
                body=body,
                now=self.state.clock(),
            )
        except Exception:  # the client still gets its answer; the key stays in progress until stale
            log.exception("could not store the response of an idempotent request")
