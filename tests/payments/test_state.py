"""The payment state machine moves only along its edges."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lendcore.core.errors import BusinessRuleError, NotFoundError
from lendcore.payments.channel import PaymentInstruction
from lendcore.payments.simulator import InstantSimulator
from lendcore.payments.state import ALLOWED, PaymentDirection, PaymentState, transition

AT = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (PaymentState.CREATED, PaymentState.PROCESSING),
        (PaymentState.CREATED, PaymentState.FAILED),
        (PaymentState.PROCESSING, PaymentState.SUCCEEDED),
        (PaymentState.PROCESSING, PaymentState.FAILED),
        (PaymentState.SUCCEEDED, PaymentState.REVERSED),
    ],
)
def test_the_lifecycle_edges_are_allowed(current: PaymentState, target: PaymentState) -> None:
    assert transition(current, target) is target


def test_every_other_edge_is_refused_with_a_stable_code() -> None:
    for current in PaymentState:
        for target in PaymentState:
            if target == current or target in ALLOWED[current]:
                continue
            with pytest.raises(BusinessRuleError) as caught:
                transition(current, target)
            assert caught.value.code == "PAYMENT_STATE_INVALID"


def test_repeating_the_current_state_is_a_no_op_so_retried_callbacks_are_harmless() -> None:
    assert transition(PaymentState.SUCCEEDED, PaymentState.SUCCEEDED) is PaymentState.SUCCEEDED


def test_failed_and_reversed_are_final() -> None:
    assert not ALLOWED[PaymentState.FAILED]
    assert not ALLOWED[PaymentState.REVERSED]


def test_the_simulator_confirms_at_once_and_answers_queries_with_the_same_result() -> None:
    channel = InstantSimulator()
    instruction = PaymentInstruction("pay_1", PaymentDirection.INBOUND, 10_000, "card_tok_1")
    result = channel.submit(instruction, AT)
    assert result.state is PaymentState.SUCCEEDED
    assert result.settled_at == AT
    assert channel.query("pay_1", AT) == result
    assert channel.submit(instruction, AT).channel_reference == result.channel_reference


def test_the_simulator_declines_a_fail_token_and_knows_nothing_of_unsent_payments() -> None:
    channel = InstantSimulator()
    declined = channel.submit(
        PaymentInstruction("pay_2", PaymentDirection.OUTBOUND, 500, "fail:insufficient funds"), AT
    )
    assert declined.state is PaymentState.FAILED
    assert declined.failure_reason == "insufficient funds"
    with pytest.raises(NotFoundError):
        channel.query("pay_unknown", AT)
