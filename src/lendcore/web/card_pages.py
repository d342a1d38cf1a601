"""``/app/cards``: the customer's bound cards (masked), bind another debit card, unbind one
(:mod:`lendcore.origination.cards`: the same checks, codes and consent rule as the API's
``/api/v1/me/cards``).

The bind form carries a key minted when the page was rendered: a double submit replays the first
result (:func:`lendcore.store.idempotency.run_idempotent`, whose fingerprint is keyed so the stored
row does not reveal the number). A refusal renders the page again with its message and the error
table's status; the number typed is never echoed back into the form.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from lendcore.api.state import AppState, StateDep
from lendcore.core.errors import LendcoreError
from lendcore.error_table import spec_for
from lendcore.origination.cards import BindCardRequest, CardView, bind_card, list_cards, unbind_card
from lendcore.store.idempotency import run_idempotent
from lendcore.web.common import Csrf, customer_of, signed_in_page
from lendcore.web.session import check_csrf

router = APIRouter(prefix="/app", include_in_schema=False)


def cards_page(
    state: AppState, request: Request, customer_id: str, *, status_code: int = 200, **context: Any
) -> Response:
    with state.database.read() as session:
        cards = list_cards(session, customer_id, cipher=state.cipher)
    return signed_in_page(
        state, request, "cards.html", "cards_title", status_code=status_code, cards=cards,
        bind_key=f"web-card-{uuid.uuid4()}", **context,
    )  # fmt: skip


@router.get("/cards")
def my_cards(request: Request, state: StateDep) -> Response:
    return cards_page(state, request, customer_of(state, request))


def _refused(state: AppState, request: Request, customer_id: str, error: LendcoreError) -> Response:
    status = spec_for(error).http_status
    return cards_page(
        state, request, customer_id, status_code=status, error=f"{error.message} ({error.code})"
    )


@router.post("/cards")
def bind(
    request: Request,
    state: StateDep,
    csrf: Csrf,
    number: Annotated[str, Form(max_length=32)],
    key: Annotated[str, Form(max_length=64)],
    make_default: Annotated[bool, Form()] = False,
) -> Response:
    customer_id = customer_of(state, request)
    check_csrf(state, request, csrf)
    bind_request = BindCardRequest(customer_id, number, None, make_default)
    digest = hmac.new(state.settings.fingerprint_key, f"{number}|{make_default}".encode(), hashlib.sha256)
    try:
        with state.database.write() as session:
            stored = run_idempotent(
                session, f"web.card:{customer_id}"[:64], key, digest.hexdigest(),
                lambda: bind_card(session, bind_request, cipher=state.cipher, at=state.clock()).to_json(),
            )  # fmt: skip
    except LendcoreError as error:
        return _refused(state, request, customer_id, error)
    return cards_page(state, request, customer_id, bound=CardView.from_json(stored))


@router.post("/cards/{card_id}/unbind")
def unbind(card_id: str, request: Request, state: StateDep, csrf: Csrf) -> Response:
    customer_id = customer_of(state, request)
    check_csrf(state, request, csrf)
    try:
        with state.database.write() as session:
            card = unbind_card(session, customer_id, card_id, cipher=state.cipher, at=state.clock())
    except LendcoreError as error:
        return _refused(state, request, customer_id, error)
    return cards_page(state, request, customer_id, unbound=card)
