"""The channel adapter: how lendcore talks to an asynchronous payment channel.

Modelled on httpx's transports (``httpx/_transports/base.py``: a sync ``BaseTransport`` and an async
``AsyncBaseTransport`` twin with the same one method, closed as context managers; and
``_transports/mock.py``: a ``MockTransport(handler)`` that answers from a plain function, sync or
async). Here the one method is two: ``submit`` and ``query``.

* ``submit(instruction) -> Accepted``: hands the channel an instruction carrying lendcore's payment id
  (the merchant order number). The channel answers at once that it has *accepted* it, usually still
  ``processing``; the outcome comes later by callback, query or statement. Submitting the same payment
  id again must return the same acceptance (channels dedupe merchant order numbers), which is what
  makes a retried submit safe. **Never call it inside a database transaction**: the caller commits the
  payment record first, so a crash after the channel took the money leaves a record to resolve.
* ``query(payment_id) -> ChannelStatus``: the channel's current view of a payment, by *our* id: after a
  submit that timed out we do not know the channel's reference, but we always know our own.
* ``statement(day) -> Statement``: the channel's daily statement file, parsed (reconciliation).
* Failures are :class:`ChannelError` subclasses that say what we know: :class:`ChannelUnavailableError`
  (the instruction certainly did not arrive: safe to retry), :class:`ChannelTimeoutError` (it may have
  arrived: the payment is ``processing`` and must be queried), :class:`ChannelRejectedError` (the channel
  refused it: a definite failure), :class:`PaymentUnknownToChannelError` (a query for an id the channel
  never received).

:class:`HandlerChannel` is the test double: a handler function decides every answer.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Final, Literal, Self, TypeVar

from lendcore.core.errors import LendcoreError
from lendcore.core.money import Fen
from lendcore.payments.channel import PaymentInstruction
from lendcore.payments.state import PaymentState

if TYPE_CHECKING:  # the statement's parser imports the wire format, which imports this module
    from lendcore.payments.statement import Statement

#: Failure codes a channel reports, and whether the *same* instruction may succeed if simply tried
#: again later (nobody changing anything): funds may arrive, maintenance ends; a frozen card or a card
#: limit needs the customer (or another card, or a smaller amount) first.
FAILURE_CODES: Final[dict[str, bool]] = {
    "INSUFFICIENT_FUNDS": True,
    "BANK_MAINTENANCE": True,
    "CARD_FROZEN": False,
    "LIMIT_EXCEEDED": False,
}


def is_retryable(failure_code: str | None) -> bool:
    """Whether a failure with this code may succeed if retried later; unknown codes are not."""
    return FAILURE_CODES.get(failure_code or "", False)


@dataclass(frozen=True, slots=True)
class Accepted:
    """The channel took the instruction. ``state`` is usually ``processing``; a channel that settles
    synchronously may answer ``succeeded`` or ``failed`` at once."""

    payment_id: str
    channel_reference: str
    state: PaymentState = PaymentState.PROCESSING
    accepted_at: datetime | None = None
    failure_code: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """The channel's view of one payment (the answer to a query)."""

    payment_id: str
    channel_reference: str
    state: PaymentState
    amount: Fen
    settled_at: datetime | None = None
    failure_code: str | None = None

    @property
    def retryable(self) -> bool:
        return self.state is PaymentState.FAILED and is_retryable(self.failure_code)


class ChannelError(LendcoreError):
    """A call to the channel that did not give an answer about the payment."""

    default_code = "CHANNEL_ERROR"
    http_status = 502
    #: Whether the instruction may have reached the channel (then: query, never assume failure).
    may_have_arrived: ClassVar[bool] = True


class ChannelUnavailableError(ChannelError):
    """Connection refused, 503, an outage: the instruction did not arrive. Safe to retry."""

    default_code = "CHANNEL_UNAVAILABLE"
    may_have_arrived = False


class ChannelTimeoutError(ChannelError):
    """No answer in time. The instruction may have arrived: the payment must be queried."""

    default_code = "CHANNEL_TIMEOUT"


class ChannelRejectedError(ChannelError):
    """The channel refused the instruction (a definite failure, with the channel's code)."""

    default_code = "CHANNEL_REJECTED"
    may_have_arrived = False


