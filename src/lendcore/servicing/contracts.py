"""The repository bridge between the pure servicing core and the database.

* :func:`terms_for_product` builds a contract's :class:`LoanTerms` from a catalog product;
  :func:`terms_to_json` / :func:`terms_from_json` store them in ``contracts.terms``.
* :func:`state_to_json` / :func:`state_from_json`: the ``contracts.state`` snapshot (exact decimals as
  strings, dates as ISO strings), so an on-time transaction costs one :func:`~lendcore.core.loan.apply`.
* :func:`txn_to_row` / :func:`txn_from_row`: transaction dataclasses ↔ ``loan_transactions`` rows. The
  database id of a row *is* the core ``txn_id``.
* :func:`load_book`: a contract's :class:`~lendcore.core.loan.LoanBook` rebuilt by replaying its stored
  transactions; each applied transaction's journal entry carries the id of its live database entry, so
  the mirror entries of a backdated booking can name the entries they reverse.
* :func:`post_transaction`: book one transaction on a (locked) contract and write everything it implies
  in the caller's unit of work: the transaction row, journal entries with postings, the state snapshot
  and its scalar mirrors, and a new schedule version when the plan changed (prepayment recompute).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, insert, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from lendcore.core import ledger
from lendcore.core.accrual import accrue
from lendcore.core.book import LoanBook
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
from lendcore.core.delinquency import LoanClass, assess
from lendcore.core.errors import InvariantViolationError, NotFoundError, ValidationError
from lendcore.core.loan import (
    TRANSACTION_TYPES,
    CreditApplication,
    CreditTransfer,
    Disbursement,
    Fee,
    InterestAccrual,
    PenaltyAccrual,
    Recovery,
    Repayment,
    Reversal,
    Transaction,
    Waiver,
    WaiverKind,
    WriteOff,
    apply,
)
from lendcore.core.money import Fen, Rounding
from lendcore.core.performance import worst_days_past_due
from lendcore.core.rates import DayCountBasis, to_ppm
from lendcore.core.schedule import Installment, InterestRule, Method, installment_to_json
from lendcore.products.catalog import Product, default_catalog
from lendcore.store.engine import for_update
from lendcore.store.ids import new_id
from lendcore.store.models import Contract, LoanTransaction, ScheduleRow
from lendcore.store.models import JournalEntry as JournalEntryRow
from lendcore.store.models import Posting as PostingRow
from lendcore.store.types import utc_now

#: Five-level classification as stored in ``contracts.classification``.
CLASS_SLUGS: Final[Mapping[LoanClass, str]] = {
    LoanClass.NORMAL: "normal",
    LoanClass.SPECIAL_MENTION: "special-mention",
    LoanClass.SUBSTANDARD: "substandard",
    LoanClass.DOUBTFUL: "doubtful",
    LoanClass.LOSS: "loss",
}

#: Contract statuses beyond the core's: a drawdown whose disbursement failed.
CANCELLED: Final = "cancelled"


# --- terms ------------------------------------------------------------------------------------------


def terms_for_product(
    product: Product,
    *,
    contract_id: str,
    customer_id: str,
    schedule: Sequence[Installment],
    daily_rate: Decimal,
    method: Method,
) -> LoanTerms:
    """The signed terms of a drawdown on ``product``. The catalog caps the penalty rate alone
    (overdue principal bears penalty *instead of* contract interest), hence
    ``cap_includes_contract_rate=False``."""
    year_days = 360 if product.day_count is DayCountBasis.D360 else 365
    return LoanTerms(
        contract_id=contract_id,
        customer_id=customer_id,
        product_code=product.code,
        principal=sum(r.principal for r in schedule),
        daily_rate=daily_rate,
        method=method,
        schedule=tuple(schedule),
        interest_rule=product.interest_rule,
        penalty_multiplier=product.penalty.multiplier,
        penalty_on_interest=product.penalty.on_overdue_interest,
        grace_days=product.penalty.grace_days,
        # the catalog's rule: penalty is a multiple of the contract rate, or of the product's base
        # rate when the contract's is 0 (免息 plans)
        penalty_base_daily_rate=product.penalty.base_daily_rate if daily_rate == 0 else None,
        rate_cap_annual=product.cost_cap,
        cap_includes_contract_rate=False,
        year_days=year_days,
        waterfall=product.allocation_waterfall,
        prepayment_recompute=PrepaymentRecompute(product.prepayment_recompute.value),
        prepayment_fee=(
            PrepaymentFee.percent(product.prepayment_fee_rate)
            if product.prepayment_fee_rate > 0
            else PrepaymentFee.none()
        ),
        revolving=product.revolving,
        rounding=product.rounding,
        product_class=product.product_class,
        installment_multiple=product.installment_multiple,
    )


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

TXN_TYPES: Final = TRANSACTION_TYPES


def txn_row_values(
    txn: Transaction,
    *,
    contract_id: str,
    business_date: date,
    payment_id: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """The ``loan_transactions`` row of ``txn`` as column values (for bulk inserts)."""
    amount: Fen = 0
    payload: dict[str, Any] = {}
    reverses: str | None = None
    if isinstance(txn, Disbursement | Recovery):
        amount = txn.amount
    elif isinstance(txn, Repayment):
        amount = txn.amount
        payload = {"waterfall": txn.waterfall}
    elif isinstance(txn, Fee):
        amount = txn.amount
        payload = {"reason": txn.reason}
    elif isinstance(txn, Waiver):
        amount = txn.amount or 0
        payload = {"kind": txn.kind.value, "reason": txn.reason, "all": txn.amount is None}
    elif isinstance(txn, Reversal):
        reverses = txn.target_txn_id
        payload = {"reason": txn.reason}
    elif isinstance(txn, WriteOff):
        payload = {"reason": txn.reason}
    elif isinstance(txn, CreditTransfer):
        amount = txn.amount
        payload = {"to_contract_id": txn.to_contract_id}
    elif isinstance(txn, CreditApplication):
        amount = txn.amount
        payload = {"from_contract_id": txn.from_contract_id}
    return {
        "id": txn.txn_id,
        "contract_id": contract_id,
        "seq": txn.seq,
        "type": TXN_TYPES[type(txn)],
        "amount": amount,
        "value_date": txn.value_date,
        "business_date": business_date,
        "reverses_txn_id": reverses,
        "payment_id": payment_id,
        "payload": payload,
        "idempotency_key": idempotency_key,
    }


def txn_to_row(
    txn: Transaction,
    *,
    contract_id: str,
    business_date: date,
    payment_id: str | None = None,
    idempotency_key: str | None = None,
) -> LoanTransaction:
    return LoanTransaction(
        **txn_row_values(
            txn,
            contract_id=contract_id,
            business_date=business_date,
            payment_id=payment_id,
            idempotency_key=idempotency_key,
        )
    )


def txn_from_row(row: LoanTransaction) -> Transaction:
    p = row.payload or {}
    common = (row.id, row.value_date, row.seq)
    kind = row.type
    if kind == "disbursement":
        return Disbursement(*common, row.amount)
    if kind == "repayment":
        return Repayment(*common, row.amount, p.get("waterfall"))
    if kind == "interest-accrual":
        return InterestAccrual(*common)
    if kind == "penalty-accrual":
        return PenaltyAccrual(*common)
    if kind == "fee":
        return Fee(*common, row.amount, p.get("reason", ""))
    if kind == "waiver":
        return Waiver(
            *common, WaiverKind(p["kind"]), p.get("reason", ""), None if p.get("all") else row.amount
        )
    if kind == "reversal":
        if row.reverses_txn_id is None:
            raise InvariantViolationError(f"reversal {row.id} names no target", code="BAD_TRANSACTION_ROW")
        return Reversal(*common, row.reverses_txn_id, p.get("reason", ""))
    if kind == "write-off":
        return WriteOff(*common, p.get("reason", ""))
    if kind == "recovery":
        return Recovery(*common, row.amount)
    if kind == "credit-transfer":
        return CreditTransfer(*common, row.amount, p["to_contract_id"])
    if kind == "credit-application":
        return CreditApplication(*common, row.amount, p.get("from_contract_id"))
    raise InvariantViolationError(f"unknown transaction type {kind!r}", code="BAD_TRANSACTION_ROW")


def stored_transactions(session: Session, contract_id: str) -> list[Transaction]:
    rows = session.scalars(
        select(LoanTransaction)
        .where(LoanTransaction.contract_id == contract_id)
        .order_by(LoanTransaction.seq)
    ).all()
    return [txn_from_row(r) for r in rows]


# --- the book ---------------------------------------------------------------------------------------


def _live_entries(session: Session, contract_id: str) -> dict[str, str]:
    """txn id → id of its journal entry that is not a mirror and has not been mirrored."""
    rows = session.execute(
        select(JournalEntryRow.id, JournalEntryRow.source_txn_id, JournalEntryRow.reverses_entry_id)
        .where(JournalEntryRow.contract_id == contract_id)
        .order_by(JournalEntryRow.id)
    ).all()
    mirrored = {r.reverses_entry_id for r in rows if r.reverses_entry_id}
    live: dict[str, str] = {}
    for entry_id, txn_id, reverses in rows:
        if reverses is None and entry_id not in mirrored and txn_id is not None:
            if txn_id in live:
                raise InvariantViolationError(
                    f"transaction {txn_id} has two live journal entries", code="LEDGER_INCONSISTENT"
                )
            live[txn_id] = entry_id
    return live


def load_book(session: Session, contract: Contract) -> LoanBook:
    """The contract's book, rebuilt by replaying its stored transactions (for backdating/reversals)."""
    live = _live_entries(session, contract.id)
    return LoanBook.rebuild(
        contract_terms(contract), stored_transactions(session, contract.id), lambda t: live.get(t.txn_id)
    )


