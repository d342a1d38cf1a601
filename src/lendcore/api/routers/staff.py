"""``/api/v1/staff-users``: the staff users (administrators only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import select

from lendcore.api.auth import require_roles
from lendcore.api.pagination import Page, PageRequest, page_request, paginate
from lendcore.api.problems import problem_responses
from lendcore.api.routers import API_PREFIX
from lendcore.api.state import StateDep
from lendcore.auth.principal import StaffRole
from lendcore.store.models_api import StaffUser

router = APIRouter(prefix=API_PREFIX, tags=["staff"])


class StaffUserView(BaseModel):
    id: str
    username: str
    roles: list[StaffRole]
    status: str
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: StaffUser) -> StaffUserView:
        return cls(
            id=user.id,
            username=user.username,
            roles=[StaffRole(r) for r in user.roles],
            status=user.status,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


@router.get(
    "/staff-users",
    response_model=Page[StaffUserView],
    summary="Staff users, by id",
    dependencies=[Depends(require_roles(StaffRole.ADMIN))],
    responses=problem_responses(401, 403, 422),
)
def list_staff_users(
    state: StateDep, page: Annotated[PageRequest, Depends(page_request)]
) -> Page[StaffUserView]:
    with state.database.read() as session:
        return paginate(session, select(StaffUser), key=StaffUser.id, page=page, to_item=StaffUserView.of)