class PaymentUnknownToChannelError(ChannelError):
    """A query for a payment id the channel never received."""

    default_code = "PAYMENT_UNKNOWN_TO_CHANNEL"
    http_status = 404
    may_have_arrived = False


class ChannelAdapter:
    """A synchronous channel (subclass and implement ``submit`` and ``query``)."""

    name: str = "channel"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self.close()

    def submit(self, instruction: PaymentInstruction) -> Accepted:
        raise NotImplementedError  # pragma: no cover

    def query(self, payment_id: str) -> ChannelStatus:
        raise NotImplementedError  # pragma: no cover

    def statement(self, day: date) -> Statement:
        """The channel's statement file of ``day`` (Asia/Shanghai), parsed (what reconciliation reads;
        a channel without statement files cannot be reconciled)."""
        raise NotImplementedError(f"the {self.name} channel publishes no statement")

    def close(self) -> None:
        """Release connections (nothing by default)."""


class AsyncChannelAdapter:
    """The asynchronous twin of :class:`ChannelAdapter`."""

    name: str = "channel"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()

    async def submit(self, instruction: PaymentInstruction) -> Accepted:
        raise NotImplementedError  # pragma: no cover

    async def query(self, payment_id: str) -> ChannelStatus:
        raise NotImplementedError  # pragma: no cover

    async def statement(self, day: date) -> Statement:
        """The async twin of :meth:`ChannelAdapter.statement`."""
        raise NotImplementedError(f"the {self.name} channel publishes no statement")

    async def aclose(self) -> None:
        """Release connections (nothing by default)."""


@dataclass(frozen=True, slots=True)
class ChannelCall:
    """What a :class:`HandlerChannel` handler is asked: a submit (with its instruction) or a query
    (with the payment id)."""

    operation: Literal["submit", "query"]
    payment_id: str
    instruction: PaymentInstruction | None = None


Answer = Accepted | ChannelStatus
Handler = Callable[[ChannelCall], Answer | Awaitable[Answer]]


class HandlerChannel(ChannelAdapter):
    """A channel whose every answer comes from ``handler(call)`` (like ``httpx.MockTransport``).

    The handler returns an :class:`Accepted` for a submit and a :class:`ChannelStatus` for a query,
    or raises a :class:`ChannelError` to act out a fault. ``calls`` records every call, in order.
    :class:`AsyncHandlerChannel` is the async twin, whose handler may also be an ``async`` function.
    """

    def __init__(self, handler: Handler, name: str = "handler") -> None:
        self.handler = handler
        self.name = name
        self.calls: list[ChannelCall] = []

    def _answer(self, call: ChannelCall) -> Answer:
        self.calls.append(call)
        answer = self.handler(call)
        if inspect.isawaitable(answer):
            raise TypeError("an async handler needs AsyncHandlerChannel")
        return answer

    def submit(self, instruction: PaymentInstruction) -> Accepted:
        return _expect(Accepted, self._answer(_submit_call(instruction)))

    def query(self, payment_id: str) -> ChannelStatus:
        return _expect(ChannelStatus, self._answer(ChannelCall("query", payment_id)))


class AsyncHandlerChannel(AsyncChannelAdapter):
    """The async twin of :class:`HandlerChannel`: the handler may be sync or ``async``."""

    def __init__(self, handler: Handler, name: str = "handler") -> None:
        self.handler = handler
        self.name = name
        self.calls: list[ChannelCall] = []

    async def _answer(self, call: ChannelCall) -> Answer:
        self.calls.append(call)
        answer = self.handler(call)
        if inspect.isawaitable(answer):  # a sync or an async handler, as httpx.MockTransport allows
            answer = await answer
        return answer

    async def submit(self, instruction: PaymentInstruction) -> Accepted:
        return _expect(Accepted, await self._answer(_submit_call(instruction)))

    async def query(self, payment_id: str) -> ChannelStatus:
        return _expect(ChannelStatus, await self._answer(ChannelCall("query", payment_id)))


def _submit_call(instruction: PaymentInstruction) -> ChannelCall:
    return ChannelCall("submit", instruction.payment_id, instruction)


_T = TypeVar("_T")


def _expect(kind: type[_T], answer: object) -> _T:
    if not isinstance(answer, kind):
        raise TypeError(f"the handler answered {type(answer).__name__}, expected {kind.__name__}")
    return answer
