"""The middleware every request passes (pure ASGI, outermost first):

1. :class:`SecureHeadersMiddleware`: on every response ``X-Content-Type-Options: nosniff``,
   ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer``, a strict ``Content-Security-Policy``
   (JSON: nothing may load; the docs page: only our own scripts and styles),
   ``Cache-Control: no-store`` on every ``/api/`` response and every response to a request with
   credentials (unless the endpoint set its own), and ``Strict-Transport-Security`` when configured.
2. :class:`RequestContextMiddleware`: the request id (a client's ``X-Request-ID`` if it looks like
   one, else a new one; echoed back), the request-size limit (413), one access-log line per request
   (method, route template, status, duration: no query string, no body), the latency histogram, and
   the catch-all: an exception no handler took is logged with the request id and answered with the
   generic 500 problem (:func:`lendcore.api.problems.internal_error_handler`).
"""

from __future__ import annotations

import logging
import time
from typing import Final

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lendcore import metrics
from lendcore.api.context import REQUEST_ID_HEADER, accept_request_id, reset_request_id, set_request_id
from lendcore.api.problems import internal_error_handler, problem_body, problem_response

access_log = logging.getLogger("lendcore.api.access")

JSON_CSP: Final = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class SecureHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts_max_age: int = 0, docs_prefix: str = "/docs") -> None:
        self.app = app
        self.hsts = f"max-age={hsts_max_age}; includeSubDomains" if hsts_max_age > 0 else None
        self.docs_prefix = docs_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        request_headers = Headers(scope=scope)
        private = (
            path.startswith("/api/") or "authorization" in request_headers or "cookie" in request_headers
        )
        csp = DOCS_CSP if path == self.docs_prefix or path.startswith(self.docs_prefix + "/") else JSON_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Content-Security-Policy", csp)
                if private:
                    headers.setdefault("Cache-Control", "no-store")
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", self.hsts)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestTooLargeError(Exception):
    pass


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accept_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        token = set_request_id(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        received = 0

        async def receive_bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise RequestTooLargeError
            return message

        try:
            declared = Headers(scope=scope).get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                raise RequestTooLargeError
            await self.app(scope, receive_bounded, send_with_id)
        except Exception as exc:
            if response_started:  # nothing else can be sent now; the server closes the connection
                access_log.error("failed after the response started", exc_info=exc)
                raise
            request = Request(scope)
            response: Response
            if isinstance(exc, RequestTooLargeError):
                detail = f"the request body is larger than {self.max_body_bytes} bytes"
                response = problem_response(request, 413, problem_body(413, "REQUEST_TOO_LARGE", detail))
            else:
                response = await internal_error_handler(request, exc)
            await response(scope, receive, send_with_id)
        finally:
            self._observe(scope, status, time.perf_counter() - started)
            reset_request_id(token)

    @staticmethod
    def _observe(scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "<unmatched>"
        method = scope.get("method", "GET") if scope.get("method") in _METHODS else "OTHER"
        metrics.HTTP_REQUEST_DURATION.labels(
            route=template, method=method, status=metrics.status_class(status)
        ).observe(seconds)
        access_log.info(
            "%s %s %s",
            method,
            template,
            status,
            extra={
                "method": method,
                "route": template,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
            },
        )
