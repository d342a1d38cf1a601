"""How many contracts the daily close replays against their stored snapshots (issue 12: replay stays
the oracle of the snapshot a repayment books on). Pure: the CLI reads these bounds without loading the
database layer."""

from __future__ import annotations

from typing import Any, Final

from lendcore.core.errors import ValidationError

#: More probes than that are pointless (each is one index seek and one replay).
MAX_SAMPLE: Final = 10_000
#: Active contracts the close replays each night; 0 turns the sample off.
DEFAULT_REPLAY_SAMPLE: Final = 50


def check_replay_sample_size(value: Any) -> int:
    """A close's replay sample: a whole number 0 (off) to :data:`MAX_SAMPLE`, else ``INVALID_ARGUMENT``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SAMPLE:
        raise ValidationError(
            f"the replay sample is a whole number of contracts, 0 (off) to {MAX_SAMPLE:,}",
            code="INVALID_ARGUMENT",
        )
    return value
