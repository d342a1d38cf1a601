"""Money, ids and dates at the edge: integers of fen within the bounds, prefixed ids, ISO dates."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError as PydanticError

from lendcore.api.types import ApiModel, ContractId, IsoDate, Money, NonNegativeFen, PositiveFen
from lendcore.core.money import MAX_AMOUNT, format_fen
from lendcore.store.ids import new_id


class Amounts(ApiModel):
    amount: PositiveFen
    fee: NonNegativeFen = 0


class Refs(ApiModel):
    contract: ContractId
    on: IsoDate


def _codes(payload: object) -> dict[str, str]:
    try:
        Amounts.model_validate_json(
            payload if isinstance(payload, str) else __import__("json").dumps(payload)
        )
    except PydanticError as error:
        return {".".join(map(str, e["loc"])): e["type"] for e in error.errors()}
    return {}


@given(st.integers(min_value=-(10**20), max_value=10**20))
def test_a_positive_amount_is_an_integer_of_fen_from_1_to_the_maximum(fen: int) -> None:
    codes = _codes({"amount": fen})
    if 1 <= fen <= MAX_AMOUNT:
        assert codes == {}
    else:
        assert codes == {"amount": "AMOUNT_TOO_LARGE" if fen > MAX_AMOUNT else "AMOUNT_NOT_POSITIVE"}


@pytest.mark.parametrize("not_an_integer", ["100", 100.0, 1.5, True, None, [1], {"fen": 1}])
def test_an_amount_that_is_not_an_integer_is_refused(not_an_integer: object) -> None:
    assert _codes({"amount": not_an_integer}) == {"amount": "AMOUNT_NOT_POSITIVE"}


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_a_non_negative_amount_allows_zero_and_nothing_below(fen: int) -> None:
    codes = _codes({"amount": 1, "fee": fen})
    if 0 <= fen <= MAX_AMOUNT:
        assert codes == {}
    else:
        assert codes == {"fee": "AMOUNT_TOO_LARGE" if fen > MAX_AMOUNT else "INVALID_AMOUNT"}


def test_the_json_schema_states_the_bounds() -> None:
    schema = Amounts.model_json_schema()["properties"]["amount"]
    assert (schema["type"], schema["minimum"], schema["maximum"]) == ("integer", 1, MAX_AMOUNT)


@given(st.integers(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT))
def test_money_in_a_response_is_fen_with_its_display_text(fen: int) -> None:
    money = Money.of(fen)
    assert money.model_dump() == {"fen": fen, "display": format_fen(fen)}


def test_money_display_example() -> None:
    assert Money.of(123456).model_dump() == {"fen": 123456, "display": "¥1,234.56"}


def test_ids_are_checked_with_their_prefix() -> None:
    good = new_id("ln")
    assert Refs(contract=good, on="2026-03-20").contract == good
    for bad in (new_id("cus"), "ln_short", good.lower(), good + "0", 42):
        with pytest.raises(PydanticError) as caught:
            Refs(contract=bad, on="2026-03-20")  # type: ignore[arg-type]
        assert caught.value.errors()[0]["type"] == "INVALID_ID"
    assert Refs.model_json_schema()["properties"]["contract"]["pattern"].startswith("^ln_")


@pytest.mark.parametrize("text", ["2026-02-30", "20260320", "2026-3-20", "2026-03-20T00:00:00", "", 20260320])
def test_a_date_is_an_iso_calendar_date(text: object) -> None:
    with pytest.raises(PydanticError) as caught:
        Refs(contract=new_id("ln"), on=text)  # type: ignore[arg-type]
    assert caught.value.errors()[0]["type"] == "INVALID_DATE"


def test_a_date_round_trips_as_iso_text() -> None:
    refs = Refs(contract=new_id("ln"), on="2026-03-20")
    assert refs.on == date(2026, 3, 20)
    assert '"on":"2026-03-20"' in refs.model_dump_json()
