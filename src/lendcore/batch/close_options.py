"""How a daily close runs (:class:`CloseOptions`) and the per-step timer of its report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

from lendcore.batch.close_partitions import DEFAULT_PARTITION, Progress
from lendcore.core.errors import ValidationError

__all__ = ["DEFAULT_CHUNK", "DEFAULT_ENGINE", "ENGINES", "CloseOptions", "Timer"]

#: Event contracts folded per transaction.
DEFAULT_CHUNK: Final = 500
#: ``aggregate``: quiet contracts accrued in aggregate, event contracts folded (the new close);
#: ``per-contract``: every active contract folded every night (the close before issue 12, the oracle).
ENGINES: Final = ("aggregate", "per-contract")
DEFAULT_ENGINE: Final = "aggregate"


@dataclass(frozen=True, slots=True)
class CloseOptions:
    """How to run a close: the engine (``aggregate``: quiet contracts in aggregate, events folded;
    ``per-contract``: every contract folded, today's close and the oracle), chunk and partition sizes,
    worker processes for the partitions, the replay check, and a progress callback."""

    engine: str = DEFAULT_ENGINE
    chunk_size: int = DEFAULT_CHUNK
    partition: int = DEFAULT_PARTITION
    workers: int = 1
    verify_replay: bool = False
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


class Timer:
    """Per-step wall-clock seconds of one run (the report's ``steps``)."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.steps[step] = self.steps.get(step, 0.0) + now - self._last
        self._last = now
