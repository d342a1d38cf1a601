"""One proposal form for every maker-checker kind (``/office/propose``, ``/office/propose/{kind}``),
built from :data:`lendcore.approvals.kinds.KINDS` (target, who proposes and approves) and
:mod:`lendcore.approvals.forms` (the payload's fields): no page is written per kind.

Amounts are typed in yuan (``fen`` fields: :func:`lendcore.core.money.parse_amount`, ``INVALID_AMOUNT``);
an optional field left empty is sent as null (the kind's default), a required one left empty is left
out (the kind refuses it, naming the field). The kind's ``check_payload`` and the proposal use case
judge the rest: a refusal renders the form again with its code and the error table's status, the
values typed kept; nothing is written. The approvals queue (:mod:`lendcore.web.approval_pages`) approves
or rejects any kind.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from lendcore.api.ratelimit import client_address
from lendcore.api.state import AppState, StateDep
from lendcore.approvals.forms import PayloadField, form_of, payload_of
from lendcore.approvals.kinds import KINDS, kind_of
from lendcore.approvals.proposals import ProposalView, ProposeRequest, Staff, propose
from lendcore.core.errors import LendcoreError
from lendcore.error_table import spec_for
from lendcore.web.i18n import MESSAGES
from lendcore.web.office import is_staff
from lendcore.web.render import page
from lendcore.web.session import check_csrf, lang, session_principal

router = APIRouter(prefix="/office/propose", include_in_schema=False)


def _staff(state: AppState, request: Request) -> Staff | None:
    principal = session_principal(state, request)
    if principal is None or not is_staff(state, request):
        return None
    return Staff(principal.subject, principal.roles, client_address(request))


def _to_login() -> RedirectResponse:
    return RedirectResponse("/office/login", status_code=303)


def _refused(error: LendcoreError) -> tuple[str, int]:
    return f"{error.message} ({error.code})", spec_for(error).http_status


def label(request: Request, key: str, fallback: str) -> str:
    """The catalogue's text for ``key``, or ``fallback`` (a kind added without its texts still shows)."""
    return MESSAGES[lang(request)].get(key, fallback)


def _kind_label(request: Request, name: str) -> str:
    return label(request, "kind_" + name.replace("-", "_"), name)


def _field(request: Request, kind: str, field: PayloadField) -> dict[str, Any]:
    # a kind may say what a shared field means for it (``field_<kind>_<name>``), else ``field_<name>``
    shared = label(request, "field_" + field.name, field.name)
    return {
        "f": field,
        "label": label(request, f"field_{kind.replace('-', '_')}_{field.name}", shared),
        "choices": [(c, label(request, "choice_" + c, c)) for c in field.choices],
    }


def _kinds(request: Request, staff: Staff) -> list[dict[str, Any]]:
    return [
        {
            "name": kind.name,
            "label": _kind_label(request, kind.name),
            "target_label": label(request, "target_" + kind.target_type.replace("-", "_"), kind.target_type),
            "target_type": kind.target_type,
            "proposers": sorted(r.value for r in kind.proposers),
            "approvers": sorted(r.value for r in kind.approvers),
            "may_propose": staff.may(kind.proposers),
        }
        for kind in KINDS.values()
    ]


def _form_page(
    state: AppState, request: Request, staff: Staff, kind: str, *, status_code: int = 200,
    values: dict[str, str], **context: Any,
) -> Response:  # fmt: skip
    spec = KINDS[kind]
    return page(
        state, request, "office_propose.html", "propose_title", status_code=status_code, signed_in=True,
        kinds=_kinds(request, staff), kind=kind, kind_label=_kind_label(request, kind),
        target_label=label(request, "target_" + spec.target_type.replace("-", "_"), spec.target_type),
        fields=[_field(request, kind, f) for f in form_of(kind)], values=values,
        may_propose=staff.may(spec.proposers), **context,
    )  # fmt: skip


@router.get("")
def kinds_page(request: Request, state: StateDep) -> Response:
    staff = _staff(state, request)
    if staff is None:
        return _to_login()
    return page(
        state,
        request,
        "office_propose.html",
        "propose_title",
        signed_in=True,
        kinds=_kinds(request, staff),
        kind=None,
    )


@router.get("/{kind}")
def form(
    kind: str, request: Request, state: StateDep, target: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    staff = _staff(state, request)
    if staff is None:
        return _to_login()
    if kind not in KINDS:
        return _unknown_kind(state, request, staff, kind)
    return _form_page(state, request, staff, kind, values={"target_id": target})


def _unknown_kind(state: AppState, request: Request, staff: Staff, kind: str) -> Response:
    try:
        kind_of(kind)
    except LendcoreError as error:
        message, status = _refused(error)
        return page(
            state, request, "office_propose.html", "propose_title", status_code=status, signed_in=True,
            kinds=_kinds(request, staff), kind=None, error=message,
        )  # fmt: skip
    raise AssertionError("unreachable: a kind not in KINDS")  # pragma: no cover


def _form_values(data: FormData) -> dict[str, str]:
    return {k: v[:500] for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}


@router.post("/{kind}")
async def submit(kind: str, request: Request, state: StateDep) -> Response:
    staff = _staff(state, request)
    if staff is None:
        return _to_login()
    data = await request.form()
    token = data.get("csrf_token")
    check_csrf(state, request, token if isinstance(token, str) else None)
    if kind not in KINDS:
        return _unknown_kind(state, request, staff, kind)
    values = _form_values(data)
    try:
        ask = ProposeRequest(kind, values.get("target_id", "").strip(), values.get("reason", ""),
                             payload_of(form_of(kind), values))  # fmt: skip
        proposal = await run_in_threadpool(_propose, state, ask, staff)  # the database off the event loop
    except LendcoreError as error:
        message, status = _refused(error)
        return _form_page(state, request, staff, kind, status_code=status, values=values, error=message)
    return _form_page(state, request, staff, kind, values={}, proposed=proposal.id)


def _propose(state: AppState, ask: ProposeRequest, staff: Staff) -> ProposalView:
    with state.database.write() as session:
        return propose(session, ask, staff, now=state.clock())
