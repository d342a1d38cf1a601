"""Waivers (减免): staff waive penalty or interest (or a fee) on a contract, with a reason, audited.

Runs in the caller's unit of work, idempotent by key (scope ``waive``). The waiver is value-dated on
the business date (accruals are brought up to it first) and books Dr waivers / Cr the receivable.
Refusals: ``REASON_REQUIRED``, ``ACTOR_REQUIRED``, ``INVALID_WAIVER_KIND``, ``CONTRACT_NOT_FOUND``,
``CONTRACT_CLOSED`` / ``CONTRACT_WRITTEN_OFF``, ``NOTHING_TO_WAIVE``, ``WAIVER_EXCEEDS_OUTSTANDING``,
``DATE_BEFORE_CONTRACT_START``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from lendcore.core.errors import ValidationError
from lendcore.core.loan import Waiver, WaiverKind
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.servicing.booking import post_transaction
from lendcore.servicing.common import check_amount, check_not_before, check_text, scoped_key
from lendcore.servicing.repository import lock_contract
from lendcore.store.audit import record_audit
from lendcore.store.idempotency import idempotent


@dataclass(frozen=True, slots=True)
class WaiveRequest(JsonRecord):
    """Waive ``amount`` (``None``: all) of the contract's outstanding ``kind``."""

    contract_id: str
    kind: WaiverKind
    reason: str
    actor: str
    business_date: date
    idempotency_key: str
    amount: Fen | None = None
    at_most: bool = False  # the system's fault waivers: see core.transactions.Waiver
    refund_paid: bool = False  # ... and the penalty of a window's days the customer already paid


@dataclass(frozen=True, slots=True)
class WaiveResult(JsonRecord):
    contract_id: str
    txn_id: str
    kind: WaiverKind
    amount: Fen  # what was waived
    reason: str
    actor: str
    status: str
    total_outstanding: Fen


@idempotent("waive", WaiveResult)
def waive(session: Session, request: WaiveRequest) -> WaiveResult:
    """Waive (see the module docstring)."""
    why = check_text(request.reason, "REASON_REQUIRED", "a reason")
    who = check_text(request.actor, "ACTOR_REQUIRED", "a staff actor", 64)
    try:
        kind = WaiverKind(request.kind)
    except ValueError:
        raise ValidationError(
            f"waiver kind must be one of {', '.join(k.value for k in WaiverKind)}",
            code="INVALID_WAIVER_KIND",
        ) from None
    if request.amount is not None:
        check_amount(request.amount)
    on = request.business_date
    contract = lock_contract(session, request.contract_id)
    check_not_before(on, contract.start_date, code="DATE_BEFORE_CONTRACT_START", what="the contract started")
    posted = post_transaction(
        session,
        contract,
        lambda txn_id, seq: Waiver(
            txn_id, on, seq, kind, why, request.amount, request.at_most, request.refund_paid
        ),
        business_date=on,
        idempotency_key=scoped_key("waive", request.idempotency_key),
    )
    field = f"{kind.value}_waived"
    waived = sum(getattr(r, field) for r in posted.after.rows) - sum(
        getattr(r, field) for r in posted.before.rows
    )
    record_audit(
        session,
        actor=who,
        action=f"contract.waive_{kind.value}",
        target_type="contract",
        target_id=contract.id,
        details={"amount": waived, "txn_id": posted.txn.txn_id, "business_date": on.isoformat()},
        reason=why,
    )
    after = posted.after
    return WaiveResult(
        contract.id, posted.txn.txn_id, kind, waived, why, who, after.status.value, after.total_outstanding
    )
