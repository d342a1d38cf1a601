"""The contract repository: locking, loading the book, writing snapshots, schedules and rows in bulk.

* :func:`lock_contract` (``SELECT … FOR UPDATE``), :func:`load_book` (the stored transactions replayed
  into a :class:`~lendcore.core.book.LoanBook`; each applied transaction's journal entry carries the id
  of its live database entry, so the mirrors of a backdated booking can name what they reverse),
  :func:`state_as_of` (the state after every transaction value-dated on or before a date);
* :class:`RowWriter` and :func:`write_contracts`: the bulk writes (one multi-row ``INSERT`` per table,
  one version-checked executemany ``UPDATE`` for many contracts) that booking and the close share;
* :func:`save_state` (the snapshot and its scalar mirrors), schedule versions, new contract rows.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final, cast

from sqlalchemy import Connection, Table, TextClause, bindparam, insert, inspect, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from lendcore.core import ledger
from lendcore.core.accrual import accrue
from lendcore.core.book import LoanBook
from lendcore.core.contract import LoanState, LoanTerms, Status
from lendcore.core.delinquency import Delinquency, LoanClass, assess
from lendcore.core.errors import InvariantViolationError, NotFoundError, ValidationError
from lendcore.core.quiet import quiet_columns
from lendcore.core.quiet_overdue import encode as encode_penalty
from lendcore.core.rates import to_ppm
from lendcore.core.schedule import Installment, InterestRule
from lendcore.core.transactions import Transaction
from lendcore.products.catalog import Product, default_catalog
from lendcore.servicing.codecs import (
    contract_state,
    contract_terms,
    state_to_json,
    terms_to_json,
    txn_from_row,
    txn_row_values,
)
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


def lock_contract(session: Session, contract_id: str) -> Contract:
    contract = session.scalars(for_update(select(Contract).where(Contract.id == contract_id))).one_or_none()
    if contract is None:
        raise NotFoundError(f"no contract {contract_id}", code="CONTRACT_NOT_FOUND", contract_id=contract_id)
    return contract


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


_TXN_TABLE = cast(Table, LoanTransaction.__table__)
_ENTRY_TABLE = cast(Table, JournalEntryRow.__table__)
_POSTING_TABLE = cast(Table, PostingRow.__table__)
_CONTRACT_TABLE = cast(Table, Contract.__table__)
_CONTRACT_COLUMNS: Final = tuple(c.key for c in _CONTRACT_TABLE.c)
_ALWAYS_SET: Final = ("version", "updated_at")  # every contract write sets them


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

    def write(self, session: Session, *, contracts: Sequence[Contract] = ()) -> None:
        """Insert the collected rows (after flushing the session: the rows they refer to come first).

        With ``contracts`` (locked rows whose columns the caller changed) their changes are written
        too, version-checked exactly as :func:`write_contracts` does. On PostgreSQL one contract and
        the rows go in **one statement**: the inserts are data-modifying CTEs of the version-checked
        ``UPDATE … RETURNING`` (foreign keys are checked at the end of the statement, so rows may refer
        to each other and to the contract): a booking's writes cost one round trip (issue 12)."""
        changed = _contract_changes(session, contracts)
        now = utc_now()
        params = _update_params(changed, now)
        _mark_written(session, changed, now)  # before the flush: the ORM must not write them again
        session.flush()
        connection = session.connection()
        if connection.dialect.name == "postgresql" and len(changed) == 1:
            self._write_in_one_statement(connection, now, changed[0][1], params[0])
        else:
            self._insert_rows(connection, now)
            _execute_updates(connection, changed, params)
        self.transactions, self.entries, self.postings = [], [], []
        self.contract_ids = set()

    def _insert_rows(self, connection: Connection, now: datetime) -> None:
        if self.transactions:
            connection.execute(insert(_TXN_TABLE), [r | {"created_at": now} for r in self.transactions])
        if self.entries:
            connection.execute(insert(_ENTRY_TABLE), [r | {"created_at": now} for r in self.entries])
        if self.postings:
            connection.execute(insert(_POSTING_TABLE), self.postings)

    def _write_in_one_statement(
        self, connection: Connection, now: datetime, names: Sequence[str], params: Mapping[str, Any]
    ) -> None:
        # each table's rows travel as one JSON array (jsonb_populate_recordset): the statement's text
        # depends only on which tables and contract columns it writes, so it is built and compiled
        # once per shape, not once per booking (multi-row VALUES would be recompiled every time)
        ctes: list[str] = []
        documents: dict[str, str] = {}
        for table, rows in (
            (_TXN_TABLE, [r | {"created_at": now} for r in self.transactions]),
            (_ENTRY_TABLE, [r | {"created_at": now} for r in self.entries]),
            (_POSTING_TABLE, self.postings),
        ):
            if rows:
                ctes.append(_recordset_insert(table, tuple(rows[0])))
                documents[f"rows_{table.name}"] = json.dumps(rows, default=_json_value)
        statement = _one_statement(tuple(ctes), tuple(names))
        written = connection.execute(statement, dict(params) | documents).all()
        if len(written) != 1:
            raise StaleDataError(
                "UPDATE statement on table 'contracts' expected to update 1 row(s); 0 were matched."
            )


def _json_value(value: object) -> object:
    if isinstance(value, date | datetime):  # a datetime is a date: isoformat keeps its time and zone
        return value.isoformat()
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


@functools.cache
def _recordset_insert(table: Table, columns: tuple[str, ...]) -> str:
    listed = ", ".join(f'"{c}"' for c in columns)
    return (
        f"new_{table.name} AS (INSERT INTO {table.name} ({listed}) SELECT {listed} FROM "
        f"jsonb_populate_recordset(NULL::{table.name}, CAST(:rows_{table.name} AS JSONB)))"
    )


