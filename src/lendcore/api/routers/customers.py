"""``/api/v1/customers``: onboarding (开户) and the signed-in customer's own record and consents.

* ``POST /customers`` registers a customer exactly as ``lendcore customer register`` does
  (:func:`lendcore.origination.onboarding.register_customer`: consents checked first, every field
  validated, duplicates refused by blind index, PII encrypted); no token is needed (the customer then
  signs in by phone and one-time code). A bad request lists every bad field by code, never a value.
* ``GET /customers/me``: the customer's record, every personal field masked
  (:func:`~lendcore.origination.onboarding.customer_view`).
* ``POST /customers/me/consents`` grants a consent (the latest published text if no version is named);
  ``DELETE /customers/me/consents/{kind}`` revokes the active grants of a kind.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from lendcore.api.auth import CurrentCustomer
from lendcore.api.problems import problem_responses
from lendcore.api.ratelimit import rate_limit
from lendcore.api.routers import API_PREFIX
from lendcore.api.routers.dated import dated_write
from lendcore.api.state import StateDep
from lendcore.api.types import ApiModel
from lendcore.core.consent import ConsentKind
from lendcore.core.errors import ValidationError
from lendcore.core.identity import CardInput, OnboardingRequest
from lendcore.origination.consent_texts import default_consent_texts
from lendcore.origination.onboarding import (
    ConsentGrant,
    ConsentGrantRequest,
    ConsentRevocation,
    customer_view,
    grant_consent,
    register_customer,
    revoke_consent,
)

router = APIRouter(prefix=API_PREFIX, tags=["customers"])

MAX_CARDS: Final = 5
Text = Annotated[str, Field(min_length=1, max_length=64)]
CardNumber = Annotated[str, Field(min_length=1, max_length=32)]


class ConsentBody(ApiModel):
    kind: ConsentKind
    text_version: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    scope: Annotated[str, Field(max_length=64)] = ""

    def grant(self) -> ConsentGrant:
        version = self.text_version or default_consent_texts().latest(self.kind).version
        return ConsentGrant(self.kind, version, self.scope)


class OnboardingBody(ApiModel):
    name: Text
    id_number: Annotated[str, Field(min_length=1, max_length=32)]
    phone: Annotated[str, Field(min_length=1, max_length=32)]
    cards: Annotated[tuple[CardNumber, ...], Field(max_length=MAX_CARDS)] = ()
    card_holder: Text | None = None
    consents: Annotated[tuple[ConsentBody, ...], Field(max_length=10)] = ()


class CardView(BaseModel):
    id: str
    number: str  # masked: first 6, last 4
    bank: str | None
    is_default: bool
    status: str


class ConsentView(BaseModel):
    kind: str
    text_version: str
    scope: str
    granted_at: datetime
    revoked_at: datetime | None


class CustomerLineView(BaseModel):
    id: str
    product_code: str
    credit_limit: int  # fen; the line itself is GET /lines/{id}
    pricing_grade: str
    status: str


class CustomerView(BaseModel):
    """Masked: name ``张*``, ID ``110***********1234``, phone ``138****5678``."""

    id: str
    name: str | None
    id_number: str | None
    phone: str | None
    status: str
    cards: list[CardView]
    consents: list[ConsentView]
    credit_lines: list[CustomerLineView]

    @classmethod
    def of(cls, view: dict[str, Any]) -> CustomerView:
        return cls.model_validate(view)


def _onboarding_refusal(error: ValidationError) -> ValidationError:
    errors = error.details.get("errors") if error.details else None
    if error.code != "ONBOARDING_INVALID" or not errors:
        return error
    return ValidationError("; ".join(f"body.{e['field']}: {e['code']}" for e in errors), code=error.code)


@router.post(
    "/customers",
    status_code=201,
    response_model=CustomerView,
    summary="Register a customer (onboarding) with cards and consents",
    dependencies=[Depends(rate_limit("registration"))],
    responses=problem_responses(409, 422, 429),
)
def onboard(body: OnboardingBody, state: StateDep, response: Response) -> CustomerView:
    request = OnboardingRequest(
        body.name,
        body.id_number,
        body.phone,
        tuple(CardInput(c, body.card_holder or body.name) for c in body.cards),
    )
    try:
        with dated_write(state) as (session, on):
            customer = register_customer(
                session,
                request,
                business_date=on,
                cipher=state.cipher,
                consents=tuple(c.grant() for c in body.consents),
                at=state.clock(),
            )
            view = CustomerView.of(customer_view(session, customer.id, state.cipher))
    except ValidationError as error:
        raise _onboarding_refusal(error) from None
    response.headers["Location"] = f"{API_PREFIX}/customers/me"
    return view


@router.get(
    "/customers/me",
    response_model=CustomerView,
    summary="The signed-in customer (personal data masked)",
    responses=problem_responses(401, 403, 404),
)
def me(principal: CurrentCustomer, state: StateDep) -> CustomerView:
    assert principal.customer_id is not None
    with state.database.read() as session:
        return CustomerView.of(customer_view(session, principal.customer_id, state.cipher))


@router.post(
    "/customers/me/consents",
    status_code=201,
    response_model=CustomerView,
    summary="Grant a consent",
    responses=problem_responses(401, 403, 404, 422),
)
def grant(body: ConsentBody, principal: CurrentCustomer, state: StateDep) -> CustomerView:
    assert principal.customer_id is not None
    g = body.grant()
    with state.database.write() as session:
        request = ConsentGrantRequest(principal.customer_id, g.kind, g.text_version, g.scope)
        grant_consent(session, request, at=state.clock())
        return CustomerView.of(customer_view(session, principal.customer_id, state.cipher))


@router.delete(
    "/customers/me/consents/{kind}",
    response_model=CustomerView,
    summary="Revoke the active grants of a consent",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def revoke(kind: ConsentKind, principal: CurrentCustomer, state: StateDep) -> CustomerView:
    assert principal.customer_id is not None
    with state.database.write() as session:
        revoke_consent(session, ConsentRevocation(principal.customer_id, kind), at=state.clock())
        return CustomerView.of(customer_view(session, principal.customer_id, state.cipher))
