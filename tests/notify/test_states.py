"""A message's state never moves back from a final state, whatever order reports arrive in (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lendcore.notify.delivery import FINAL, next_state

REPORTS = st.sampled_from(["sent", "delivered", "failed"])
STATES = st.sampled_from(["queued", "sent", "delivered", "failed", "unconfirmed"])


@given(start=STATES, reports=st.lists(REPORTS, max_size=12))
def test_final_states_are_final_and_the_first_definitive_answer_wins(start: str, reports: list[str]) -> None:
    state = start
    for reported in reports:
        state = next_state(state, reported) or state
    if start in FINAL:
        assert state == start
    elif any(r in FINAL for r in reports):
        assert state == next(r for r in reports if r in FINAL)
    elif start == "unconfirmed":
        assert state == "unconfirmed"  # "still sent" news does not undo the deadline
    else:
        assert state in ("queued", "sent")
