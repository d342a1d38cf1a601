"""The notification provider over HTTP: the simulated provider as a real loopback service
(``lendcore notify-sim``) and :class:`HttpSink`, the sink that speaks to it (or to any provider
speaking the same wire format), as ``payments/sim`` and ``payments/http_channel.py`` do for channels.

Wire format (JSON; instants ISO 8601 UTC)::

    POST /v1/messages          {"message_id", "channel", "address", "text"}
        202 {"message_id", "provider_message_id", "state": "sent"}      503 when down
    GET  /v1/messages/{id}     200 {"message_id", "state", "at", "failure_code", "provider_message_id"}
    GET  /v1/receipts          200 [the receipts pushed since the last call]
    GET  /health               200 {"status": "ok", "seed", "messages"}

``HttpSink(base_url, transport=…)`` maps a refused connection, a connect timeout and a 503 to
:class:`~lendcore.notify.sinks.SinkUnavailableError` (it did not arrive) and a read timeout or any
other failure after sending to :class:`~lendcore.notify.sinks.SinkTimeoutError` (it may have).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from lendcore.notify.simulated import SimulatedProvider
from lendcore.notify.sinks import (
    DeliveryReport,
    OutboundMessage,
    SendResult,
    SinkTimeoutError,
    SinkUnavailableError,
)


class _MessageIn(BaseModel):
    message_id: str
    channel: str
    address: str
    text: str


def _report_json(report: DeliveryReport) -> dict[str, Any]:
    return {
        "message_id": report.message_id, "state": report.state,
        "at": report.at.isoformat() if report.at else None, "failure_code": report.failure_code,
        "provider_message_id": report.provider_message_id,
    }  # fmt: skip


def _report(data: dict[str, Any]) -> DeliveryReport:
    at = data.get("at")
    return DeliveryReport(
        str(data["message_id"]), data["state"], datetime.fromisoformat(at) if at else None,
        data.get("failure_code"), data.get("provider_message_id"),
    )  # fmt: skip


def provider_app(provider: SimulatedProvider) -> FastAPI:
    """The simulated provider as an ASGI app (``lendcore notify-sim`` serves it on loopback)."""
    app = FastAPI(title="lendcore notification provider simulator", docs_url=None, redoc_url=None)

    @app.post("/v1/messages", status_code=202)
    def send(body: _MessageIn) -> Any:
        if provider.down:
            return JSONResponse({"code": "PROVIDER_UNAVAILABLE"}, status_code=503)
        result = provider.send(OutboundMessage(body.message_id, body.channel, body.address, body.text))
        return {"message_id": result.message_id, "provider_message_id": result.provider_message_id,
                "state": result.state}  # fmt: skip

    @app.get("/v1/messages/{message_id}")
    def status(message_id: str) -> dict[str, Any]:
        return _report_json(provider.status(message_id))

    @app.get("/v1/receipts")
    def receipts() -> list[dict[str, Any]]:
        return [_report_json(r) for r in provider.receipts()]

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "seed": provider.seed, "messages": len(provider.accepted)}

    return app


@dataclass
class HttpSink:
    """A :class:`~lendcore.notify.sinks.NotificationSink` over HTTP (see the module docstring)."""

    base_url: str
    timeout: float = 5.0
    transport: httpx.BaseTransport | None = None
    name: str = "http"
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url, timeout=self.timeout, transport=self.transport
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http().request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise SinkUnavailableError(f"the provider is unreachable: {error}") from None
        except httpx.HTTPError as error:
            raise SinkTimeoutError(f"no answer from the provider: {error}") from None
        if response.status_code == 503:
            raise SinkUnavailableError("the provider is unavailable (503)")
        if response.is_error:
            raise SinkTimeoutError(f"the provider answered {response.status_code}")
        return response

    def send(self, message: OutboundMessage) -> SendResult:
        body = {"message_id": message.message_id, "channel": message.channel, "address": message.address,
                "text": message.text}  # fmt: skip
        data = self._call("POST", "/v1/messages", json=body).json()
        return SendResult(message.message_id, data.get("provider_message_id"), data["state"])

    def status(self, message_id: str) -> DeliveryReport:
        return _report(self._call("GET", f"/v1/messages/{message_id}").json())

    def receipts(self) -> list[DeliveryReport]:
        return [_report(item) for item in self._call("GET", "/v1/receipts").json()]
