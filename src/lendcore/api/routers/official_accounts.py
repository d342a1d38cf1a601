"""``GET /api/v1/official-accounts/check?number=…``: is this an official repayment account?

Public (no token: a customer asked by a stranger to "repay" into some account checks it before paying)
and rate-limited per client address like login (rule ``official_accounts:ip``), so the registry cannot
be enumerated quickly. The answer is for today in Asia/Shanghai (the application's clock).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from lendcore.api.problems import problem_responses
from lendcore.api.ratelimit import rate_limit
from lendcore.api.routers import API_PREFIX
from lendcore.api.state import StateDep
from lendcore.payments.official_accounts import check_official_account, check_to_json

BUSINESS_TZ: Final = ZoneInfo("Asia/Shanghai")

router = APIRouter(prefix=f"{API_PREFIX}/official-accounts", tags=["official accounts"])


class AccountCheckOut(BaseModel):
    number: str
    on: date
    official: bool
    message: str
    bank_name: str | None
    holder: str | None
    purpose: str | None
    valid_to: date | None


@router.get(
    "/check",
    response_model=AccountCheckOut,
    summary="Is this an official repayment account? (not official: do not pay)",
    dependencies=[Depends(rate_limit("official_accounts"))],
    responses=problem_responses(422, 429),
)
def check(
    state: StateDep,
    number: Annotated[str, Query(min_length=1, max_length=64, description="Spaces and dashes allowed.")],
) -> AccountCheckOut:
    today = state.clock().astimezone(BUSINESS_TZ).date()
    with state.database.read() as session:
        answer = check_to_json(check_official_account(session, number, today))
    return AccountCheckOut.model_validate(answer)
