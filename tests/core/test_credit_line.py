"""Available limit (可用额度): limit − outstanding principal − pending drawdowns, 0 unless active."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.credit_line import LineStatus, LineUsage, available_limit

fen = st.integers(0, 10**10)


@given(fen, fen, fen)
def test_an_active_line_lends_its_limit_less_what_is_outstanding_and_pending(
    limit: int, outstanding: int, pending: int
) -> None:
    available = available_limit(limit, LineStatus.ACTIVE, LineUsage(outstanding, pending))
    assert available == max(0, limit - outstanding - pending)
    assert available >= 0


@given(fen, fen, fen, st.sampled_from([LineStatus.FROZEN, LineStatus.CLOSED]))
def test_a_frozen_or_closed_line_lends_nothing(
    limit: int, outstanding: int, pending: int, status: str
) -> None:
    assert available_limit(limit, status, LineUsage(outstanding, pending)) == 0


def test_pending_drawdowns_hold_the_limit() -> None:
    assert available_limit(1_000_000, "active", LineUsage(300_000, 200_000)) == 500_000
