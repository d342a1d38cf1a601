"""A typed record's JSON form reads back as the same value (what an idempotent retry returns)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.allocation import Bucket
from lendcore.core.records import JsonRecord, from_json, to_json
from lendcore.queries.payoff import PayoffQuote
from lendcore.servicing.repay import RepayResult


@dataclass(frozen=True, slots=True)
class _Inner(JsonRecord):
    on: date
    bucket: Bucket
    rate: Decimal


@dataclass(frozen=True, slots=True)
class _Outer(JsonRecord):
    at: datetime
    inner: _Inner | None
    many: tuple[_Inner, ...]
    by_name: dict[str, int]
    note: str | None = None


decimals = st.decimals(allow_nan=False, allow_infinity=False, places=6)


@given(
    st.builds(
        _Outer,
        inner=st.none() | st.builds(_Inner, rate=decimals),
        many=st.lists(st.builds(_Inner, rate=decimals)).map(tuple),
    )
)
def test_every_supported_field_kind_round_trips_through_json_text(record: _Outer) -> None:
    text = json.dumps(record.to_json())  # plain JSON: what the idempotency table stores
    assert _Outer.from_json(json.loads(text)) == record


@given(st.from_type(RepayResult))
def test_a_repayment_result_replays_as_the_same_typed_value(result: RepayResult) -> None:
    assert from_json(RepayResult, json.loads(json.dumps(to_json(result)))) == result


@given(st.from_type(PayoffQuote))
def test_a_payoff_quote_round_trips(quote: PayoffQuote) -> None:
    assert PayoffQuote.from_json(quote.to_json()) == quote
