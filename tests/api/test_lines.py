"""``/api/v1/lines``: a customer reads their own credit lines, with the limit and the available limit
(the core rule: limit − outstanding principal − pending drawdowns); another customer's line is 404."""

from __future__ import annotations

from lendcore.auth.principal import StaffRole
from lendcore.store.ids import new_id
from tests.api.conftest import LiveApi
from tests.api.support import borrower, problem, staff_principal


def test_a_customer_reads_their_line_with_its_available_limit(api: LiveApi) -> None:
    me = borrower(api, limit=5_000_000, draw=300_000)
    with api.client() as client:
        shown = client.get(f"/api/v1/lines/{me.line_id}", headers=me.headers)
    assert shown.status_code == 200, shown.text
    line = shown.json()
    assert line["id"] == me.line_id and line["customer_id"] == me.customer_id
    assert line["credit_limit"] == {"fen": 5_000_000, "display": "¥50,000.00"}
    assert line["outstanding_principal"]["fen"] == 300_000
    assert line["available_limit"] == {"fen": 4_700_000, "display": "¥47,000.00"}
    assert line["status"] == "active" and line["opened_on"] == "2026-03-01"


def test_the_list_holds_only_the_callers_lines_and_pages_by_cursor(api: LiveApi) -> None:
    me = borrower(api, draw=None)
    other = borrower(api, draw=None)
    with api.client() as client:
        mine = client.get("/api/v1/lines", headers=me.headers).json()
        assert [line["id"] for line in mine["items"]] == [me.line_id]
        assert mine["next_cursor"] is None
        viewer = api.auth(staff_principal(StaffRole.VIEWER))
        first = client.get("/api/v1/lines", params={"limit": 1}, headers=viewer).json()
        second = client.get(
            "/api/v1/lines", params={"limit": 1, "cursor": first["next_cursor"]}, headers=viewer
        ).json()
    assert [first["items"][0]["id"], second["items"][0]["id"]] == sorted([me.line_id, other.line_id])
    assert second["next_cursor"] is None


def test_another_customers_line_is_not_found_not_forbidden(api: LiveApi) -> None:
    me = borrower(api, draw=None)
    other = borrower(api, draw=None)
    with api.client() as client:
        theirs = client.get(f"/api/v1/lines/{other.line_id}", headers=me.headers)
        unknown = client.get(f"/api/v1/lines/{new_id('cl')}", headers=me.headers)
    assert (
        problem(theirs, 404, "LINE_NOT_FOUND")["detail"] == problem(unknown, 404, "LINE_NOT_FOUND")["detail"]
    )


def test_staff_read_lines_with_a_reading_role_only(api: LiveApi) -> None:
    me = borrower(api, draw=None)
    with api.client() as client:
        viewer = client.get(
            f"/api/v1/lines/{me.line_id}", headers=api.auth(staff_principal(StaffRole.VIEWER))
        )
        nobody = client.get(f"/api/v1/lines/{me.line_id}", headers=api.auth(staff_principal()))
    assert viewer.status_code == 200 and viewer.json()["id"] == me.line_id
    problem(nobody, 403, "PERMISSION_DENIED")


def test_lines_need_a_signed_in_caller_and_well_formed_ids(api: LiveApi) -> None:
    me = borrower(api, draw=None)
    with api.client() as client:
        problem(client.get("/api/v1/lines"), 401, "AUTHENTICATION_REQUIRED")
        problem(client.get(f"/api/v1/lines/{me.line_id}"), 401, "AUTHENTICATION_REQUIRED")
        problem(client.get("/api/v1/lines/ln_nonsense", headers=me.headers), 422, "INVALID_ID")
        problem(
            client.get("/api/v1/lines", params={"cursor": "x"}, headers=me.headers), 422, "INVALID_CURSOR"
        )
        unknown = client.get("/api/v1/lines", params={"colour": "red"}, headers=me.headers)
    fields = problem(unknown, 422, "INVALID_INPUT")["errors"]
    assert fields == [
        {"field": "query.colour", "code": "UNKNOWN_FIELD", "message": "Extra inputs are not permitted"}
    ]
