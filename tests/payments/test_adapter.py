"""The channel adapter: sync and async twins, a handler-driven double, and the HTTP adapter's mapping
of every transport failure to what it tells us about the instruction."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime

import httpx
import pytest

from lendcore.payments.adapter import (
    Accepted,
    AsyncHandlerChannel,
    ChannelCall,
    ChannelError,
    ChannelRejectedError,
    ChannelStatus,
    ChannelTimeoutError,
    ChannelUnavailableError,
    HandlerChannel,
    PaymentUnknownToChannelError,
    is_retryable,
)
from lendcore.payments.channel import PaymentInstruction
from lendcore.payments.http_channel import AsyncHttpChannel, HttpChannel
from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.payments.statement import Statement, StatementRow, write_statement

AT = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
INSTRUCTION = PaymentInstruction("pay_1", PaymentDirection.INBOUND, 10_000, "card_tok_1")


def answer(call: ChannelCall) -> Accepted | ChannelStatus:
    if call.operation == "submit":
        return Accepted(call.payment_id, "ref_1", accepted_at=AT)
    return ChannelStatus(call.payment_id, "ref_1", PaymentState.SUCCEEDED, 10_000, settled_at=AT)


def test_a_handler_channel_answers_from_its_handler_and_records_every_call() -> None:
    with HandlerChannel(answer) as channel:
        assert channel.submit(INSTRUCTION) == Accepted("pay_1", "ref_1", accepted_at=AT)
        assert channel.query("pay_1").state is PaymentState.SUCCEEDED
    assert [(c.operation, c.payment_id) for c in channel.calls] == [("submit", "pay_1"), ("query", "pay_1")]
    assert channel.calls[0].instruction == INSTRUCTION


def test_the_async_twin_takes_a_sync_or_an_async_handler() -> None:
    async def async_answer(call: ChannelCall) -> Accepted | ChannelStatus:
        return answer(call)

    async def scenario() -> tuple[Accepted, Accepted]:
        async with (
            AsyncHandlerChannel(answer) as sync_handled,
            AsyncHandlerChannel(async_answer) as async_handled,
        ):
            return await sync_handled.submit(INSTRUCTION), await async_handled.submit(INSTRUCTION)

    first, second = asyncio.run(scenario())
    assert first == second == Accepted("pay_1", "ref_1", accepted_at=AT)


def test_a_handler_acts_out_faults_by_raising_and_a_wrong_answer_type_is_a_bug() -> None:
    def timeout(_call: ChannelCall) -> Accepted:
        raise ChannelTimeoutError("no answer")

    with pytest.raises(ChannelTimeoutError):
        HandlerChannel(timeout).submit(INSTRUCTION)
    with pytest.raises(TypeError):
        HandlerChannel(lambda call: Accepted("pay_1", "r")).query("pay_1")


def test_only_failures_that_may_pass_by_themselves_are_retryable() -> None:
    assert is_retryable("INSUFFICIENT_FUNDS") and is_retryable("BANK_MAINTENANCE")
    assert not is_retryable("CARD_FROZEN") and not is_retryable("LIMIT_EXCEEDED")
    assert not is_retryable("SOMETHING_NEW") and not is_retryable(None)
    frozen = ChannelStatus("pay_1", "r", PaymentState.FAILED, 1, failure_code="CARD_FROZEN")
    assert not frozen.retryable


# --- the HTTP adapter ---------------------------------------------------------------------------


def channel_answering(handler: object) -> HttpChannel:
    return HttpChannel(
        "http://channel.test", callback_url="http://us.test/cb", transport=httpx.MockTransport(handler)
    )  # type: ignore[arg-type]


def test_the_http_adapter_speaks_the_wire_format() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            return httpx.Response(
                202, json={"payment_id": "pay_1", "channel_reference": "ref_1", "state": "processing",
                           "accepted_at": "2026-11-22T01:30:00Z"},
            )  # fmt: skip
        status = {"payment_id": "pay_1", "channel_reference": "ref_1", "state": "failed", "amount": 10_000}
        return httpx.Response(
            200, json={**status, "settled_at": "2026-11-22T01:31:00Z", "failure_code": "CARD_FROZEN"}
        )

    with channel_answering(handler) as channel:
        accepted = channel.submit(INSTRUCTION)
        status = channel.query("pay_1")
    assert accepted == Accepted("pay_1", "ref_1", PaymentState.PROCESSING, AT)
    assert status.state is PaymentState.FAILED and status.failure_code == "CARD_FROZEN"
    sent = json.loads(seen[0].content)
    assert sent == {"payment_id": "pay_1", "direction": "inbound", "amount": 10_000,
                    "account_token": "card_tok_1", "callback_url": "http://us.test/cb"}  # fmt: skip
    assert seen[1].url.path == "/v1/payments/pay_1"


@pytest.mark.parametrize(
    ("response_or_error", "expected", "may_have_arrived"),
    [
        (httpx.ConnectError("refused"), ChannelUnavailableError, False),
        (httpx.ConnectTimeout("slow to connect"), ChannelUnavailableError, False),
        (httpx.ReadTimeout("no answer"), ChannelTimeoutError, True),
        (httpx.RemoteProtocolError("dropped"), ChannelTimeoutError, True),
        (httpx.Response(503, json={"code": "BANK_MAINTENANCE"}), ChannelUnavailableError, False),
        (httpx.Response(500), ChannelTimeoutError, True),
        (
            httpx.Response(422, json={"code": "INVALID_INSTRUCTION", "message": "bad"}),
            ChannelRejectedError,
            False,
        ),
        (
            httpx.Response(404, json={"code": "PAYMENT_UNKNOWN_TO_CHANNEL"}),
            PaymentUnknownToChannelError,
            False,
        ),
    ],
)
def test_every_transport_failure_says_whether_the_instruction_may_have_arrived(
    response_or_error: httpx.Response | Exception, expected: type[ChannelError], may_have_arrived: bool
) -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        if isinstance(response_or_error, Exception):
            raise response_or_error
        return response_or_error

    with channel_answering(handler) as channel, pytest.raises(expected) as caught:
        channel.submit(INSTRUCTION)
    assert caught.value.may_have_arrived is may_have_arrived


def test_a_rejection_carries_the_channels_code() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"code": "INVALID_INSTRUCTION", "message": "amount"})

    with channel_answering(handler) as channel, pytest.raises(ChannelRejectedError) as caught:
        channel.submit(INSTRUCTION)
    assert caught.value.code == "INVALID_INSTRUCTION"


def test_a_garbled_acceptance_is_treated_as_a_timeout_the_instruction_may_have_arrived() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(202, json={"payment_id": "pay_1"})

    with channel_answering(handler) as channel, pytest.raises(ChannelTimeoutError):
        channel.submit(INSTRUCTION)


def test_the_statement_is_fetched_and_parsed() -> None:
    row = StatementRow("ref_1", "pay_1", PaymentDirection.INBOUND, 10_000, PaymentState.SUCCEEDED, AT)
    text = write_statement(Statement("simulator", date(2026, 11, 22), (row,)))

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/statements/2026-11-22"
        return httpx.Response(200, text=text)

    with channel_answering(handler) as channel:
        assert channel.statement(date(2026, 11, 22)).rows == (row,)


def test_the_async_http_adapter_maps_the_same_way() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            raise httpx.ReadTimeout("no answer")
        return httpx.Response(
            202, json={"payment_id": "pay_1", "channel_reference": "ref_1", "state": "processing"}
        )

    async def scenario() -> Accepted:
        async with AsyncHttpChannel("http://channel.test", transport=httpx.MockTransport(handler)) as channel:
            with pytest.raises(ChannelTimeoutError):
                await channel.query("pay_1")
            return await channel.submit(INSTRUCTION)

    assert asyncio.run(scenario()).channel_reference == "ref_1"
