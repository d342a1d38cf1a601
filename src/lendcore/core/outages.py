"""Channel outages (pure): from what the channel answered, when it was down.

The rule (:func:`outage_spans`). The input is every call to the channel in time order, each either
*unavailable* (the instruction certainly did not arrive: connection refused, 503) or *ok* (any answer
from the channel: it is alive, even if it refused the payment). Calls whose outcome says nothing
about the channel being up (a timeout) are not in the input.

* A *run* is a maximal sequence of consecutive unavailable calls (no ok call between them).
* A run is an **outage** when it has at least ``min_failures`` calls (default 3) spread over at least
  ``min_span`` (default 5 minutes) from its first to its last call: one blip, or a burst of retries
  within a minute, is not an outage.
* The outage starts at the run's first call and ends at the first ok call after the run (``ended_at``);
  with no ok call yet it is still open (``ended_at`` None).

So an outage never contains an ok call, and the outages of a sequence split at an ok call (that call
kept at the end of the first part) are the outages of the two parts, concatenated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from lendcore.core.errors import ValidationError


@dataclass(frozen=True, slots=True)
class ChannelOutcome:
    """One call to the channel: ``ok`` False when the channel was unavailable."""

    at: datetime
    ok: bool


@dataclass(frozen=True, slots=True)
class OutageRule:
    """The thresholds that make a run of failures an outage (see the module docstring)."""

    min_failures: int = 3
    min_span: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        if self.min_failures < 1 or self.min_span < timedelta(0):
            raise ValidationError(
                "an outage needs at least one failure and a non-negative span",
                code="OUTAGE_RULE_INVALID",
            )


DEFAULT_RULE: Final = OutageRule()


@dataclass(frozen=True, slots=True)
class OutageSpan:
    started_at: datetime  # the run's first unavailable call
    last_failure_at: datetime  # its last one
    failures: int
    ended_at: datetime | None = None  # the first ok call after the run; None while still down


def outage_spans(outcomes: Iterable[ChannelOutcome], rule: OutageRule = DEFAULT_RULE) -> list[OutageSpan]:
    """The outages in ``outcomes`` (time-ordered: ``OUTCOMES_UNORDERED`` otherwise), in order."""
    spans: list[OutageSpan] = []
    run: list[datetime] = []
    previous: datetime | None = None
    for outcome in outcomes:
        if previous is not None and outcome.at < previous:
            raise ValidationError(
                f"channel outcomes must be in time order ({outcome.at} after {previous})",
                code="OUTCOMES_UNORDERED",
            )
        previous = outcome.at
        if not outcome.ok:
            run.append(outcome.at)
            continue
        _close_run(spans, run, rule, outcome.at)
        run = []
    _close_run(spans, run, rule, None)
    return spans


def _close_run(
    spans: list[OutageSpan], run: Sequence[datetime], rule: OutageRule, ended_at: datetime | None
) -> None:
    if len(run) >= max(rule.min_failures, 1) and run[-1] - run[0] >= rule.min_span:
        spans.append(OutageSpan(run[0], run[-1], len(run), ended_at))
