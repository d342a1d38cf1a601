"""Invariants 2 and 4 per contract as one set-based query per id-range partition (issue 12).

The old check decoded every contract's JSON state in Python (``state_from_json``: ~1,000 contracts/s)
to compare it with the ledger. Here the database does it and returns only the contracts where
something is wrong; Python formats those few rows into messages. Per contract the query compares:

* the ledger's balance on each control account (postings grouped by contract) with the sub-ledger
  figure of the state (:meth:`lendcore.core.contract.LoanState.subledger`);
* the mirror columns (``outstanding_principal`` …) with the same state figures;
* cash in + credit in − credit out with allocated + suspense; no negative balance; the status column
  with the state's status.

Why the database's JSON functions and not more mirror columns: the figures invariant 4 needs
(``cash_in``, ``credit_in``/``credit_out``, ``suspense``, and "allocated", a sum over the installment
rows) live only in the JSON state. Mirroring them would add six columns, a migration with a backfill,
and a wider UPDATE on every booking (the hot path issue 12 is also about), and the check would then
compare copies with copies: a JSON figure tampered behind its mirror's back would need a second,
JSON-reading check anyway. Reading the JSON in SQL keeps the state the single source of truth and
costs nothing on the write path. PostgreSQL stores the state as ``JSONB`` (already decoded, binary);
SQLite's ``json_extract``/``json_each`` run in C. Both are spelled out per dialect below; the figures
are the same sums :class:`~lendcore.core.contract.InstallmentState` computes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.orm import Session

from lendcore.core.contract import Status
from lendcore.core.ledger import CONTROL_ACCOUNTS, Account, Side

_SIGN: Final = {a: (1 if a.normal_side is Side.DEBIT else -1) for a in Account}

#: Scalar figures of the state document (top level) the check reads.
_STATE_FIGURES: Final = (
    "suspense",
    "cash_in",
    "credit_in",
    "credit_out",
    "principal_prepaid",
    "prepayment_fees",
    "recovered",
)

#: Per installment row: the outstanding balance of each mirrored account (InstallmentState's
#: properties), as (column alias, + field, − fields).
_ROW_BALANCES: Final = (
    ("s_principal", "principal", ("principal_paid",)),
    ("s_interest", "interest_accrued", ("interest_paid", "interest_waived")),
    ("s_penalty", "penalty_accrued", ("penalty_paid", "penalty_waived")),
    ("s_fee", "fee_charged", ("fee_paid", "fee_waived")),
)
_ROW_PAID: Final = ("principal_paid", "interest_paid", "fee_paid", "penalty_paid")

#: The mirrored accounts: (account, mirror column, state figure alias).
MIRRORS: Final = (
    (Account.LOAN_PRINCIPAL, "outstanding_principal", "s_principal"),
    (Account.INTEREST_RECEIVABLE, "interest_receivable", "s_interest"),
    (Account.PENALTY_RECEIVABLE, "penalty_receivable", "s_penalty"),
    (Account.FEE_RECEIVABLE, "fee_receivable", "s_fee"),
)


@dataclass(frozen=True, slots=True)
class _Dialect:
    """How one database reads a number or a string out of a JSON document, and a document's rows."""

    number: str  # format with doc, key
    string: str
    rows: str  # a FROM item over c.state's "rows" array, each element as r.value


_DIALECTS: Final = {
    "sqlite": _Dialect(
        number="COALESCE(json_extract({doc}, '$.{key}'), 0)",
        string="json_extract({doc}, '$.{key}')",
        rows="json_each(c.state, '$.rows') AS r",
    ),
    "postgresql": _Dialect(
        number="COALESCE(({doc} ->> '{key}')::bigint, 0)",
        string="({doc} ->> '{key}')",
        rows="jsonb_array_elements(c.state -> 'rows') AS r(value)",
    ),
}


def _dialect(session: Session) -> _Dialect:
    return _DIALECTS[session.get_bind().dialect.name]


def _ledger_columns() -> str:
    """One signed balance column per control account (a pivot of the postings grouped by contract)."""
    return ",\n".join(
        f"SUM(CASE WHEN account_code = '{a.value}' THEN {_SIGN[a]} * (debit - credit) ELSE 0 END) AS g_{i}"
        for i, a in enumerate(CONTROL_ACCOUNTS)
    )


def _subledger_alias(account: Account) -> str:
    """The state figure (alias in the query) that equals the control account's balance."""
    mirrored = {a: alias for a, _, alias in MIRRORS}
    if account in mirrored:
        return mirrored[account]
    if account is Account.SUSPENSE:
        return "suspense"
    if account is Account.CREDIT_TRANSFER:
        return "(credit_out - credit_in)"
    raise AssertionError(account)  # pragma: no cover - CONTROL_ACCOUNTS is the six above


