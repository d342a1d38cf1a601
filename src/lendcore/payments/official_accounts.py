"""The official repayment account registry: add an entry, check a number against it.

The registry (:class:`~lendcore.store.models_autopay.OfficialAccountRow`) lists the accounts the
lender collects repayments into; :func:`check_official_account` answers the customer's question "is
this account yours?" with the pure rule of :mod:`lendcore.core.official_accounts`. Entries for one
number must not overlap in time (``ACCOUNT_ALREADY_REGISTERED``): two entries valid on the same day
would give two answers about who holds the account. Adding an entry is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.errors import ConflictError, ValidationError
from lendcore.core.official_accounts import (
    AccountCheck,
    OfficialAccount,
    check_account,
    mask_account_number,
    normalise_account_number,
)
from lendcore.store.audit import record_audit
from lendcore.store.models_autopay import OfficialAccountRow

#: Longest bank name, holder and purpose (the column widths).
TEXT_LIMITS: Final = {"bank name": 100, "holder": 100, "purpose": 200}


@dataclass(frozen=True, slots=True)
class AddOfficialAccountRequest:
    number: str  # any form: spaces and dashes are removed
    bank_name: str
    holder: str
    purpose: str
    valid_from: date
    valid_to: date | None = None


@dataclass(frozen=True, slots=True)
class OfficialAccountView:
    id: str
    account: OfficialAccount

    def to_json(self) -> dict[str, Any]:
        a = self.account
        return {
            "id": self.id, "number": a.number, "bank_name": a.bank_name, "holder": a.holder,
            "purpose": a.purpose, "valid_from": a.valid_from.isoformat(),
            "valid_to": a.valid_to.isoformat() if a.valid_to else None,
        }  # fmt: skip


def _text(value: str, what: str) -> str:
    limit = TEXT_LIMITS[what]
    text = value.strip()
    if not text or len(text) > limit:
        raise ValidationError(
            f"the {what} is required (1-{limit} characters)", code="ACCOUNT_DETAILS_INVALID"
        )
    return text


def _entry(row: OfficialAccountRow) -> OfficialAccount:
    return OfficialAccount(row.number, row.bank_name, row.holder, row.purpose, row.valid_from, row.valid_to)


def _overlaps(a: OfficialAccount, b: OfficialAccount) -> bool:
    a_ends = a.valid_to or date.max
    b_ends = b.valid_to or date.max
    return a.valid_from <= b_ends and b.valid_from <= a_ends


def add_official_account(
    session: Session, request: AddOfficialAccountRequest, *, actor: str, now: datetime | None = None
) -> OfficialAccountView:
    """Register an account (checked first; nothing is written on a refusal)."""
    account = OfficialAccount(
        number=normalise_account_number(request.number),
        bank_name=_text(request.bank_name, "bank name"),
        holder=_text(request.holder, "holder"),
        purpose=_text(request.purpose, "purpose"),
        valid_from=request.valid_from,
        valid_to=request.valid_to,
    )
    rows = session.scalars(
        select(OfficialAccountRow).where(OfficialAccountRow.number == account.number).with_for_update()
    ).all()
    if any(_overlaps(account, _entry(row)) for row in rows):
        raise ConflictError(
            f"account {mask_account_number(account.number)} is already registered for part of that period",
            code="ACCOUNT_ALREADY_REGISTERED",
        )
    row = OfficialAccountRow(
        number=account.number, bank_name=account.bank_name, holder=account.holder, purpose=account.purpose,
        valid_from=account.valid_from, valid_to=account.valid_to, created_by=actor,
    )  # fmt: skip
    if now is not None:
        row.created_at = now
    session.add(row)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="official_account.add",
        target_type="official_account",
        target_id=row.id,
        details={"number": mask_account_number(account.number), "bank_name": account.bank_name},
        at=now,
    )
    return OfficialAccountView(row.id, account)


def check_official_account(session: Session, number: str, on: date) -> AccountCheck:
    """Whether ``number`` (any form; ``INVALID_ACCOUNT_NUMBER`` if it is not one) is official on ``on``."""
    normal = normalise_account_number(number)
    rows = session.scalars(select(OfficialAccountRow).where(OfficialAccountRow.number == normal)).all()
    return check_account([_entry(row) for row in rows], normal, on)


def check_to_json(check: AccountCheck) -> dict[str, Any]:
    """The answer as the CLI and the API print it."""
    entry = check.account
    return {
        "number": check.number,
        "on": check.on.isoformat(),
        "official": check.official,
        "message": check.message,
        "bank_name": entry.bank_name if entry else None,
        "holder": entry.holder if entry else None,
        "purpose": entry.purpose if entry else None,
        "valid_to": entry.valid_to.isoformat() if entry and entry.valid_to else None,
    }
