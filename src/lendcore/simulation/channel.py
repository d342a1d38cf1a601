"""The channel simulator's engine behind the real HTTP adapter, on a simulated clock.

:func:`simulated_channel` is an :class:`~lendcore.payments.http_channel.HttpChannel` whose transport is
an ``httpx.MockTransport`` that answers from a :class:`~lendcore.payments.sim.engine.ChannelSimulation`
in process: the adapter's whole translation (503 → unavailable, 404 → unknown, 4xx → rejected, no
answer in time → timeout) runs as it does against ``lendcore channel-sim``. A reply the engine would
give only after ``timeout`` seconds (a hung or slow channel) is a read timeout, at once: simulated time
does not wait, and the instruction has arrived all the same, exactly as with a real hung channel.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

import httpx

from lendcore.payments.http_channel import DEFAULT_TIMEOUT, HttpChannel
from lendcore.payments.sim.engine import ChannelSimulation, Delivery, Reply

CALLBACK_URL = "sim://lendcore/callbacks"  # the engine only queues callbacks for an instruction naming one


@dataclass
class SimClock:
    """Seconds since the epoch, moved only by the simulation."""

    now: float
    moves: int = field(default=0)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("simulated time does not go back")
        self.now += seconds
        self.moves += 1


class OrderedChannelSimulation(ChannelSimulation):
    """The engine, with each payment's fate keyed by the order in which the channel first saw it
    instead of by its id: our ids are random (ULIDs), so keyed by id two runs of one seed would meet
    different faults. The order is the world's, which the seed fixes."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._ordinals: dict[str, int] = {}

    def _rng(self, *parts: object) -> random.Random:
        keyed = tuple(
            f"payment#{self._ordinals.setdefault(p, len(self._ordinals))}"
            if isinstance(p, str) and p.startswith("pay_")
            else p
            for p in parts
        )
        return super()._rng(*keyed)

    def due_callbacks(self, now: float | None = None) -> list[Delivery]:
        """As the engine's, but a channel that is down sends no callbacks either: they wait."""
        at = self.clock() if now is None else now
        if self.faults.in_outage(at - self.started):
            return []
        return super().due_callbacks(at)


def _route(engine: ChannelSimulation, request: httpx.Request) -> Reply:
    path = request.url.path
    if request.method == "POST" and path == "/v1/payments":
        try:
            data = json.loads(request.content)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return Reply(422, {"code": "INVALID_INSTRUCTION", "message": "the body is not a JSON object"})
        return engine.submit(data)
    if request.method == "GET" and path.startswith("/v1/payments/"):
        return engine.query(path.rsplit("/", 1)[1])
    return Reply(404, {"code": "NOT_FOUND", "message": f"no route {request.method} {path}"})


def simulated_channel(engine: ChannelSimulation, *, timeout: float = DEFAULT_TIMEOUT) -> HttpChannel:
    """The real HTTP adapter talking to ``engine`` (see the module docstring)."""

    def handle(request: httpx.Request) -> httpx.Response:
        reply = _route(engine, request)
        if reply.delay > timeout:
            raise httpx.ReadTimeout("simulated: no answer in time", request=request)
        return httpx.Response(reply.status, json=reply.body)

    return HttpChannel(
        "http://channel.sim",
        callback_url=CALLBACK_URL,
        timeout=timeout,
        transport=httpx.MockTransport(handle),
        name="simulator",
    )
