"""``/api/v1/me/cards``: the signed-in customer binds another debit card, lists and unbinds cards
(:mod:`lendcore.origination.cards`: the checks, their codes and the consent rule).

* ``POST /me/cards`` (``Idempotency-Key``): 201 with the card, masked, and ``Location``; a retry
  replays the first answer, the same key with another number is 422 ``IDEMPOTENCY_KEY_REUSED``.
* ``GET /me/cards``: the active cards, paginated by id.
* ``DELETE /me/cards/{card_id}``: 200 with the card (``unbound``); another customer's card is 404
  ``CARD_NOT_FOUND``; a card an active autopay mandate debits is 409 ``CARD_HAS_ACTIVE_MANDATE``.

The card number is never echoed: not in a response, not in a problem, not in a log line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from lendcore.api.auth import CurrentCustomer
from lendcore.api.idempotency import IdempotencyKeyDep
from lendcore.api.pagination import Page, PageRequest, page_request, paginate
from lendcore.api.problems import problem_responses
from lendcore.api.routers import API_PREFIX
from lendcore.api.state import StateDep
from lendcore.api.types import ApiModel, IdOf
from lendcore.origination.cards import BindCardRequest, CardView, bind_card, unbind_card
from lendcore.store.models import BankCard

router = APIRouter(prefix=f"{API_PREFIX}/me/cards", tags=["customers"])

CardId = Annotated[str, IdOf("card")]


class BindCardBody(ApiModel):
    number: Annotated[str, Field(min_length=1, max_length=32, description="the card number as printed")]
    holder_name: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="the name on the card (it must be the customer's); omitted: theirs"
    )
    make_default: bool = Field(default=False, description="pay drawdowns out to this card from now on")


class CardOut(BaseModel):
    """A bound card, masked: ``622202*********0123``."""

    id: str
    number: str
    bank: str
    last4: str
    is_default: bool
    status: str
    created_at: datetime

    @classmethod
    def of(cls, view: CardView) -> CardOut:
        return cls.model_validate(view.to_json())


@router.post(
    "",
    status_code=201,
    response_model=CardOut,
    summary="Bind another debit card (needs the sensitive personal information consent)",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def bind(
    body: BindCardBody,
    principal: CurrentCustomer,
    state: StateDep,
    _key: IdempotencyKeyDep,
    response: Response,
) -> CardOut:
    assert principal.customer_id is not None
    request = BindCardRequest(principal.customer_id, body.number, body.holder_name, body.make_default)
    with state.database.write() as session:
        view = bind_card(session, request, cipher=state.cipher, at=state.clock())
    response.headers["Location"] = f"{API_PREFIX}/me/cards/{view.id}"
    return CardOut.of(view)


@router.get(
    "",
    response_model=Page[CardOut],
    summary="The customer's active cards (masked), by id",
    responses=problem_responses(401, 403, 422),
)
def list_my_cards(
    principal: CurrentCustomer, state: StateDep, page: Annotated[PageRequest, Depends(page_request)]
) -> Page[CardOut]:
    statement = select(BankCard).where(
        BankCard.customer_id == principal.customer_id, BankCard.status == "active"
    )
    with state.database.read() as session:
        return paginate(
            session, statement, key=BankCard.id, page=page,
            to_item=lambda row: CardOut.of(CardView.of(row, state.cipher)),
            list_name=f"cards:{principal.customer_id}",
        )  # fmt: skip


@router.delete(
    "/{card_id}",
    response_model=CardOut,
    summary="Unbind a card (not the last one, nor one an active autopay mandate debits)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def unbind(card_id: CardId, principal: CurrentCustomer, state: StateDep) -> CardOut:
    assert principal.customer_id is not None
    with state.database.write() as session:
        view = unbind_card(session, principal.customer_id, card_id, cipher=state.cipher, at=state.clock())
    return CardOut.of(view)
