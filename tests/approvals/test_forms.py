"""The proposal forms are data (:mod:`lendcore.approvals.forms`): every declared field is one the
kind's own payload check accepts, what a person types becomes the payload that check reads, and a
kind without a form is proposed with a JSON payload."""

from __future__ import annotations

import pytest

from lendcore.approvals.forms import FORMS, JSON_FIELD, describe, form_of, payload_of
from lendcore.approvals.kinds import KINDS
from lendcore.core.errors import ValidationError

#: What a person might type in each field type (yuan for amounts).
TYPED = {"fen": "1234.56", "count": "3", "text": "B", "date": "2026-03-20"}


def _typed(kind: str) -> dict[str, str]:
    return {f"p_{f.name}": f.choices[0] if f.type == "choice" else TYPED[f.type] for f in form_of(kind)}


@pytest.mark.parametrize("kind", sorted(FORMS))
def test_a_filled_form_is_a_payload_the_kind_accepts(kind: str) -> None:
    payload = payload_of(form_of(kind), _typed(kind))
    assert set(payload) == {f.name for f in form_of(kind)}
    checked = KINDS[kind].check_payload(payload)
    for field in form_of(kind):
        if field.type == "fen":
            assert checked[field.name] == 123456  # yuan typed, fen proposed
        else:
            assert checked[field.name] == payload[field.name]


@pytest.mark.parametrize("kind", sorted(FORMS))
def test_optional_fields_left_empty_are_null_and_required_ones_are_left_out(kind: str) -> None:
    payload = payload_of(form_of(kind), {})
    for field in form_of(kind):
        if field.required:
            assert field.name not in payload
        else:
            assert payload[field.name] is None


def test_every_kind_but_one_added_without_a_form_has_its_fields() -> None:
    assert set(FORMS) <= set(KINDS)
    assert form_of("a-kind-added-later") == (JSON_FIELD,)
    assert payload_of((JSON_FIELD,), {"p_payload": '{"months": 6}'}) == {"months": 6}
    with pytest.raises(ValidationError) as refused:
        payload_of((JSON_FIELD,), {"p_payload": "[1, 2]"})
    assert refused.value.code == "INVALID_PROPOSAL_PAYLOAD"


@pytest.mark.parametrize("typed", ["abc", "1.234", "-5", "0"])
def test_an_amount_that_is_not_money_is_refused(typed: str) -> None:
    with pytest.raises(ValidationError) as refused:
        payload_of(form_of("limit-override"), {"p_new_limit": typed})
    assert refused.value.code in {"INVALID_AMOUNT", "NEGATIVE_AMOUNT", "ZERO_AMOUNT"}


@pytest.mark.parametrize("typed", ["three", "2.5", "-1", "３"])
def test_a_count_that_is_not_a_whole_number_is_refused_naming_its_field(typed: str) -> None:
    with pytest.raises(ValidationError) as refused:
        payload_of(form_of("hardship-plan"), {"p_kind": "extension", "p_periods": typed})
    assert (refused.value.code, refused.value.details.get("field")) == ("INVALID_PROPOSAL_PAYLOAD", "periods")


def test_the_queue_describes_a_payload_with_amounts_as_money() -> None:
    assert describe("waive", {"kind": "penalty", "amount": 1000}) == "kind: penalty · amount: ¥10.00"
    assert describe("waive", {"kind": "fee", "amount": None}) == "kind: fee"
    assert describe("decision-override", {"outcome": "declined"}) == "outcome: declined"