def state_as_of(session: Session, contract: Contract, on: date) -> LoanState:
    """The contract's state after every transaction value-dated on or before ``on`` (not accrued)."""
    state = contract_state(contract)
    if state.last_value_date is None or state.last_value_date <= on:
        return state
    book = load_book(session, contract)
    before = [a.state for a in book.applied if a.txn.value_date <= on]
    return before[-1] if before else LoanState.new(book.terms)


# --- booking ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Posted:
    """What :func:`post_transaction` did: the state before and after, the transaction, the entries."""

    before: LoanState
    after: LoanState
    txn: Transaction
    entries: tuple[ledger.JournalEntry, ...]
    backdated: bool
    schedule_version: int | None  # the new schedule version written, if the plan changed


def lock_contract(session: Session, contract_id: str) -> Contract:
    contract = session.scalars(for_update(select(Contract).where(Contract.id == contract_id))).one_or_none()
    if contract is None:
        raise NotFoundError(f"no contract {contract_id}", code="CONTRACT_NOT_FOUND", contract_id=contract_id)
    return contract


_TXN_TABLE = cast(Table, LoanTransaction.__table__)
_ENTRY_TABLE = cast(Table, JournalEntryRow.__table__)
_POSTING_TABLE = cast(Table, PostingRow.__table__)
_CONTRACT_TABLE = cast(Table, Contract.__table__)
_CONTRACT_COLUMNS: Final = tuple(c.key for c in _CONTRACT_TABLE.c)


