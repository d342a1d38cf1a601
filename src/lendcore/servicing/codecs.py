"""Codecs between the pure core's values and what the store keeps (one place per format).

* :func:`terms_to_json` / :func:`terms_from_json`: a contract's signed terms (``contracts.terms``).
* :func:`state_to_json` / :func:`state_from_json`: the ``contracts.state`` snapshot (exact decimals as
  strings, dates as ISO strings), so an on-time transaction costs one :func:`~lendcore.core.loan.apply`.
* :data:`TXN_CODECS`: each transaction type's row codec (amount column, payload, reversed id), keyed
  like :data:`~lendcore.core.transactions.TRANSACTION_TYPES`: a new type is added to the core's
  registry and gets one codec here (a test checks both registries agree). The database id of a
  ``loan_transactions`` row *is* the core ``txn_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from lendcore.core.contract import (
    InstallmentState,
    LoanState,
    LoanTerms,
    PrepaymentFee,
    PrepaymentFeeKind,
    PrepaymentRecompute,
    ProductClass,
    Status,
)
from lendcore.core.errors import InvariantViolationError
from lendcore.core.money import Fen, Rounding
from lendcore.core.schedule import Installment, InterestRule, Method, installment_to_json
from lendcore.core.transactions import (
    TRANSACTION_TYPES,
    CreditApplication,
    CreditTransfer,
    Disbursement,
    Fee,
    InterestAccrual,
    PenaltyAccrual,
    Recovery,
    Repayment,
    Restructure,
    Reversal,
    Transaction,
    Waiver,
    WaiverKind,
    WriteOff,
)
from lendcore.products.catalog import default_catalog
from lendcore.store.models import Contract, LoanTransaction

# --- terms and state --------------------------------------------------------------------------------


def _installment_from(d: Mapping[str, Any]) -> Installment:
    return Installment(
        period=int(d["period"]),
        start_date=date.fromisoformat(d["start_date"]),
        due_date=date.fromisoformat(d["due_date"]),
        days=int(d["days"]),
        principal=int(d["principal"]),
        interest=int(d["interest"]),
        fee=int(d["fee"]),
        total=int(d["total"]),
        remaining_principal=int(d["remaining_principal"]),
    )


def terms_to_json(t: LoanTerms) -> dict[str, Any]:
    return {
        "contract_id": t.contract_id,
        "customer_id": t.customer_id,
        "product_code": t.product_code,
        "principal": t.principal,
        "daily_rate": str(t.daily_rate),
        "method": t.method.value,
        "schedule": [installment_to_json(r) for r in t.schedule],
        "interest_rule": t.interest_rule.value,
        "penalty_multiplier": str(t.penalty_multiplier),
        "penalty_on_interest": t.penalty_on_interest,
        "grace_days": t.grace_days,
        "penalty_base_daily_rate": (
            None if t.penalty_base_daily_rate is None else str(t.penalty_base_daily_rate)
        ),
        "rate_cap_annual": str(t.rate_cap_annual),
        "cap_includes_contract_rate": t.cap_includes_contract_rate,
        "year_days": t.year_days,
        "waterfall": t.waterfall,
        "prepayment_recompute": t.prepayment_recompute.value,
        "prepayment_fee": {"kind": t.prepayment_fee.kind.value, "rate": str(t.prepayment_fee.rate)},
        "revolving": t.revolving,
        "rounding": t.rounding.value,
        "product_class": t.product_class.value,
        "installment_multiple": t.installment_multiple,
    }


def terms_from_json(d: Mapping[str, Any]) -> LoanTerms:
    fee = d["prepayment_fee"]
    return LoanTerms(
        contract_id=d["contract_id"],
        customer_id=d["customer_id"],
        product_code=d["product_code"],
        principal=int(d["principal"]),
        daily_rate=Decimal(d["daily_rate"]),
        method=Method(d["method"]),
        schedule=tuple(_installment_from(r) for r in d["schedule"]),
        interest_rule=InterestRule(d["interest_rule"]),
        penalty_multiplier=Decimal(d["penalty_multiplier"]),
        penalty_on_interest=bool(d["penalty_on_interest"]),
        grace_days=int(d["grace_days"]),
        penalty_base_daily_rate=(
            None if d.get("penalty_base_daily_rate") is None else Decimal(d["penalty_base_daily_rate"])
        ),
        rate_cap_annual=Decimal(d["rate_cap_annual"]),
        cap_includes_contract_rate=bool(d["cap_includes_contract_rate"]),
        year_days=int(d["year_days"]),
        waterfall=d["waterfall"],
        prepayment_recompute=PrepaymentRecompute(d["prepayment_recompute"]),
        prepayment_fee=PrepaymentFee(PrepaymentFeeKind(fee["kind"]), Decimal(fee["rate"])),
        revolving=bool(d["revolving"]),
        rounding=Rounding(d["rounding"]),
        product_class=_stored_product_class(d),
        # terms stored before the field existed were re-amortised to the fen
        installment_multiple=int(d.get("installment_multiple", 1)),
    )


def _stored_product_class(d: Mapping[str, Any]) -> ProductClass:
    """Terms stored before the class existed take their product's class from the catalog."""
    if d.get("product_class"):
        return ProductClass(d["product_class"])
    return default_catalog().get(d["product_code"]).product_class


