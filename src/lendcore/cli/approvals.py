"""``lendcore approvals``: maker-checker from the command line (propose, approve, reject, list).

``--staff`` names the staff user who acts (``lendcore admin create-user``); their roles decide what
they may propose or approve (docs/api.md has the table). The payload is the kind's JSON parameters,
amounts in fen (``--payload '{"kind": "penalty", "amount": 1000}'``). The audit log records the
client address as ``cli``.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from lendcore.cli import database
from lendcore.core.errors import ValidationError

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

approvals_app = typer.Typer(
    name="approvals",
    help="Maker-checker: propose a staff action, approve or reject it.",
    no_args_is_help=True,
)
commands.add_typer(approvals_app)

#: The client address audit records name for the CLI.
CLIENT = "cli"
StaffOption = Annotated[str, typer.Option("--staff", help="The staff user who acts (username).")]


class ProposalStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXECUTED = "executed"
    EXPIRED = "expired"


def _payload(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ValidationError("--payload must be a JSON object", code="INVALID_PROPOSAL_PAYLOAD")
    return value


def _show(view: Any, as_json: bool) -> None:
    data = view.to_json()
    if as_json:
        database.echo_json(data)
        return
    typer.echo(f"{data['id']} {data['kind']} {data['target_id']} {data['status']} (by {data['proposer']})")


@approvals_app.command("propose")
def propose_command(
    kind: Annotated[
        str,
        typer.Argument(
            help="waive, write-off, payment-reversal, limit-override, line-freeze, line-close, "
            "lender-fault, hardship-plan or decision-override."
        ),
    ],
    target: Annotated[
        str, typer.Argument(help="The contract, payment, credit line, customer or decision id.")
    ],
    staff: StaffOption,
    reason: Annotated[str, typer.Option("--reason", help="Why (1-500 characters).")],
    payload: Annotated[str, typer.Option("--payload", help="The kind's parameters as JSON.")] = "{}",
    as_json: database.JsonOption = False,
) -> None:
    """Propose a staff action (nothing runs until another member of staff approves it)."""
    from lendcore.approvals.proposals import ProposeRequest, propose, staff_member

    def body() -> Any:
        parameters = _payload(payload)
        with database.open_session() as session:
            who = staff_member(session, staff, client_ip=CLIENT)
            return propose(session, ProposeRequest(kind, target, reason, parameters), who, now=database.now())

    _show(database.run(body), as_json)


@approvals_app.command("approve")
def approve_command(
    proposal: Annotated[str, typer.Argument(help="The proposal id (apv_…).")],
    staff: StaffOption,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (default: the proposal's).")] = None,
    as_json: database.JsonOption = False,
) -> None:
    """Approve a proposal (another staff user with an approver role) and run it."""
    from lendcore.approvals.proposals import approve, staff_member

    def body() -> Any:
        with database.open_session() as session:
            who = staff_member(session, staff, client_ip=CLIENT)
            return approve(session, proposal, who, now=database.now(), reason=reason)

    _show(database.run(body), as_json)


@approvals_app.command("reject")
def reject_command(
    proposal: Annotated[str, typer.Argument(help="The proposal id (apv_…).")],
    staff: StaffOption,
    reason: Annotated[str, typer.Option("--reason", help="Why (1-500 characters).")],
    as_json: database.JsonOption = False,
) -> None:
    """Reject a proposal (a checker) or withdraw it (its proposer)."""
    from lendcore.approvals.proposals import reject, staff_member

    def body() -> Any:
        with database.open_session() as session:
            who = staff_member(session, staff, client_ip=CLIENT)
            return reject(session, proposal, who, now=database.now(), reason=reason)

    _show(database.run(body), as_json)


@approvals_app.command("list")
def list_command(
    status: Annotated[
        ProposalStatus | None,
        typer.Option("--status", help="proposed, approved, rejected, executed or expired."),
    ] = None,
    count: Annotated[
        int, typer.Option("--count", min=1, max=500, help="At most this many, newest first.")
    ] = 50,
    as_json: database.JsonOption = False,
) -> None:
    """The most recent proposals."""
    from lendcore.approvals.proposals import list_proposals

    def body() -> Any:
        with database.open_session(read_only=True) as session:
            return list_proposals(session, status=status.value if status else None, limit=count)

    views = database.run(body)
    if as_json:
        database.echo_json([v.to_json() for v in views])
        return
    for view in views:
        _show(view, False)