class RowWriter:
    """The rows :func:`post_transaction` writes (transactions, journal entries, postings), inserted in
    bulk: one multi-row ``INSERT`` per table instead of an ORM flush per object.

    :func:`post_transaction` without a writer writes its rows at once; the daily close passes one
    writer per chunk and calls :meth:`write` once (after :func:`write_contracts`), so a chunk of
    contracts costs a handful of statements. Rows bypass the session's identity map (nothing reads
    them back through the ORM in the same unit of work: :func:`load_book` queries the database and
    writes this writer's rows for the contract first).
    """

    __slots__ = ("contract_ids", "entries", "postings", "transactions")

    def __init__(self) -> None:
        self.transactions: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []
        self.postings: list[dict[str, Any]] = []
        self.contract_ids: set[str] = set()

    def add(
        self,
        contract: Contract,
        txn: Transaction,
        entries: Sequence[ledger.JournalEntry],
        *,
        business_date: date,
        payment_id: str | None,
        idempotency_key: str | None,
    ) -> None:
        self.contract_ids.add(contract.id)
        self.transactions.append(
            txn_row_values(
                txn,
                contract_id=contract.id,
                business_date=business_date,
                payment_id=payment_id,
                idempotency_key=idempotency_key,
            )
        )
        ids: dict[str, str] = {}
        for e in entries:
            db_id = new_id("je")
            ids[e.entry_id] = db_id
            self.entries.append(
                {
                    "id": db_id,
                    "business_date": business_date,
                    "value_date": e.value_date,
                    "description": (e.memo or type(e).__name__)[:200],
                    "source_txn_id": e.txn_id or None,
                    "contract_id": contract.id,
                    "payment_id": payment_id if e.txn_id == txn.txn_id and not e.reverses else None,
                    "reverses_entry_id": ids.get(e.reverses, e.reverses) if e.reverses else None,
                }
            )
            self.postings.extend(
                {
                    "entry_id": db_id,
                    "account_code": p.account.value,
                    "contract_id": p.contract_id,
                    "customer_id": p.customer_id,
                    "debit": p.amount if p.side is ledger.Side.DEBIT else 0,
                    "credit": p.amount if p.side is ledger.Side.CREDIT else 0,
                }
                for p in e.postings
            )

    def pending_for(self, contract_id: str) -> bool:
        return contract_id in self.contract_ids

    def write(self, session: Session) -> None:
        """Insert the collected rows (after flushing the session: the rows they refer to come first)."""
        session.flush()
        connection = session.connection()
        now = utc_now()
        if self.transactions:
            connection.execute(insert(_TXN_TABLE), [r | {"created_at": now} for r in self.transactions])
        if self.entries:
            connection.execute(insert(_ENTRY_TABLE), [r | {"created_at": now} for r in self.entries])
        if self.postings:
            connection.execute(insert(_POSTING_TABLE), self.postings)
        self.transactions, self.entries, self.postings = [], [], []
        self.contract_ids = set()