# --- state snapshot ---------------------------------------------------------------------------------

_ROW_INTS: Final = (
    "period",
    "principal",
    "scheduled_fee",
    "principal_paid",
    "interest_accrued",
    "interest_paid",
    "interest_waived",
    "fee_charged",
    "fee_paid",
    "fee_waived",
    "penalty_accrued",
    "penalty_paid",
    "penalty_waived",
)
_STATE_INTS: Final = (
    "suspense",
    "cash_in",
    "principal_disbursed",
    "principal_prepaid",
    "prepayment_fees",
    "written_off",
    "recovered",
    "credit_in",
    "credit_out",
    "restructures",
    "transactions_applied",
)


def state_to_json(s: LoanState) -> dict[str, Any]:
    rows = []
    for r in s.rows:
        row: dict[str, Any] = {k: getattr(r, k) for k in _ROW_INTS}
        row["start_date"] = r.start_date.isoformat()
        row["due_date"] = r.due_date.isoformat()
        row["interest_exact"] = str(r.interest_exact)
        row["penalty_exact"] = str(r.penalty_exact)
        row["settled_on"] = r.settled_on.isoformat() if r.settled_on else None
        rows.append(row)
    doc: dict[str, Any] = {k: getattr(s, k) for k in _STATE_INTS}
    doc["status"] = s.status.value
    doc["rows"] = rows
    doc["accrued_through"] = s.accrued_through.isoformat()
    doc["penalty_through"] = s.penalty_through.isoformat()
    doc["last_value_date"] = s.last_value_date.isoformat() if s.last_value_date else None
    return doc


def state_from_json(terms: LoanTerms, d: Mapping[str, Any]) -> LoanState:
    if not d:
        return LoanState.new(terms)
    rows = tuple(
        InstallmentState(
            start_date=date.fromisoformat(r["start_date"]),
            due_date=date.fromisoformat(r["due_date"]),
            interest_exact=Decimal(r["interest_exact"]),
            penalty_exact=Decimal(r["penalty_exact"]),
            settled_on=date.fromisoformat(r["settled_on"]) if r.get("settled_on") else None,
            **{k: int(r[k]) for k in _ROW_INTS},
        )
        for r in d["rows"]
    )
    last = d.get("last_value_date")
    return LoanState(
        terms=terms,
        status=Status(d["status"]),
        rows=rows,
        accrued_through=date.fromisoformat(d["accrued_through"]),
        penalty_through=date.fromisoformat(d["penalty_through"]),
        last_value_date=date.fromisoformat(last) if last else None,
        **{k: int(d.get(k, 0)) for k in _STATE_INTS},
    )


def contract_terms(contract: Contract) -> LoanTerms:
    return terms_from_json(contract.terms)


def contract_state(contract: Contract) -> LoanState:
    return state_from_json(contract_terms(contract), contract.state)


# --- transactions ↔ rows ----------------------------------------------------------------------------

#: Stored transaction fields: (amount column, payload document, id of the transaction reversed).
Encoded = tuple[Fen, dict[str, Any], str | None]
#: (txn_id, value_date, seq) of a stored row, then its amount, payload and reversed id.
Common = tuple[str, date, int]


@dataclass(frozen=True, slots=True)
class TxnCodec:
    encode: Callable[[Any], Encoded]
    decode: Callable[[Common, Fen, Mapping[str, Any], str | None], Transaction]


