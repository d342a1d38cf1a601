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
are the same sums :class:`~lendcore.core.contract.InstallmentState` computes. ``WITH … AS
MATERIALIZED`` (PostgreSQL ≥ 12, SQLite ≥ 3.35) makes each figure computed once per contract rather
than once per comparison that reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


_ROW_FIELDS: Final = tuple(
    dict.fromkeys([f for _, plus, minus in _ROW_BALANCES for f in (plus, *minus)] + list(_ROW_PAID))
)
_MIRROR_LIST: Final = ", ".join(column for _, column, _ in MIRRORS)


def _row_sums(value: Callable[[str], str]) -> str:
    """Σ over the installment rows of each outstanding balance (r_<alias>) and of what was paid."""
    sums = [
        f"SUM({value(plus)}{''.join(f' - {value(m)}' for m in minus)}) AS r_{alias}"
        for alias, plus, minus in _ROW_BALANCES
    ]
    return ", ".join([*sums, f"SUM({' + '.join(value(k) for k in _ROW_PAID)}) AS paid"])


def _sqlite_figures(where: Callable[[str], str]) -> str:
    """SQLite: ``json_extract`` for the top-level figures (its parse cache decodes the document once)
    and ``json_each`` over the rows, grouped per contract."""

    def num(doc: str, key: str) -> str:
        return f"COALESCE(json_extract({doc}, '$.{key}'), 0)"

    scalars = ", ".join(f"{num('c.state', k)} AS {k}" for k in _STATE_FIGURES)
    sums = ", ".join(f"r.r_{alias}" for alias, *_ in _ROW_BALANCES)
    return f"""
  SELECT c.id AS id, c.status AS status, {_MIRROR_LIST},
         COALESCE(json_extract(c.state, '$.status'), :pending) AS st, {scalars}, {sums}, r.paid AS paid
  FROM contracts c LEFT JOIN (
    SELECT x.id AS id, {_row_sums(lambda k: num("e.value", k))}
    FROM contracts x, json_each(x.state, '$.rows') AS e WHERE {where("x")} GROUP BY x.id
  ) r ON r.id = c.id
  WHERE {where("c")}"""


def _postgres_figures(where: Callable[[str], str]) -> str:
    """PostgreSQL: ``jsonb_to_record`` / ``jsonb_to_recordset`` read every figure of the document and
    of each row in one pass (separate ``->>`` operators would de-TOAST the document once each)."""
    record = ", ".join([*(f"{k} bigint" for k in _STATE_FIGURES), "status text", '"rows" jsonb'])
    fields = ", ".join(f"{k} bigint" for k in _ROW_FIELDS)
    scalars = ", ".join(f"COALESCE(x.{k}, 0) AS {k}" for k in _STATE_FIGURES)
    return f"""
  SELECT c.id AS id, c.status AS status, {_MIRROR_LIST},
         COALESCE(x.status, :pending) AS st, {scalars}, r.*
  FROM contracts c CROSS JOIN LATERAL jsonb_to_record(c.state) AS x({record})
  LEFT JOIN LATERAL (
    SELECT {_row_sums(lambda k: f"COALESCE(e.{k}, 0)")} FROM jsonb_to_recordset(x."rows") AS e({fields})
  ) r ON true
  WHERE {where("c")}"""


_FIGURES: Final = {"sqlite": _sqlite_figures, "postgresql": _postgres_figures}


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


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


def _mismatch_sql(dialect: str, upper: bool) -> str:
    """The partition query: contracts with id in (lo, hi], each with its state figures (from JSON),
    mirror columns and ledger balances; only the rows where some comparison fails come back."""

    def where(alias: str) -> str:
        return f"{alias}.id > :lo" + (f" AND {alias}.id <= :hi" if upper else "")

    active = ", ".join(
        f"CASE WHEN st = :active THEN COALESCE(c.r_{alias}, 0) ELSE 0 END AS {alias}"
        for alias, *_ in _ROW_BALANCES
    )
    ledger = ", ".join(f"COALESCE(g.g_{i}, 0) AS g_{i}" for i in range(len(CONTROL_ACCOUNTS)))
    hi_p = " AND contract_id <= :hi" if upper else ""
    checks = [f"g_{i} <> {_subledger_alias(a)}" for i, a in enumerate(CONTROL_ACCOUNTS)]
    checks += [f"{column} <> {alias}" for _, column, alias in MIRRORS]
    checks += [f"{column} < 0" for _, column, _ in MIRRORS]
    checks += [
        "suspense < 0",
        "cash_in + credit_in - credit_out <> allocated + suspense",
        "(status <> st AND NOT (status = :cancelled AND st = :pending))",
    ]
    return f"""
WITH c AS MATERIALIZED ({_FIGURES[dialect](where)}
),
g AS (
  SELECT contract_id AS id, {_ledger_columns()} FROM postings
  WHERE account_code IN ({", ".join(f"'{a.value}'" for a in CONTROL_ACCOUNTS)})
    AND contract_id > :lo{hi_p}
  GROUP BY contract_id
),
s AS MATERIALIZED (
  SELECT c.id AS id, c.status AS status, st, {_MIRROR_LIST}, {", ".join(_STATE_FIGURES)}, {active},
         COALESCE(c.paid, 0) AS paid, {ledger}
  FROM c LEFT JOIN g ON g.id = c.id
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
    if _dialect(session) == "postgresql":
        cash_in, disbursed = "(state ->> 'cash_in')::bigint", "(state ->> 'principal_disbursed')::bigint"
    else:
        cash_in, disbursed = (
            "json_extract(state, '$.cash_in')",
            "json_extract(state, '$.principal_disbursed')",
        )
    row: tuple[Any, ...] = tuple(
        session.execute(
            text(
                f"SELECT COUNT(*), COALESCE(SUM({cash_in}), 0), COALESCE(SUM({disbursed}), 0) FROM contracts"
            )
        ).one()
    )
    return int(row[0]), int(row[1]), int(row[2])
