"""The HTTP channel adapter (httpx), sync and async: speaks :mod:`lendcore.payments.wire` to the
channel simulator (``lendcore channel-sim``) or to a gateway that speaks the same.

Transport failures are mapped to what they tell us about the instruction:

* could not connect (refused, DNS, connect timeout), or 503 → :class:`ChannelUnavailableError`: it did not
  arrive, retry;
* connected but no answer in time (read/write timeout), a dropped connection, any other 5xx →
  :class:`ChannelTimeoutError`: it may have arrived, query;
* 422 / 400 → :class:`ChannelRejectedError` with the channel's code; 404 on a query →
  :class:`PaymentUnknownToChannelError`.

Pass ``transport=httpx.MockTransport(...)`` (or an ASGI transport) to test without a socket.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from typing import Any, Final, TypeVar

import httpx

from lendcore.core.errors import ValidationError
from lendcore.payments import wire
from lendcore.payments.adapter import (
    Accepted,
    AsyncChannelAdapter,
    ChannelAdapter,
    ChannelError,
    ChannelRejectedError,
    ChannelStatus,
    ChannelTimeoutError,
    ChannelUnavailableError,
    PaymentUnknownToChannelError,
)
from lendcore.payments.channel import PaymentInstruction
from lendcore.payments.statement import Statement, parse_statement

#: Where the deployment's channel listens (e.g. ``lendcore channel-sim``), and where it calls us back.
CHANNEL_URL_ENV: Final = "LENDCORE_CHANNEL_URL"
CALLBACK_URL_ENV: Final = "LENDCORE_CALLBACK_URL"
DEFAULT_TIMEOUT: Final = 5.0
_T = TypeVar("_T")


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    return data if isinstance(data, dict) else {}


def _check(response: httpx.Response) -> dict[str, Any]:
    data = _body(response)
    status = response.status_code
    code = str(data.get("code") or "")
    message = str(data.get("message") or response.reason_phrase or status)
    if status in (200, 201, 202):
        return data
    if status == 404:
        raise PaymentUnknownToChannelError(f"the channel does not know it: {message}")
    if status in (400, 409, 422):
        raise ChannelRejectedError(
            f"the channel refused the instruction: {message}", code=code or "CHANNEL_REJECTED"
        )
    if status == 503:
        raise ChannelUnavailableError(f"the channel is unavailable: {code or message}", channel_code=code)
    if status >= 500:
        raise ChannelTimeoutError(
            f"the channel failed with HTTP {status}: {message}", code="CHANNEL_SERVER_ERROR"
        )
    raise ChannelError(f"unexpected HTTP {status} from the channel: {message}")


def _decode(decoder: Callable[[dict[str, Any]], _T], data: dict[str, Any]) -> _T:
    """A 2xx answer we cannot read: the channel may have acted on the instruction, so it is a timeout
    (query it), never a failure."""
    try:
        return decoder(data)
    except ValidationError as error:
        raise ChannelTimeoutError(f"unreadable answer from the channel: {error.message}") from None


def _translate(error: httpx.HTTPError) -> ChannelError:
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return ChannelUnavailableError(f"cannot reach the channel: {error.__class__.__name__}: {error}")
    if isinstance(error, httpx.TimeoutException):
        return ChannelTimeoutError(f"no answer from the channel in time ({error.__class__.__name__})")
    return ChannelTimeoutError(f"the connection to the channel failed: {error.__class__.__name__}: {error}")


class HttpChannel(ChannelAdapter):
    """A channel over HTTP. ``callback_url`` is sent with every instruction (where to call back)."""

    def __init__(
        self,
        base_url: str,
        *,
        callback_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        name: str = "http",
    ) -> None:
        self.name = name
        self.callback_url = callback_url
        self.client = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.client.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            raise _translate(error) from error

    def submit(self, instruction: PaymentInstruction) -> Accepted:
        body = wire.instruction_to_json(instruction, self.callback_url)
        return _decode(wire.accepted_from_json, _check(self._call("POST", "/v1/payments", json=body)))

    def query(self, payment_id: str) -> ChannelStatus:
        return _decode(wire.status_from_json, _check(self._call("GET", f"/v1/payments/{payment_id}")))

    def statement(self, day: date) -> Statement:
        response = self._call("GET", f"/v1/statements/{day.isoformat()}")
        if response.status_code != 200:
            _check(response)
        return parse_statement(response.text)

    def close(self) -> None:
        self.client.close()


class AsyncHttpChannel(AsyncChannelAdapter):
    """The async twin of :class:`HttpChannel` (``httpx.AsyncClient``)."""

    def __init__(
        self,
        base_url: str,
        *,
        callback_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        name: str = "http",
    ) -> None:
        self.name = name
        self.callback_url = callback_url
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.client.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            raise _translate(error) from error

    async def submit(self, instruction: PaymentInstruction) -> Accepted:
        body = wire.instruction_to_json(instruction, self.callback_url)
        return _decode(wire.accepted_from_json, _check(await self._call("POST", "/v1/payments", json=body)))

    async def query(self, payment_id: str) -> ChannelStatus:
        return _decode(wire.status_from_json, _check(await self._call("GET", f"/v1/payments/{payment_id}")))

    async def statement(self, day: date) -> Statement:
        response = await self._call("GET", f"/v1/statements/{day.isoformat()}")
        if response.status_code != 200:
            _check(response)
        return parse_statement(response.text)

    async def aclose(self) -> None:
        await self.client.aclose()


def channel_from_env() -> HttpChannel | None:
    """The HTTP channel at ``LENDCORE_CHANNEL_URL`` (e.g. the simulator), or None."""
    url = os.environ.get(CHANNEL_URL_ENV, "").strip()
    if not url:
        return None
    return HttpChannel(url, callback_url=os.environ.get(CALLBACK_URL_ENV) or None, name="simulator")
