"""``/api/v1/me/export`` and ``/api/v1/me/deletion``: the signed-in customer's privacy rights.

* ``GET /me/export``: the customer's own data as one JSON document (PIPL Art. 45), personal fields
  decrypted because it is theirs; audited as an access to unmasked personal information
  (:func:`lendcore.privacy.export.export_customer`). Only one's own: the customer id comes from the
  token, never from the request. Not cached (``Cache-Control: no-store``).
* ``POST /me/deletion``: the customer's deletion request (Art. 47): refused with 409
  ``ERASURE_BLOCKED_OPEN_CONTRACTS`` while a contract is open; accepted, what the law allows is erased
  and the rest kept with processing restricted (:func:`lendcore.privacy.deletion.request_deletion`).
  Asking again returns the first answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from lendcore.api.auth import CurrentCustomer
from lendcore.api.problems import problem_responses
from lendcore.api.routers import API_PREFIX
from lendcore.api.routers.dated import dated_write
from lendcore.api.state import StateDep
from lendcore.privacy.deletion import DeletionRequest, request_deletion
from lendcore.privacy.export import export_customer

router = APIRouter(prefix=API_PREFIX, tags=["privacy"])


@router.get(
    "/me/export",
    summary="All my data as one JSON document (personal data unmasked; audited)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def export(principal: CurrentCustomer, state: StateDep, response: Response) -> dict[str, Any]:
    assert principal.customer_id is not None
    with dated_write(state) as (session, on):
        document = export_customer(
            session,
            principal.customer_id,
            state.cipher,
            actor=principal.customer_id,
            channel="api",
            on=on,
            at=state.clock(),
        )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = 'attachment; filename="lendcore-export.json"'
    return document


@router.post(
    "/me/deletion",
    summary="Ask for my personal data to be deleted (kept where the law requires, processing restricted)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def deletion(principal: CurrentCustomer, state: StateDep) -> dict[str, Any]:
    assert principal.customer_id is not None
    with dated_write(state) as (session, on):
        request = DeletionRequest(principal.customer_id, on, principal.customer_id)
        return request_deletion(session, request, at=state.clock()).to_json()
