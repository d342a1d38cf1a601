"""The application form is validated at the edge: every field has a range or a set of allowed values,
and a bad field is refused with its own code (``INVALID_<FIELD>``) that names it; nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import ValidationError
from lendcore.core.money import MAX_AMOUNT
from lendcore.origination.applications import FORM_FIELDS, default_form, parse_form
from lendcore.risk.features import (
    FIELD_BOUNDS,
    MAX_MONTHLY_INCOME,
    AccountStanding,
    Housing,
    LoanPurpose,
    MaritalStatus,
    Occupation,
    OtherInstallments,
    PropertyKind,
)
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, CreditLine, IdempotencyKey
from lendcore.store.models_origination import CreditApplication, CreditDecision

from .helpers import apply, register

ENUM_FIELDS: dict[str, Any] = {
    "purpose": LoanPurpose,
    "account_standing": AccountStanding,
    "occupation": Occupation,
    "housing": Housing,
    "property": PropertyKind,
    "other_installment_plans": OtherInstallments,
    "marital_status": MaritalStatus,
}


def _parse(**overrides: Any) -> Any:
    return parse_form(default_form(**overrides), application_id="app_x", product_code="quick")


def test_every_form_field_has_a_range_or_allowed_values() -> None:
    assert set(FORM_FIELDS) == set(FIELD_BOUNDS) | set(ENUM_FIELDS)


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("employment_years", -5, "INVALID_EMPLOYMENT_YEARS"),
        ("employment_years", 61, "INVALID_EMPLOYMENT_YEARS"),
        ("monthly_income", 10**20, "INVALID_MONTHLY_INCOME"),
        ("monthly_income", -1, "INVALID_MONTHLY_INCOME"),
        ("monthly_income", MAX_MONTHLY_INCOME + 1, "INVALID_MONTHLY_INCOME"),
        ("monthly_debt_payments", -100, "INVALID_MONTHLY_DEBT_PAYMENTS"),
        ("savings", MAX_AMOUNT + 1, "INVALID_SAVINGS"),
        ("savings", -1, "INVALID_SAVINGS"),
        ("requested_amount", 0, "INVALID_REQUESTED_AMOUNT"),
        ("requested_amount", 10**40, "INVALID_REQUESTED_AMOUNT"),
        ("term_months", 0, "INVALID_TERM_MONTHS"),
        ("years_at_address", 1000, "INVALID_YEARS_AT_ADDRESS"),
        ("dependents", -1, "INVALID_DEPENDENTS"),
        ("dependents", 21, "INVALID_DEPENDENTS"),
        ("monthly_income", "lots", "INVALID_MONTHLY_INCOME"),
        ("monthly_income", 12.5, "INVALID_MONTHLY_INCOME"),
        ("term_months", True, "INVALID_TERM_MONTHS"),
        ("requested_amount", None, "INVALID_REQUESTED_AMOUNT"),
        ("purpose", "yacht", "INVALID_PURPOSE"),
        ("housing", "castle", "INVALID_HOUSING"),
        ("housing", 1, "INVALID_HOUSING"),
        ("marital_status", "complicated", "INVALID_MARITAL_STATUS"),
    ],
)
def test_a_bad_field_is_refused_with_its_own_code_naming_it(field: str, value: Any, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _parse(**{field: value})
    assert caught.value.code == code
    assert caught.value.message.startswith(f"{field}: ")
    assert caught.value.details["errors"] == [
        {"field": field, "code": code, "message": caught.value.message[len(field) + 2 :]}
    ]


@pytest.mark.parametrize(("field", "kind"), list(ENUM_FIELDS.items()))
def test_an_enum_field_error_lists_the_allowed_values(field: str, kind: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        _parse(**{field: "not-a-value"})
    assert all(member.value in caught.value.message for member in kind)


def test_several_bad_fields_are_refused_together_as_invalid_form() -> None:
    with pytest.raises(ValidationError) as caught:
        _parse(employment_years=-5, housing="castle", colour="blue")
    assert caught.value.code == "INVALID_FORM"
    assert {(e["field"], e["code"]) for e in caught.value.details["errors"]} == {
        ("employment_years", "INVALID_EMPLOYMENT_YEARS"),
        ("housing", "INVALID_HOUSING"),
        ("colour", "UNKNOWN_FIELD"),
    }


def test_a_missing_required_field_is_named() -> None:
    form = default_form()
    del form["monthly_income"]
    with pytest.raises(ValidationError) as caught:
        parse_form(form, application_id="app_x", product_code="quick")
    assert caught.value.code == "FIELD_REQUIRED" and "monthly_income" in caught.value.message


def _field_values(name: str) -> st.SearchStrategy[Any]:
    junk = st.one_of(
        st.none(), st.booleans(), st.floats(), st.text(max_size=8), st.lists(st.integers(), max_size=2)
    )
    if name in ENUM_FIELDS:
        return st.one_of(st.sampled_from([m.value for m in ENUM_FIELDS[name]]), junk)
    low, high = FIELD_BOUNDS[name]
    return st.one_of(st.integers(low, high), st.integers(-(10**25), 10**25), junk)


_forms = st.fixed_dictionaries({}, optional={name: _field_values(name) for name in FORM_FIELDS})


@given(_forms)
def test_a_form_is_an_application_within_every_bound_or_refused_field_by_field(form: dict[str, Any]) -> None:
    try:
        application = parse_form(form, application_id="app_x", product_code="quick")
    except ValidationError as error:
        bad = {e["field"]: e["code"] for e in error.details["errors"]}
        assert bad, error
        assert error.code == (next(iter(bad.values())) if len(bad) == 1 else "INVALID_FORM")
        for field, code in bad.items():
            assert code in (f"INVALID_{field.upper()}", "FIELD_REQUIRED")
    else:
        for name, (low, high) in FIELD_BOUNDS.items():
            value = getattr(application, name)
            assert value is None or (type(value) is int and low <= value <= high), name
        for name, kind in ENUM_FIELDS.items():
            value = getattr(application, name)
            assert value is None or isinstance(value, kind), name


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


STORED = (CreditApplication, CreditDecision, CreditLine, AuditRecord, IdempotencyKey)


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"employment_years": -5}, "INVALID_EMPLOYMENT_YEARS"),
        ({"monthly_income": 10**20}, "INVALID_MONTHLY_INCOME"),
        ({"savings": 10**19}, "INVALID_SAVINGS"),
        ({"housing": "castle"}, "INVALID_HOUSING"),
        ({"term_months": 24}, "TERM_NOT_ALLOWED"),
        ({"requested_amount": 60_000_00}, "AMOUNT_OUT_OF_RANGE"),
        ({"colour": "blue"}, "UNKNOWN_FIELD"),
    ],
)
def test_a_refused_application_stores_nothing(
    session_factory: sessionmaker[Session], form: dict[str, Any], code: str
) -> None:
    with unit_of_work(session_factory) as session:
        customer_id = register(session).id
    with unit_of_work(session_factory, read_only=True) as session:
        before = {m.__name__: _count(session, m) for m in STORED}
    with pytest.raises(ValidationError) as caught, unit_of_work(session_factory) as session:
        apply(session, customer_id, **form)
    assert caught.value.code == code
    with unit_of_work(session_factory, read_only=True) as session:
        assert {m.__name__: _count(session, m) for m in STORED} == before