def post_transaction(
    session: Session,
    contract: Contract,
    make: Callable[[str, int], Transaction],
    *,
    business_date: date,
    payment_id: str | None = None,
    idempotency_key: str | None = None,
    writer: RowWriter | None = None,
) -> Posted:
    """Book ``make(txn_id, seq)`` on ``contract`` (lock it first) and write what it implies.

    On-time transactions are applied to the stored snapshot; backdated ones and reversals go through
    the full :class:`LoanBook` (mirror entries, re-applied later transactions). Any refusal raises
    before anything is written. With ``writer`` the transaction, entry and posting rows are left in it
    for the caller to :meth:`RowWriter.write` (the daily close writes a chunk at once); the contract
    row itself is changed in the session either way.
    """
    terms = contract_terms(contract)
    before = state_from_json(terms, contract.state)
    seq = contract.last_replayed_seq + 1
    txn = make(new_id("txn"), seq)
    on_time = not isinstance(txn, Reversal) and (
        before.last_value_date is None or txn.value_date >= before.last_value_date
    )
    entries: tuple[ledger.JournalEntry, ...]
    if on_time:
        outcome = apply(before, txn)
        after, postings = outcome.state, outcome.postings
        entries = (
            (
                ledger.JournalEntry(
                    f"new:{txn.txn_id}", txn.value_date, postings, txn.txn_id, type(txn).__name__
                ),
            )
            if postings
            else ()
        )
    else:
        if writer is not None and writer.pending_for(contract.id):
            writer.write(session)  # load_book reads the contract's rows from the database
        book = load_book(session, contract)
        if book.state != before:
            raise InvariantViolationError(
                f"contract {contract.id}: stored state differs from the replay of its transactions",
                code="REPLAY_MISMATCH",
            )
        new_book, entries = book.book(txn)
        after = new_book.state
        # the rebooking may cure (or reveal) past delinquency: recompute the worst DPD from the replay
        contract.max_days_past_due = worst_days_past_due(
            [(a.txn.value_date, a.state) for a in new_book.applied], max(business_date, after.accrued_through)
        )
    rows = writer if writer is not None else RowWriter()
    rows.add(
        contract,
        txn,
        entries,
        business_date=business_date,
        payment_id=payment_id,
        idempotency_key=idempotency_key,
    )
    if writer is None:
        rows.write(session)
    version = None
    if tuple(r.principal for r in after.rows) != tuple(r.principal for r in before.rows) and (
        before.status is not Status.PENDING
    ):
        version = contract.schedule_version + 1
        write_schedule(session, contract.id, version, projected_schedule(after))
        contract.schedule_version = version
    contract.last_replayed_seq = seq
    save_state(contract, after, business_date)
    return Posted(before, after, txn, entries, not on_time, version)


