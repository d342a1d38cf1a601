"""The ``decision-override`` approval kind over real HTTP, on both databases: a risk user proposes
deciding an application differently (with a reason), another risk user approves and the origination
use case applies it (a declined application gets its line; an approved one loses it, never while it
lends); the payload is checked when proposed, the product's bounds when approved; audited."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from lendcore.auth.principal import Principal, StaffRole
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, CreditLine
from lendcore.store.models_approvals import ApprovalProposal
from lendcore.store.models_origination import CreditApplication, CreditDecision, LimitChange
from tests.api.conftest import LiveApi
from tests.api.support import problem
from tests.origination.helpers import apply, register
from tests.servicing.support import do_draw

PROPOSALS = "/api/v1/staff/proposals"
DECLINED_AMOUNT = 40_000_00  # the fake scorer declines this request


def _staff(api: LiveApi, name: str, *roles: StaffRole) -> dict[str, str]:
    subject = api.staff(name, *roles)
    return api.auth(Principal("staff", subject, frozenset(roles), name))


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def _decided(api: LiveApi, **form: Any) -> dict[str, Any]:
    with unit_of_work(api.factory) as session:
        customer_id = register(session).id
        return apply(session, customer_id, device=uuid.uuid4().hex, **form)  # no device velocity


def _body(decision_id: str, **payload: Any) -> dict[str, Any]:
    return {"kind": "decision-override", "target_id": decision_id, "reason": "income verified by phone",
            "payload": payload}  # fmt: skip


def _application(api: LiveApi, decided: dict[str, Any]) -> tuple[str, str | None]:
    """The application's status and the customer's line of the product (None: none)."""
    with unit_of_work(api.factory, read_only=True) as session:
        application = session.get(CreditApplication, decided["application_id"])
        assert application is not None
        line = session.scalars(
            select(CreditLine).where(CreditLine.customer_id == application.customer_id)
        ).first()
        return application.status, None if line is None else line.id


@pytest.fixture
def risk_pair(api: LiveApi) -> tuple[dict[str, str], dict[str, str]]:
    return _staff(api, "rita", StaffRole.RISK), _staff(api, "rolf", StaffRole.RISK)


def test_a_declined_application_is_approved_by_two_risk_users_and_gets_its_line(
    api: LiveApi, risk_pair: tuple[dict[str, str], dict[str, str]]
) -> None:
    maker, checker = risk_pair
    decided = _decided(api, requested_amount=DECLINED_AMOUNT)
    assert decided["outcome"] == "declined"
    client = api.client()
    created = client.post(
        PROPOSALS, json=_body(decided["decision_id"], outcome="approved", credit_limit=30_000_00, grade="D"),
        headers={**maker, **_key()},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    proposal = created.json()
    assert (proposal["target_type"], proposal["status"]) == ("decision", "proposed")
    assert _application(api, decided) == ("declined", None)  # a proposal changes nothing
    problem(
        client.post(f"{PROPOSALS}/{proposal['id']}/approve", json={}, headers={**maker, **_key()}),
        403, "SELF_APPROVAL",
    )  # fmt: skip
    key = _key()
    approved = client.post(
        f"{PROPOSALS}/{proposal['id']}/approve", json={"reason": "ok"}, headers={**checker, **key}
    )
    assert approved.status_code == 200, approved.text
    result = approved.json()["result"]
    assert (result["previous_status"], result["outcome"], result["credit_limit"], result["grade"]) == (
        "declined", "approved", 30_000_00, "D",
    )  # fmt: skip
    again = client.post(
        f"{PROPOSALS}/{proposal['id']}/approve", json={"reason": "ok"}, headers={**checker, **key}
    )
    assert again.json() == approved.json() and again.headers["Idempotent-Replayed"] == "true"
    status, line_id = _application(api, decided)
    assert status == "approved" and line_id == result["credit_line_id"]
    with unit_of_work(api.factory, read_only=True) as session:
        line = session.get(CreditLine, line_id)
        assert line is not None and (line.credit_limit, line.pricing_grade, line.status) == (
            30_000_00,
            "D",
            "active",
        )
        decision = session.get(CreditDecision, decided["decision_id"])
        assert decision is not None and decision.outcome == "declined"  # what the model said is kept
        audit = session.scalars(select(AuditRecord).where(AuditRecord.action == "decision.overridden")).one()
        assert audit.target_id == decided["decision_id"] and audit.reason == "income verified by phone"
        assert audit.details["proposal_id"] == proposal["id"] and audit.details["model_outcome"] == "declined"
        reasons = session.scalars(
            select(LimitChange.reason_code).where(LimitChange.credit_line_id == line_id)
        )
        assert list(reasons) == ["DECISION_OVERRIDE"]


def test_an_approved_application_is_declined_and_its_line_closed_but_not_while_it_lends(
    api: LiveApi, risk_pair: tuple[dict[str, str], dict[str, str]]
) -> None:
    maker, checker = risk_pair
    client = api.client()
    lending, quiet = _decided(api), _decided(api)
    assert lending["outcome"] == quiet["outcome"] == "approved"
    do_draw(api.factory, lending["credit_line_id"], 1_000_00, 3)
    for decided, expected in ((quiet, 200), (lending, 409)):
        proposal = client.post(
            PROPOSALS, json=_body(decided["decision_id"], outcome="declined"), headers={**maker, **_key()}
        ).json()
        answer = client.post(f"{PROPOSALS}/{proposal['id']}/approve", json={}, headers={**checker, **_key()})
        assert answer.status_code == expected, answer.text
    assert _application(api, quiet) == ("declined", quiet["credit_line_id"])
    with unit_of_work(api.factory, read_only=True) as session:
        closed = session.get(CreditLine, quiet["credit_line_id"])
        open_ = session.get(CreditLine, lending["credit_line_id"])
        assert closed is not None and closed.status == "closed"
        assert open_ is not None and open_.status == "active"
        still = session.scalars(
            select(ApprovalProposal.status).where(ApprovalProposal.target_id == lending["decision_id"])
        )
        assert list(still) == ["proposed"]  # the refusal rolled back: the checker may reject it
    assert answer.json()["code"] == "LINE_HAS_OUTSTANDING"
    assert _application(api, lending)[0] == "approved"


BAD_PAYLOADS = [
    ({}, "outcome"),
    ({"outcome": "maybe"}, "outcome"),
    ({"outcome": "approved"}, "credit_limit"),
    ({"outcome": "declined", "credit_limit": 100_00}, "credit_limit"),
    ({"outcome": "approved", "credit_limit": 1_000_00, "grade": 7}, "grade"),
    ({"outcome": "approved", "credit_limit": 1_000_00, "colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_PAYLOADS)
def test_a_bad_payload_is_refused_when_proposed_naming_its_field(
    api: LiveApi, risk_pair: tuple[dict[str, str], dict[str, str]], payload: dict[str, Any], field: str
) -> None:
    decided = _decided(api)
    answer = api.client().post(
        PROPOSALS, json=_body(decided["decision_id"], **payload), headers={**risk_pair[0], **_key()}
    )
    body = problem(answer, 422, "INVALID_PROPOSAL_PAYLOAD")
    assert body.get("details", {}).get("field", field) == field and field in body["detail"] + str(body)


def test_what_only_the_product_can_tell_is_refused_at_approval(
    api: LiveApi, risk_pair: tuple[dict[str, str], dict[str, str]]
) -> None:
    maker, checker = risk_pair
    client = api.client()

    def declined() -> dict[str, Any]:
        return _decided(api, requested_amount=DECLINED_AMOUNT)

    cases = [
        (declined(), {"outcome": "approved", "credit_limit": 1_000_00, "grade": "Z"}, "UNKNOWN_GRADE"),
        (declined(), {"outcome": "declined"}, "DECISION_UNCHANGED"),
    ]
    approved = _decided(api)
    with unit_of_work(api.factory, read_only=True) as session:
        line = session.get(CreditLine, approved["credit_line_id"])
        assert line is not None
        same = {"outcome": "approved", "credit_limit": line.credit_limit, "grade": line.pricing_grade}
    cases.append((approved, same, "DECISION_UNCHANGED"))
    for decided, payload, code in cases:
        proposal = client.post(
            PROPOSALS, json=_body(decided["decision_id"], **payload), headers={**maker, **_key()}
        )
        assert proposal.status_code == 201, proposal.text
        answer = client.post(
            f"{PROPOSALS}/{proposal.json()['id']}/approve", json={}, headers={**checker, **_key()}
        )
        assert answer.status_code in (409, 422) and answer.json()["code"] == code, (code, answer.text)
    assert _application(api, cases[0][0]) == ("declined", None)
    # a limit outside every line's bounds is refused already when proposed
    too_much = {"outcome": "approved", "credit_limit": 90_000_00}
    answer = client.post(
        PROPOSALS, json=_body(declined()["decision_id"], **too_much), headers={**maker, **_key()}
    )
    problem(answer, 422, "LIMIT_OUT_OF_RANGE")


def test_only_risk_proposes_and_approves_and_an_unknown_decision_is_not_found(api: LiveApi) -> None:
    operator = _staff(api, "olga", StaffRole.OPERATOR)
    finance = _staff(api, "fin", StaffRole.FINANCE)
    viewer = _staff(api, "vic", StaffRole.VIEWER)
    risk = _staff(api, "rita", StaffRole.RISK)
    decided = _decided(api, requested_amount=DECLINED_AMOUNT)
    body = _body(decided["decision_id"], outcome="approved", credit_limit=10_000_00)
    client = api.client()
    problem(client.post(PROPOSALS, json=body, headers={**operator, **_key()}), 403, "PERMISSION_DENIED")
    problem(client.post(PROPOSALS, json=body, headers={**viewer, **_key()}), 403, "PERMISSION_DENIED")
    unknown = _body("dec_01JAAAAAAAAAAAAAAAAAAAAAAA", outcome="declined")
    problem(client.post(PROPOSALS, json=unknown, headers={**risk, **_key()}), 404, "DECISION_NOT_FOUND")
    proposal = client.post(PROPOSALS, json=body, headers={**risk, **_key()}).json()
    problem(
        client.post(f"{PROPOSALS}/{proposal['id']}/approve", json={}, headers={**finance, **_key()}),
        403, "PERMISSION_DENIED",
    )  # fmt: skip
    assert _application(api, decided) == ("declined", None)
