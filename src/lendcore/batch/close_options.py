"""How a daily close runs (:class:`CloseOptions`) and the per-step timer of its report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Final

from lendcore.batch.close_partitions import DEFAULT_PARTITION, Progress
from lendcore.core.errors import ValidationError
from lendcore.core.replay_sampling import DEFAULT_REPLAY_SAMPLE, MAX_SAMPLE, check_replay_sample_size

__all__ = [
    "DEFAULT_CHUNK",
    "DEFAULT_ENGINE",
    "DEFAULT_REPLAY_SAMPLE",
    "ENGINES",
    "MAX_SAMPLE",
    "CloseOptions",
    "Timer",
    "check_replay_sample_size",
    "replay_seed",
]

#: Event contracts folded per transaction.
DEFAULT_CHUNK: Final = 500
#: ``aggregate``: quiet contracts accrued in aggregate, event contracts folded (the new close);
#: ``per-contract``: every active contract folded every night (the close before issue 12, the oracle).
ENGINES: Final = ("aggregate", "per-contract")
DEFAULT_ENGINE: Final = "aggregate"


def replay_seed(business_date: date) -> int:
    """The sample's seed: the business date, so a date's close picks the same contracts on the same
    book (a mismatch can be checked again)."""
    return business_date.toordinal()


@dataclass(frozen=True, slots=True)
class CloseOptions:
    """How to run a close: the engine (``aggregate``: quiet contracts in aggregate, events folded;
    ``per-contract``: every contract folded, today's close and the oracle), chunk and partition sizes,
    worker processes for the partitions, the replay check (``verify_replay``: every contract;
    else ``replay_sample`` active contracts picked by the date, 0 for none), and a progress callback."""

    engine: str = DEFAULT_ENGINE
    chunk_size: int = DEFAULT_CHUNK
    partition: int = DEFAULT_PARTITION
    workers: int = 1
    verify_replay: bool = False
    replay_sample: int = DEFAULT_REPLAY_SAMPLE
    progress: Progress | None = None
    #: overdue contracts to which only time happens join the quiet path (penalty in aggregate, DPD by
    #: one UPDATE per partition: lendcore.core.quiet_overdue); off by default: their receivable
    #: mirrors (penalty_receivable) then stay as of their snapshot, as quiet contracts' interest does
    quiet_overdue: bool = False

    def validate(self) -> None:
        if self.engine not in ENGINES:
            raise ValidationError(
                f"unknown close engine {self.engine!r} (one of {', '.join(ENGINES)})", code="INVALID_ARGUMENT"
            )
        if self.chunk_size < 1 or self.partition < 1 or self.workers < 1:
            raise ValidationError(
                "the chunk size, partition size and workers must be at least 1", code="INVALID_ARGUMENT"
            )
        check_replay_sample_size(self.replay_sample)

    @property
    def sample_size(self) -> int:
        """Contracts to replay after the invariant check: none when the check replays them all."""
        return 0 if self.verify_replay else self.replay_sample


class Timer:
    """Per-step wall-clock seconds of one run (the report's ``steps``)."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.steps[step] = self.steps.get(step, 0.0) + now - self._last
        self._last = now