def _mismatch_sql(d: _Dialect, upper: bool) -> str:
    """The partition query: contracts with id in (lo, hi], each with its state figures (from JSON),
    mirror columns and ledger balances; only the rows where some comparison fails come back."""
    num = d.number.format
    balances = ",\n".join(
        f"SUM({num(doc='r.value', key=plus)}"
        + "".join(f" - {num(doc='r.value', key=m)}" for m in minus)
        + f") AS {alias}"
        for alias, plus, minus in _ROW_BALANCES
    )
    paid = " + ".join(num(doc="r.value", key=k) for k in _ROW_PAID)
    figures = ",\n".join(f"{num(doc='c.state', key=k)} AS {k}" for k in _STATE_FIGURES)
    state_status = f"COALESCE({d.string.format(doc='state', key='status')}, :pending)"
    active = ", ".join(
        f"CASE WHEN st = :active THEN COALESCE(r.{alias}, 0) ELSE 0 END AS {alias}"
        for alias, *_ in _ROW_BALANCES
    )
    ledger = ", ".join(f"COALESCE(g.g_{i}, 0) AS g_{i}" for i in range(len(CONTROL_ACCOUNTS)))
    hi = " AND id <= :hi" if upper else ""
    hi_p = " AND contract_id <= :hi" if upper else ""
    checks = [f"g_{i} <> {_subledger_alias(a)}" for i, a in enumerate(CONTROL_ACCOUNTS)]
    checks += [f"{column} <> {alias}" for _, column, alias in MIRRORS]
    checks += [f"{column} < 0" for _, column, _ in MIRRORS]
    checks += [
        "suspense < 0",
        "cash_in + credit_in - credit_out <> allocated + suspense",
        "(status <> st AND NOT (status = :cancelled AND st = :pending))",
    ]
    mirrors = ", ".join(column for _, column, _ in MIRRORS)
    return f"""
WITH c AS (
  SELECT id, status, {mirrors}, state, {state_status} AS st FROM contracts WHERE id > :lo{hi}
),
r AS (
  SELECT c.id AS id, {balances}, SUM({paid}) AS paid FROM c, {d.rows} GROUP BY c.id
),
g AS (
  SELECT contract_id AS id, {_ledger_columns()} FROM postings
  WHERE account_code IN ({", ".join(f"'{a.value}'" for a in CONTROL_ACCOUNTS)})
    AND contract_id > :lo{hi_p}
  GROUP BY contract_id
),
s AS (
  SELECT c.id AS id, c.status AS status, st, {mirrors}, {figures}, {active},
         COALESCE(r.paid, 0) AS paid, {ledger}
  FROM c LEFT JOIN r ON r.id = c.id LEFT JOIN g ON g.id = c.id
),
t AS (SELECT s.*, paid + principal_prepaid + prepayment_fees + recovered AS allocated FROM s)
SELECT * FROM t WHERE {" OR ".join(checks)} ORDER BY id
"""


def contract_mismatches(session: Session, lo: str, hi: str | None) -> tuple[list[str], list[str]]:
    """Invariants 2 and 4 for the contracts with id in (``lo``, ``hi``] (``hi`` None: no upper bound):
    one query; (sub-ledger, cash) messages only for the contracts where something is wrong, in id
    order."""
    params: dict[str, Any] = {
        "lo": lo,
        "active": Status.ACTIVE.value,
        "pending": Status.PENDING.value,
        "cancelled": "cancelled",
    }
    if hi is not None:
        params["hi"] = hi
    rows = session.execute(text(_mismatch_sql(_dialect(session), hi is not None)), params).all()
    subledger: list[str] = []
    cash: list[str] = []
    for row in rows:
        _messages(row._mapping, subledger, cash)
    return subledger, cash


def _messages(m: Mapping[Any, Any], out: list[str], cash: list[str]) -> None:
    """The same messages, in the same order, as the per-contract Python check had."""
    cid = m["id"]
    mirrors = {a: int(m[column]) for a, column, _ in MIRRORS}
    sub_of = {a: alias for a, _, alias in MIRRORS}
    for i, account in enumerate(CONTROL_ACCOUNTS):
        if account in sub_of:
            sub = int(m[sub_of[account]])
        elif account is Account.SUSPENSE:
            sub = int(m["suspense"])
        else:
            sub = int(m["credit_out"]) - int(m["credit_in"])
        booked = int(m[f"g_{i}"])
        if booked != sub:
            out.append(f"{cid} {account.name}: ledger {booked}, sub-ledger {sub}")
        if account in mirrors and mirrors[account] != sub:
            out.append(f"{cid} {account.name}: mirror {mirrors[account]}, state {sub}")
    cash_in, credit_in, credit_out = int(m["cash_in"]), int(m["credit_in"]), int(m["credit_out"])
    allocated, suspense = int(m["allocated"]), int(m["suspense"])
    if cash_in + credit_in - credit_out != allocated + suspense:
        cash.append(
            f"{cid}: cash in {cash_in} + credit in {credit_in} − credit out {credit_out} "
            f"≠ allocated {allocated} + unapplied {suspense}"
        )
    if suspense < 0 or any(v < 0 for v in mirrors.values()):
        out.append(f"{cid}: negative balance (suspense {suspense}, {mirrors})")
    if m["status"] != m["st"] and not (m["status"] == "cancelled" and m["st"] == Status.PENDING.value):
        out.append(f"{cid}: status {m['status']}, state {m['st']}")


def contract_totals(session: Session) -> tuple[int, int, int]:
    """(contracts, Σ cash in, Σ principal disbursed) over every contract's state: one aggregate."""
    num = _dialect(session).number.format
    row: tuple[Any, ...] = tuple(
        session.execute(
            text(
                f"SELECT COUNT(*), COALESCE(SUM({num(doc='state', key='cash_in')}), 0), "
                f"COALESCE(SUM({num(doc='state', key='principal_disbursed')}), 0) FROM contracts"
            )
        ).one()
    )
    return int(row[0]), int(row[1]), int(row[2])
