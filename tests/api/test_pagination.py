"""Every list pages by an opaque cursor in stable id order: each row once, none skipped."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.api.pagination import PageRequest, decode_cursor, encode_cursor, paginate
from lendcore.auth.principal import Principal, StaffRole
from lendcore.core.errors import ValidationError
from lendcore.store.engine import unit_of_work
from lendcore.store.models_api import StaffUser
from tests.api.conftest import LiveApi


def _seed_staff(factory: sessionmaker[Session], n: int) -> list[str]:
    with unit_of_work(factory) as session:
        session.execute(delete(StaffUser))
        users = [StaffUser(username=f"user{i:03d}", password_hash="x", roles=["viewer"]) for i in range(n)]
        session.add_all(users)
        session.flush()
        return sorted(u.id for u in users)


def _walk(factory: sessionmaker[Session], limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        with unit_of_work(factory, read_only=True) as session:
            page = paginate(
                session,
                select(StaffUser),
                key=StaffUser.id,
                page=PageRequest(limit, cursor),
                to_item=lambda u: u.id,
            )
        pages.append(page.items)
        assert len(page.items) <= limit
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.integers(0, 25), limit=st.integers(1, 30))
def test_paging_returns_every_row_once_in_id_order(
    session_factory: sessionmaker[Session], rows: int, limit: int
) -> None:
    ids = _seed_staff(session_factory, rows)
    pages = _walk(session_factory, limit)
    assert [i for page in pages for i in page] == ids
    assert all(len(page) == limit for page in pages[:-1])


def test_rows_added_during_a_walk_never_repeat_a_row(session_factory: sessionmaker[Session]) -> None:
    _seed_staff(session_factory, 5)
    with unit_of_work(session_factory, read_only=True) as session:
        first = paginate(
            session, select(StaffUser), key=StaffUser.id, page=PageRequest(2), to_item=lambda u: u.id
        )
    with unit_of_work(session_factory) as session:
        session.add(StaffUser(username="late", password_hash="x", roles=["viewer"]))
    with unit_of_work(session_factory, read_only=True) as session:
        rest = paginate(
            session,
            select(StaffUser),
            key=StaffUser.id,
            page=PageRequest(200, first.next_cursor),
            to_item=lambda u: u.id,
        )
    assert not set(first.items) & set(rest.items)


@pytest.mark.parametrize("cursor", ["", "!!!", "bm90IGpzb24", encode_cursor("customers.id", "cus_1")])
def test_a_cursor_that_is_not_one_of_this_list_is_refused(cursor: str) -> None:
    with pytest.raises(ValidationError) as caught:
        decode_cursor("staff_users.id", cursor)
    assert caught.value.code == "INVALID_CURSOR"


def test_a_cursor_decodes_to_the_key_it_encodes() -> None:
    assert decode_cursor("staff_users.id", encode_cursor("staff_users.id", "stf_X")) == "stf_X"


def test_the_limit_is_1_to_200_and_a_bad_cursor_is_a_422_problem(api: LiveApi) -> None:
    admin = Principal("staff", api.staff("root", StaffRole.ADMIN), frozenset({StaffRole.ADMIN}), "root")
    client = api.client(headers=api.auth(admin))
    for limit in (0, 201, -1):
        response = client.get("/api/v1/staff-users", params={"limit": limit})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "query.limit"
    for limit in (1, 200):
        assert client.get("/api/v1/staff-users", params={"limit": limit}).status_code == 200
    bad = client.get("/api/v1/staff-users", params={"cursor": "nope"})
    assert bad.status_code == 422 and bad.json()["code"] == "INVALID_CURSOR"


def test_a_list_endpoint_walks_its_rows_by_cursor(api: LiveApi) -> None:
    admin = Principal("staff", api.staff("root", StaffRole.ADMIN), frozenset({StaffRole.ADMIN}), "root")
    with unit_of_work(api.factory) as session:
        session.add_all(StaffUser(username=f"u{i}", password_hash="x", roles=["viewer"]) for i in range(4))
    client = api.client(headers=api.auth(admin))
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/staff-users", params=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(seen)