def _reversal(common: Common, _amount: Fen, p: Mapping[str, Any], reverses: str | None) -> Transaction:
    if reverses is None:
        raise InvariantViolationError(f"reversal {common[0]} names no target", code="BAD_TRANSACTION_ROW")
    return Reversal(*common, reverses, p.get("reason", ""))


def _waiver(common: Common, amount: Fen, p: Mapping[str, Any], _reverses: str | None) -> Transaction:
    amount_or_all = None if p.get("all") else amount
    return Waiver(
        *common,
        WaiverKind(p["kind"]),
        p.get("reason", ""),
        amount_or_all,
        bool(p.get("at_most")),
        bool(p.get("refund_paid")),
    )


TXN_CODECS: Final[Mapping[type[Any], TxnCodec]] = {
    Disbursement: TxnCodec(lambda t: (t.amount, {}, None), lambda c, a, p, r: Disbursement(*c, a)),
    Repayment: TxnCodec(
        lambda t: (t.amount, {"waterfall": t.waterfall, **({"hold": True} if t.hold else {})}, None),
        lambda c, a, p, r: Repayment(*c, a, p.get("waterfall"), bool(p.get("hold", False))),
    ),
    InterestAccrual: TxnCodec(lambda t: (0, {}, None), lambda c, a, p, r: InterestAccrual(*c)),
    PenaltyAccrual: TxnCodec(
        lambda t: (0, {"covered_by_payment": t.covered_by_payment} if t.covered_by_payment else {}, None),
        lambda c, a, p, r: PenaltyAccrual(*c, int(p.get("covered_by_payment", 0))),
    ),
    Fee: TxnCodec(
        lambda t: (t.amount, {"reason": t.reason}, None), lambda c, a, p, r: Fee(*c, a, p.get("reason", ""))
    ),
    Waiver: TxnCodec(
        lambda t: (
            t.amount or 0,
            {"kind": t.kind.value, "reason": t.reason, "all": t.amount is None}
            | ({"at_most": True} if t.at_most else {})
            | ({"refund_paid": True} if t.refund_paid else {}),
            None,
        ),
        _waiver,
    ),
    Reversal: TxnCodec(lambda t: (0, {"reason": t.reason}, t.target_txn_id), _reversal),
    WriteOff: TxnCodec(
        lambda t: (0, {"reason": t.reason}, None), lambda c, a, p, r: WriteOff(*c, p.get("reason", ""))
    ),
    Recovery: TxnCodec(lambda t: (t.amount, {}, None), lambda c, a, p, r: Recovery(*c, a)),
    CreditTransfer: TxnCodec(
        lambda t: (t.amount, {"to_contract_id": t.to_contract_id}, None),
        lambda c, a, p, r: CreditTransfer(*c, a, p["to_contract_id"]),
    ),
    CreditApplication: TxnCodec(
        lambda t: (t.amount, {"from_contract_id": t.from_contract_id}, None),
        lambda c, a, p, r: CreditApplication(*c, a, p.get("from_contract_id")),
    ),
    Restructure: TxnCodec(
        lambda t: (0, {"kind": t.kind, "periods": t.periods, "offer_id": t.offer_id}, None),
        lambda c, a, p, r: Restructure(*c, p["kind"], int(p["periods"]), p.get("offer_id", "")),
    ),
}
_BY_NAME: Final = {TRANSACTION_TYPES[kind]: codec for kind, codec in TXN_CODECS.items()}


def txn_row_values(
    txn: Transaction,
    *,
    contract_id: str,
    business_date: date,
    payment_id: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """The ``loan_transactions`` row of ``txn`` as column values (for bulk inserts)."""
    amount, payload, reverses = TXN_CODECS[type(txn)].encode(txn)
    return {
        "id": txn.txn_id,
        "contract_id": contract_id,
        "seq": txn.seq,
        "type": TRANSACTION_TYPES[type(txn)],
        "amount": amount,
        "value_date": txn.value_date,
        "business_date": business_date,
        "reverses_txn_id": reverses,
        "payment_id": payment_id,
        "payload": payload,
        "idempotency_key": idempotency_key,
    }


def txn_from_row(row: LoanTransaction) -> Transaction:
    codec = _BY_NAME.get(row.type)
    if codec is None:
        raise InvariantViolationError(f"unknown transaction type {row.type!r}", code="BAD_TRANSACTION_ROW")
    return codec.decode((row.id, row.value_date, row.seq), row.amount, row.payload or {}, row.reverses_txn_id)
