"""A channel outage is a run of at least 3 unavailable calls over at least 5 minutes with no answer
between them; it starts at the run's first call and ends at the next answer (open while none)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.errors import ValidationError
from lendcore.core.outages import ChannelOutcome, OutageRule, OutageSpan, outage_spans

T0 = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)


def seq(*items: tuple[int, bool]) -> list[ChannelOutcome]:
    """(minutes after T0, ok) pairs."""
    return [ChannelOutcome(T0 + timedelta(minutes=m), ok) for m, ok in items]


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_failures_over_ten_minutes_are_one_outage_ended_by_the_next_answer() -> None:
    outcomes = seq((0, True), (1, False), (4, False), (8, False), (11, False), (12, True), (13, False))
    assert outage_spans(outcomes) == [OutageSpan(at(1), at(11), 4, at(12))]


def test_an_outage_with_no_answer_yet_is_open() -> None:
    assert outage_spans(seq((0, False), (3, False), (6, False))) == [OutageSpan(at(0), at(6), 3, None)]


@pytest.mark.parametrize(
    "outcomes",
    [
        seq((0, False)),  # one blip
        seq((0, False), (1, False), (2, False), (3, False)),  # a burst inside five minutes
        seq((0, False), (10, False)),  # two failures are not enough
        seq((0, False), (3, False), (4, True), (6, False), (9, False)),  # an answer in between
        seq((0, True), (5, True)),
        [],
    ],
)
def test_short_or_sparse_or_interrupted_failures_are_no_outage(outcomes: list[ChannelOutcome]) -> None:
    assert outage_spans(outcomes) == []


def test_exactly_the_thresholds_make_an_outage() -> None:
    assert outage_spans(seq((0, False), (2, False), (5, False))) == [OutageSpan(at(0), at(5), 3)]
    rule = OutageRule(min_failures=1, min_span=timedelta(0))
    assert outage_spans(seq((0, False), (1, True)), rule) == [OutageSpan(at(0), at(0), 1, at(1))]


def test_outcomes_out_of_order_and_a_nonsense_rule_are_refused() -> None:
    with pytest.raises(ValidationError) as unordered:
        outage_spans(seq((5, False), (1, False)))
    assert unordered.value.code == "OUTCOMES_UNORDERED"
    with pytest.raises(ValidationError) as rule:
        OutageRule(min_failures=0)
    assert rule.value.code == "OUTAGE_RULE_INVALID"


# a time-ordered sequence: gaps of 1..4 minutes, each call ok or not
sequences = st.lists(st.tuples(st.integers(1, 4), st.booleans()), max_size=40).map(
    lambda steps: [
        ChannelOutcome(T0 + timedelta(minutes=sum(g for g, _ in steps[: i + 1])), ok)
        for i, (_, ok) in enumerate(steps)
    ]
)


@given(sequences)
def test_every_outage_is_bounded_exactly_as_the_rule_says(outcomes: list[ChannelOutcome]) -> None:
    rule = OutageRule()
    for span in outage_spans(outcomes, rule):
        inside = [o for o in outcomes if span.started_at <= o.at <= span.last_failure_at]
        first = outcomes.index(next(o for o in outcomes if o.at == span.started_at and not o.ok))
        run = outcomes[first : first + span.failures]
        assert all(not o.ok for o in run) and all(not o.ok for o in inside)  # no answer inside
        assert (run[0].at, run[-1].at) == (span.started_at, span.last_failure_at)
        assert span.failures >= rule.min_failures
        assert span.last_failure_at - span.started_at >= rule.min_span
        assert first == 0 or outcomes[first - 1].ok  # it starts at the run's first failure
        after = outcomes[first + span.failures :]
        assert span.ended_at == (after[0].at if after else None)  # ended by the next answer
        assert not after or after[0].ok


@given(sequences)
def test_no_qualifying_run_gives_no_outage(outcomes: list[ChannelOutcome]) -> None:
    runs: list[list[ChannelOutcome]] = [[]]
    for o in outcomes:
        if o.ok:
            runs.append([])
        else:
            runs[-1].append(o)
    qualifying = [r for r in runs if len(r) >= 3 and r[-1].at - r[0].at >= timedelta(minutes=5)]
    assert len(outage_spans(outcomes)) == len(qualifying)


@given(sequences, st.integers(0, 40))
def test_splitting_at_an_answer_and_concatenating_equals_the_whole(
    outcomes: list[ChannelOutcome], where: int
) -> None:
    answers = [i for i, o in enumerate(outcomes) if o.ok]
    if not answers:
        return
    cut = answers[where % len(answers)] + 1  # the answer ends the first part
    assert outage_spans(outcomes[:cut]) + outage_spans(outcomes[cut:]) == outage_spans(outcomes)
