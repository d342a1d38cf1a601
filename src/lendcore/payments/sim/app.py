"""The channel simulator as an HTTP service (FastAPI), speaking :mod:`lendcore.payments.wire`.

Run it with ``lendcore channel-sim``. Requests go to a
:class:`~lendcore.payments.sim.engine.ChannelSimulation`; a background task delivers its callbacks,
signed (:func:`lendcore.payments.callbacks.sign`) with every configured secret, to the instruction's
``callback_url`` (or ``--callback-url``). A callback the receiver does not acknowledge with a 2xx is
redelivered with backoff, up to ``max_redeliveries`` times, as real channels do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from lendcore.payments.callbacks import sign
from lendcore.payments.sim.engine import ChannelSimulation, Delivery, Reply, instant
from lendcore.payments.statement import write_statement

log = logging.getLogger("lendcore.channel_sim")

DELIVERY_POLL_SECONDS = 0.02
CALLBACK_TIMEOUT_SECONDS = 5.0


async def _answer(reply: Reply) -> Response:
    if reply.delay > 0:
        await asyncio.sleep(reply.delay)  # a slow or hung channel, as the fault spec says
    return JSONResponse(reply.body, status_code=reply.status)


async def deliver(
    simulation: ChannelSimulation,
    client: httpx.AsyncClient,
    delivery: Delivery,
    secrets: Sequence[str],
    max_redeliveries: int,
) -> bool:
    """POST one signed callback; on failure queue it again (backoff 1, 2, 4 … s). Whether acked."""
    now = simulation.clock()
    body = delivery.body
    headers = {"Content-Type": "application/json", **sign(list(secrets), body, instant(now))}
    try:
        response = await client.post(delivery.url, content=body, headers=headers)
        if 200 <= response.status_code < 300:
            return True
        reason = f"HTTP {response.status_code}"
    except httpx.HTTPError as error:
        reason = f"{error.__class__.__name__}"
    if delivery.attempt < max_redeliveries:
        simulation.redeliver(delivery, now + min(2.0**delivery.attempt, 60.0))
    log.warning("callback %s to %s not acknowledged (%s)", delivery.callback.event_id, delivery.url, reason)
    return False


def create_app(
    simulation: ChannelSimulation,
    *,
    secrets: Sequence[str] = (),
    callback_url: str | None = None,
    max_redeliveries: int = 5,
    deliver_callbacks: bool = True,
) -> FastAPI:
    lifespan = _callback_lifespan(simulation, secrets, max_redeliveries, deliver_callbacks)
    app = FastAPI(title="lendcore channel simulator", lifespan=lifespan)
    _add_routes(app, simulation, callback_url)
    return app


def _callback_lifespan(
    simulation: ChannelSimulation, secrets: Sequence[str], max_redeliveries: int, deliver_callbacks: bool
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """The app's lifespan: while it runs, a background task delivers due callbacks (only when signing
    secrets are configured: an unsigned callback would be refused anyway)."""

    async def _delivery_loop() -> None:
        async with httpx.AsyncClient(timeout=CALLBACK_TIMEOUT_SECONDS) as client:
            while True:
                for delivery in simulation.due_callbacks():
                    await deliver(simulation, client, delivery, secrets, max_redeliveries)
                await asyncio.sleep(DELIVERY_POLL_SECONDS)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = None
        if deliver_callbacks and secrets:
            task = asyncio.create_task(_delivery_loop())
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan


def _add_routes(app: FastAPI, simulation: ChannelSimulation, callback_url: str | None) -> None:
    """The channel's wire API: health, submit, query and the daily statement."""

    @app.get("/health")
    async def health() -> dict[str, object]:
        return {
            "status": "ok",
            "seed": simulation.seed,
            "faults": simulation.faults.text,
            "requests": simulation.requests,
        }

    @app.post("/v1/payments")
    async def submit(request: Request) -> Response:
        try:
            data = await request.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return JSONResponse(
                {"code": "INVALID_INSTRUCTION", "message": "the body is not a JSON object"}, 422
            )
        if not data.get("callback_url") and callback_url:
            data["callback_url"] = callback_url
        return await _answer(simulation.submit(data))

    @app.get("/v1/payments/{payment_id}")
    async def query(payment_id: str) -> Response:
        return await _answer(simulation.query(payment_id))

    @app.get("/v1/statements/{day}")
    async def statement(day: str) -> Response:
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            return JSONResponse({"code": "INVALID_DATE", "message": f"bad date {day!r}"}, 422)
        return PlainTextResponse(write_statement(simulation.statement(parsed)), media_type="text/csv")