def write_contracts(session: Session, contracts: Sequence[Contract], *, detach: bool = False) -> int:
    """Write the changed columns of many (locked) contract rows with one executemany ``UPDATE``,
    checking and bumping ``version`` exactly as the ORM's flush would (``StaleDataError`` if a row
    changed under us). The rows are left clean in the session, or with ``detach`` removed from it
    (their in-memory version is then stale: the caller is done with them). Returns the rows written."""
    changed: list[tuple[Contract, list[str]]] = []
    keys: set[str] = set()
    for contract in contracts:
        state = inspect(contract)
        if not state.persistent or state.session is not session or not state.modified:
            continue
        unmodified = state.unmodified
        modified = [k for k in _CONTRACT_COLUMNS if k not in unmodified]
        if modified:
            changed.append((contract, modified))
            keys.update(modified)
    if not changed:
        return 0
    keys.discard("version")
    keys.discard("updated_at")
    names = sorted(keys)
    table = _CONTRACT_TABLE
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"))
        .values(
            {table.c[k]: bindparam(f"b_{k}", type_=table.c[k].type) for k in names}
            | {
                table.c.version: bindparam("b_new_version", type_=table.c.version.type),
                table.c.updated_at: bindparam("b_updated_at", type_=table.c.updated_at.type),
            }
        )
    )
    now = utc_now()
    params = [
        {"b_id": c.id, "b_version": c.version, "b_new_version": c.version + 1, "b_updated_at": now}
        | {f"b_{k}": getattr(c, k) for k in names}
        for c, _ in changed
    ]
    result = session.connection().execute(statement, params)
    if result.rowcount != len(params):
        raise StaleDataError(
            f"UPDATE statement on table 'contracts' expected to update {len(params)} row(s); "
            f"{result.rowcount} were matched."
        )
    for contract, modified in changed:
        if detach:
            session.expunge(contract)
            continue
        for k in modified:
            if k not in ("version", "updated_at"):
                set_committed_value(contract, k, getattr(contract, k))
        set_committed_value(contract, "version", contract.version + 1)
        set_committed_value(contract, "updated_at", now)
    return len(changed)


