"""``/app/official-account``: is this an official repayment account? (product spec: the customer asked
by a stranger to "repay" into some account checks it before paying).

Public, like the API's ``GET /api/v1/official-accounts/check`` (:mod:`lendcore.api.routers.official_accounts`)
and under the same per-address rate limit (``official_accounts``), so the registry cannot be
enumerated through the page either. The answer is for today in Asia/Shanghai; a number that is not an
account number at all is refused with its reason, never answered "not official"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from lendcore.api.ratelimit import rate_limit
from lendcore.api.routers.official_accounts import BUSINESS_TZ
from lendcore.api.state import StateDep
from lendcore.core.errors import LendcoreError
from lendcore.core.official_accounts import AccountCheck
from lendcore.payments.official_accounts import check_official_account
from lendcore.web.render import page

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get("/official-account", dependencies=[Depends(rate_limit("official_accounts"))])
def official_account_page(
    request: Request,
    state: StateDep,
    number: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    answer: AccountCheck | None = None
    error: str | None = None
    if number:
        today = state.clock().astimezone(BUSINESS_TZ).date()
        try:
            with state.database.read() as session:
                answer = check_official_account(session, number, today)
        except LendcoreError as refused:
            error = refused.message
    return page(
        state, request, "official_account.html", "official_account_title",
        number=number or "", answer=answer, error=error,
        status_code=422 if error else 200,
    )  # fmt: skip
