"""Waivers (减免): staff waive penalty or interest (or a fee) on a contract, with a reason, audited.

Runs in the caller's unit of work, idempotent by key (scope ``waive``). The waiver is value-dated on
the business date (accruals are brought up to it first) and books Dr waivers / Cr the receivable.
Refusals: ``REASON_REQUIRED``, ``ACTOR_REQUIRED``, ``INVALID_WAIVER_KIND``, ``CONTRACT_NOT_FOUND``,
``CONTRACT_CLOSED`` / ``CONTRACT_WRITTEN_OFF``, ``NOTHING_TO_WAIVE``, ``WAIVER_EXCEEDS_OUTSTANDING``,
``DATE_BEFORE_CONTRACT_START``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from lendcore.core.errors import ValidationError
from lendcore.core.loan import Waiver, WaiverKind
from lendcore.core.money import Fen
from lendcore.servicing.booking import post_transaction
from lendcore.servicing.common import check_amount, check_not_before, check_text, scoped_key
from lendcore.servicing.repository import lock_contract
from lendcore.store.audit import record_audit
from lendcore.store.idempotency import fingerprint, run_idempotent


def waive(
    session: Session,
    *,
    contract_id: str,
    kind: WaiverKind | str,
    reason: str,
    actor: str,
    business_date: date,
    idempotency_key: str,
    amount: Fen | None = None,
) -> dict[str, Any]:
    """Waive ``amount`` (``None``: all) of the contract's outstanding ``kind``."""
    request = {
        "contract_id": contract_id,
        "kind": str(kind),
        "reason": reason,
        "actor": actor,
        "business_date": business_date,
        "amount": amount,
    }

    def work() -> dict[str, Any]:
        why = check_text(reason, "REASON_REQUIRED", "a reason")
        who = check_text(actor, "ACTOR_REQUIRED", "a staff actor", 64)
        try:
            waiver_kind = WaiverKind(kind)
        except ValueError:
            raise ValidationError(
                f"waiver kind must be one of {', '.join(k.value for k in WaiverKind)}",
                code="INVALID_WAIVER_KIND",
            ) from None
        if amount is not None:
            check_amount(amount)
        contract = lock_contract(session, contract_id)
        check_not_before(
            business_date, contract.start_date, code="DATE_BEFORE_CONTRACT_START", what="the contract started"
        )
        posted = post_transaction(
            session,
            contract,
            lambda txn_id, seq: Waiver(txn_id, business_date, seq, waiver_kind, why, amount),
            business_date=business_date,
            idempotency_key=scoped_key("waive", idempotency_key),
        )
        field = f"{waiver_kind.value}_waived"
        waived = sum(getattr(r, field) for r in posted.after.rows) - sum(
            getattr(r, field) for r in posted.before.rows
        )
        record_audit(
            session,
            actor=who,
            action=f"contract.waive_{waiver_kind.value}",
            target_type="contract",
            target_id=contract.id,
            details={
                "amount": waived,
                "txn_id": posted.txn.txn_id,
                "business_date": business_date.isoformat(),
            },
            reason=why,
        )
        return {
            "contract_id": contract.id,
            "txn_id": posted.txn.txn_id,
            "kind": waiver_kind.value,
            "amount": waived,
            "reason": why,
            "actor": who,
            "status": posted.after.status.value,
            "total_outstanding": posted.after.total_outstanding,
        }

    return run_idempotent(session, "waive", idempotency_key, fingerprint(request), work)
