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


# --- what an observation does to a payment (decide) ----------------------------------------------
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lendcore.payments.state import TERMINAL, Verdict, decide, path  # noqa: E402

CHANNEL_STATES = [PaymentState.PROCESSING, PaymentState.SUCCEEDED, PaymentState.FAILED, PaymentState.REVERSED]


def test_a_callback_for_the_state_the_payment_is_in_is_a_duplicate_and_changes_nothing() -> None:
    for state in PaymentState:
        assert decide(state, state) == (Verdict.DUPLICATE, None)


def test_a_processing_callback_after_the_final_one_is_stale() -> None:
    for terminal in TERMINAL:
        assert decide(terminal, PaymentState.PROCESSING) == (Verdict.STALE, None)
    assert decide(PaymentState.REVERSED, PaymentState.SUCCEEDED) == (Verdict.STALE, None)


def test_a_late_success_after_we_marked_failed_is_a_discrepancy_never_a_flip() -> None:
    assert decide(PaymentState.FAILED, PaymentState.SUCCEEDED) == (
        Verdict.DISCREPANCY,
        "late_success_after_failure",
    )
    assert decide(PaymentState.SUCCEEDED, PaymentState.FAILED) == (
        Verdict.DISCREPANCY,
        "failure_after_success",
    )


def test_a_success_callback_that_overtakes_our_record_of_the_submit_goes_through_processing() -> None:
    assert decide(PaymentState.CREATED, PaymentState.SUCCEEDED) == (Verdict.APPLY, None)
    assert path(PaymentState.CREATED, PaymentState.SUCCEEDED) == (
        PaymentState.PROCESSING,
        PaymentState.SUCCEEDED,
    )
    assert path(PaymentState.CREATED, PaymentState.FAILED) == (PaymentState.FAILED,)
    assert path(PaymentState.FAILED, PaymentState.SUCCEEDED) == ()


@given(st.lists(st.sampled_from(CHANNEL_STATES), max_size=12))
def test_whatever_order_observations_arrive_in_a_terminal_state_never_moves_backwards(
    observed: list[PaymentState],
) -> None:
    """Fold any sequence of observations through decide/path: every applied step is an allowed edge,
    each state is entered at most once, and once terminal only succeeded → reversed can follow."""
    state = PaymentState.CREATED
    entered: list[PaymentState] = []
    for observation in observed:
        verdict, _ = decide(state, observation)
        if verdict is Verdict.APPLY:
            for step in path(state, observation):
                assert step in ALLOWED[state]
                entered.append(step)
                state = step
    assert len(entered) == len(set(entered))
    if PaymentState.FAILED in entered:
        assert state is PaymentState.FAILED
    if PaymentState.SUCCEEDED in entered:
        assert state in (PaymentState.SUCCEEDED, PaymentState.REVERSED)