def save_state(contract: Contract, state: LoanState, business_date: date) -> None:
    """Store the snapshot and its scalar mirrors (balances, DPD, classification, status)."""
    contract.state = state_to_json(state)
    contract.as_of = business_date
    contract.outstanding_principal = state.principal_outstanding
    contract.interest_receivable = state.interest_outstanding
    contract.penalty_receivable = state.penalty_outstanding
    contract.fee_receivable = state.fee_outstanding
    d = assess(state, max(business_date, state.accrued_through))
    contract.days_past_due = d.dpd
    contract.max_days_past_due = max(contract.max_days_past_due or 0, d.dpd)
    contract.classification = CLASS_SLUGS[d.loan_class]
    if contract.status != state.status.value:
        contract.status = state.status.value
        if state.status is Status.CLOSED:
            contract.closed_on = business_date
    elif state.status is Status.ACTIVE:
        contract.closed_on = None


# --- schedules --------------------------------------------------------------------------------------


def projected_schedule(state: LoanState) -> tuple[Installment, ...]:
    """The plan as it now stands: past rows as accrued, future rows' interest projected as if every
    installment were paid on its due date (accrual to maturity on the not-yet-due principal)."""
    end = state.terms.maturity_date
    projected = state
    if state.status is Status.ACTIVE and state.accrued_through < end:
        projected, _ = accrue(state, end, penalty=False)
    rows = []
    remaining = sum(r.principal for r in projected.rows)
    for r in projected.rows:
        remaining -= r.principal
        fee = max(r.fee_charged, r.scheduled_fee)
        rows.append(
            Installment(
                period=r.period,
                start_date=r.start_date,
                due_date=r.due_date,
                days=(r.due_date - r.start_date).days,
                principal=r.principal,
                interest=r.interest_accrued,
                fee=fee,
                total=r.principal + r.interest_accrued + fee,
                remaining_principal=remaining,
            )
        )
    return tuple(rows)


def write_schedule(session: Session, contract_id: str, version: int, rows: Sequence[Installment]) -> None:
    for r in rows:
        session.add(
            ScheduleRow(
                contract_id=contract_id,
                version=version,
                period=r.period,
                start_date=r.start_date,
                due_date=r.due_date,
                days=r.days,
                principal=r.principal,
                interest=r.interest,
                fee=r.fee,
                total=r.total,
                remaining_principal=r.remaining_principal,
            )
        )


def current_schedule(session: Session, contract: Contract) -> list[ScheduleRow]:
    return list(
        session.scalars(
            select(ScheduleRow)
            .where(ScheduleRow.contract_id == contract.id, ScheduleRow.version == contract.schedule_version)
            .order_by(ScheduleRow.period)
        ).all()
    )


def new_contract_row(
    *,
    terms: LoanTerms,
    credit_line_id: str,
    purpose: str | None,
    business_date: date,
) -> Contract:
    """A pending contract row for ``terms`` (its schedule is written by the caller)."""
    if terms.interest_rule is not InterestRule.DAYS:  # pragma: no cover - LoanTerms refuses it
        raise ValidationError("unsupported interest rule", code="UNSUPPORTED_INTEREST_RULE")
    state = LoanState.new(terms)
    return Contract(
        id=terms.contract_id,
        credit_line_id=credit_line_id,
        customer_id=terms.customer_id,
        product_code=terms.product_code,
        principal=terms.principal,
        method=terms.method.value,
        term=len(terms.schedule),
        daily_rate_ppm=to_ppm(terms.daily_rate),
        start_date=terms.start_date,
        first_due_date=terms.schedule[0].due_date,
        maturity_date=terms.maturity_date,
        purpose=purpose,
        status=Status.PENDING.value,
        terms=terms_to_json(terms),
        state=state_to_json(state),
        as_of=business_date,
        outstanding_principal=0,
        classification=CLASS_SLUGS[LoanClass.NORMAL],
        last_replayed_seq=0,
        schedule_version=1,
    )


def product_of(contract: Contract) -> Product:
    return default_catalog().get(contract.product_code)