@functools.cache
def _one_statement(ctes: tuple[str, ...], names: tuple[str, ...]) -> TextClause:
    """``WITH <inserts> UPDATE contracts SET <names>, version, updated_at WHERE id AND version``."""
    table = _CONTRACT_TABLE
    assignments = [f'"{k}" = :b_{k}' for k in names]
    assignments += ["version = :b_new_version", "updated_at = :b_updated_at"]
    prefix = f"WITH {', '.join(ctes)} " if ctes else ""
    sql = f"{prefix}UPDATE contracts SET {', '.join(assignments)} WHERE id = :b_id AND version = :b_version"
    sql += " RETURNING id"
    binds = [bindparam(f"b_{k}", type_=table.c[k].type) for k in names] + [
        bindparam("b_new_version", type_=table.c.version.type),
        bindparam("b_updated_at", type_=table.c.updated_at.type),
        bindparam("b_id", type_=table.c.id.type),
        bindparam("b_version", type_=table.c.version.type),
    ]
    return text(sql).bindparams(*binds)


def _contract_changes(session: Session, contracts: Sequence[Contract]) -> list[tuple[Contract, list[str]]]:
    """The contracts of ``session`` with changed columns, and those columns (less version and
    ``updated_at``, which every write sets)."""
    changed: list[tuple[Contract, list[str]]] = []
    for contract in contracts:
        state = inspect(contract)
        if not state.persistent or state.session is not session or not state.modified:
            continue
        unmodified = state.unmodified
        modified = [k for k in _CONTRACT_COLUMNS if k not in unmodified and k not in _ALWAYS_SET]
        if modified:
            changed.append((contract, modified))
    return changed


def _update_params(changed: Sequence[tuple[Contract, list[str]]], now: datetime) -> list[dict[str, Any]]:
    names = sorted({k for _, modified in changed for k in modified})
    return [
        {"b_id": c.id, "b_version": c.version, "b_new_version": c.version + 1, "b_updated_at": now}
        | {f"b_{k}": getattr(c, k) for k in names}
        for c, _ in changed
    ]


def _execute_updates(
    connection: Connection, changed: Sequence[tuple[Contract, list[str]]], params: list[dict[str, Any]]
) -> None:
    """One executemany ``UPDATE`` of ``changed``, checking and bumping ``version`` as the ORM would."""
    if not changed:
        return
    names = sorted({k for _, modified in changed for k in modified})
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
    result = connection.execute(statement, params)
    if result.rowcount != len(params):
        raise StaleDataError(
            f"UPDATE statement on table 'contracts' expected to update {len(params)} row(s); "
            f"{result.rowcount} were matched."
        )


def _mark_written(
    session: Session, changed: Sequence[tuple[Contract, list[str]]], now: datetime, *, detach: bool = False
) -> None:
    """Leave written rows clean in the session at their new version (or, ``detach``, out of it)."""
    for contract, modified in changed:
        if detach:
            session.expunge(contract)
            continue
        for k in modified:
            set_committed_value(contract, k, getattr(contract, k))
        set_committed_value(contract, "version", contract.version + 1)
        set_committed_value(contract, "updated_at", now)


def write_contracts(session: Session, contracts: Sequence[Contract], *, detach: bool = False) -> int:
    """Write the changed columns of many (locked) contract rows with one executemany ``UPDATE``,
    checking and bumping ``version`` exactly as the ORM's flush would (``StaleDataError`` if a row
    changed under us). The rows are left clean in the session, or with ``detach`` removed from it
    (their in-memory version is then stale: the caller is done with them). Returns the rows written."""
    changed = _contract_changes(session, contracts)
    now = utc_now()
    _execute_updates(session.connection(), changed, _update_params(changed, now))
    _mark_written(session, changed, now, detach=detach)
    return len(changed)


def _save_quiet_columns(contract: Contract, state: LoanState) -> None:
    """The snapshot's quiet-day columns (:mod:`lendcore.core.quiet`): what the close needs to accrue
    the contract in aggregate. ``aggregated_from`` is not touched here: only booking moves what the
    aggregate holds for the contract onto it (:func:`lendcore.servicing.booking.post_transaction`)."""
    quiet = quiet_columns(state)
    contract.accrued_through = state.accrued_through
    if quiet is None:
        contract.quiet_until = None
        contract.accrual_basis = contract.accrual_rate = contract.accrual_exact = contract.accrual_booked = (
            None
        )
        contract.accrual_penalty = None
        contract.overdue_since = None
        return
    contract.quiet_until = quiet.quiet_until
    contract.accrual_basis = quiet.basis
    contract.accrual_rate = str(quiet.daily_rate)
    contract.accrual_exact = str(quiet.exact)
    contract.accrual_booked = quiet.booked
    overdue = quiet.overdue
    contract.accrual_penalty = None if overdue is None else encode_penalty(overdue)
    contract.overdue_since = None if overdue is None else overdue.since


def save_state(
    contract: Contract, state: LoanState, business_date: date, *, judged: Delinquency | None = None
) -> None:
    """Store the snapshot and its scalar mirrors (balances, DPD, classification, status). ``judged``
    is the contract's standing when the close honours money in flight or a fault window
    (:mod:`lendcore.core.standing`); otherwise the state's own rows are judged."""
    contract.state = state_to_json(state)
    contract.as_of = business_date
    contract.outstanding_principal = state.principal_outstanding
    contract.interest_receivable = state.interest_outstanding
    contract.penalty_receivable = state.penalty_outstanding
    contract.fee_receivable = state.fee_outstanding
    _save_quiet_columns(contract, state)
    d = judged or assess(state, max(business_date, state.accrued_through))
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
    end = state.rows[-1].due_date  # the terms' maturity, unless a restructure moved it
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
