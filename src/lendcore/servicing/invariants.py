"""The DESIGN.md invariants, checked over the whole database (the daily close runs this; tests too).

1. every journal entry balances (Σ debit = Σ credit per entry) and the trial balance balances;
2. the loan sub-ledger (each contract's balances) equals the general-ledger control accounts, per
   contract and account; each customer's unapplied funds equal the suspense booked for them;
4. cash received = Σ allocated + unapplied (per contract, from its state, with customer credit moved
   between contracts: cash in + credit in − credit out = allocated + suspense; credit in transfer nets
   to zero per customer; no negative balance) and every succeeded inbound
   payment is booked exactly once (Σ inbound = Σ contracts' cash in); Σ outbound = Σ disbursed;
5. (optional, costly) replaying each contract's stored transactions gives its stored state; the close
   replays a sample of active contracts instead (:meth:`InvariantReport.with_replay_sample`);
6. interest accrued in aggregate (account 1132.91, :mod:`lendcore.servicing.aggregate_accrual`): per
   product, its balance equals Σ over the product's contracts of the interest the aggregate holds for
   each, derived from the contract's quiet-day columns; no 1132.91 posting is on neither an aggregate
   entry nor a contract; the same for the penalty of quiet overdue contracts (account 1132.92);
7. channel suspense (account 2241.03, :mod:`lendcore.payments.suspense`) equals the sum of the open
   items: money a channel took that no payment books is neither lost nor counted twice.

The check streams: ledger-wide checks are SQL aggregates that return only what is wrong; the
per-contract checks (2 and 4) are one set-based query per id-range partition that compares each
contract's state figures (read by the database's JSON functions), mirror columns and ledger balances
and returns only the mismatches (:mod:`lendcore.servicing.invariants_sql`: no contract's JSON is
decoded in Python). Peak memory does not grow with the number of contracts. Only the optional replay
(5) and the derived shares of invariant 6 (from the quiet-day columns) still loop in Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Final

from sqlalchemy import ColumnElement, Subquery, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from lendcore.core.ledger import CONTROL_ACCOUNTS, Account, AccountLine, Side, TrialBalance
from lendcore.core.loan import replay
from lendcore.payments.suspense import open_suspense_total, suspense_account_balance
from lendcore.servicing.aggregate_accrual import Coverage, aggregated_interest, aggregated_penalty, coverage
from lendcore.servicing.codecs import state_from_json, terms_from_json
from lendcore.servicing.invariants_sql import contract_mismatches, contract_totals
from lendcore.servicing.partner_checks import partner_ledger_mismatches
from lendcore.servicing.replay_sample import ReplaySample
from lendcore.servicing.repository import stored_transactions
from lendcore.store.models import Contract, Payment, Posting, UnappliedFunds
from lendcore.store.models_close import AccrualAggregate


def trial_balance_from_db(session: Session) -> TrialBalance:
    """The trial balance over every posting in the database (one aggregate query)."""
    rows = session.execute(
        select(Posting.account_code, func.sum(Posting.debit), func.sum(Posting.credit)).group_by(
            Posting.account_code
        )
    ).all()
    sums = {code: (int(d or 0), int(c or 0)) for code, d, c in rows}
    lines = tuple(AccountLine(a, *sums.get(a.value, (0, 0))) for a in Account)
    unknown = set(sums) - {a.value for a in Account}
    extra_d = sum(sums[c][0] for c in unknown)
    extra_c = sum(sums[c][1] for c in unknown)
    return TrialBalance(
        lines,
        sum(line.debits for line in lines) + extra_d,
        sum(line.credits for line in lines) + extra_c,
    )


@dataclass(frozen=True, slots=True)
class InvariantReport:
    entries: int
    contracts: int
    trial_balance: TrialBalance
    unbalanced_entries: tuple[str, ...] = ()
    subledger_mismatches: tuple[str, ...] = ()
    cash_mismatches: tuple[str, ...] = ()
    replay_mismatches: tuple[str, ...] = ()
    replay_checked: bool = False
    # active contracts replayed by the close's sample (servicing.replay_sample), its seed; mismatches
    # found by it are in replay_mismatches, so they fail the check like any broken invariant
    replay_sampled: int = 0
    replay_sample_seed: int | None = None
    # funding partners' ledgers against their shares of the general ledger (servicing.partners)
    partner_mismatches: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.trial_balance.balanced and not (
            self.unbalanced_entries
            or self.subledger_mismatches
            or self.cash_mismatches
            or self.replay_mismatches
            or self.partner_mismatches
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "contracts": self.contracts,
            "trial_balance_balanced": self.trial_balance.balanced,
            "total_debits": self.trial_balance.total_debits,
            "total_credits": self.trial_balance.total_credits,
            "unbalanced_entries": list(self.unbalanced_entries),
            "subledger_mismatches": list(self.subledger_mismatches),
            "cash_mismatches": list(self.cash_mismatches),
            "replay_checked": self.replay_checked,
            "replay_sampled": self.replay_sampled,
            "replay_sample_seed": self.replay_sample_seed,
            "replay_mismatches": list(self.replay_mismatches),
            "partner_mismatches": list(self.partner_mismatches),
        }

    def with_replay_sample(self, sample: ReplaySample, seed: int) -> InvariantReport:
        """This report with a replay sample's result: its mismatches are invariant 5 violations."""
        known = set(self.replay_mismatches)
        return replace(
            self,
            replay_sampled=len(sample.checked),
            replay_sample_seed=seed,
            replay_mismatches=self.replay_mismatches + tuple(m for m in sample.mismatches if m not in known),
        )


_SIGN = {a: (1 if a.normal_side is Side.DEBIT else -1) for a in Account}

#: Contracts checked per partition: memory of the check is bounded by this, not by the book's size.
DEFAULT_PARTITION: Final = 2_000


@dataclass(slots=True)
class _Tally:
    """What the streaming check accumulates across partitions: counts and sums, never rows."""

    contracts: int = 0
    cash_in: int = 0
    disbursed: int = 0
    mismatches: list[str] = field(default_factory=list)
    cash: list[str] = field(default_factory=list)
    replays: list[str] = field(default_factory=list)
    aggregated: dict[str, int] = field(default_factory=dict)  # product → Σ derived aggregated interest
    aggregated_penalty: dict[str, int] = field(default_factory=dict)  # product → Σ derived penalty
    coverage: Coverage = field(default_factory=lambda: Coverage(None))


def _partition_bounds(session: Session, size: int) -> Iterator[tuple[str, str]]:
    """The contracts' ids cut into ranges (lo, hi] of ``size`` contracts, in id order (keyset: one
    indexed query per range, nothing read but the boundary id)."""
    lo = ""
    while True:
        hi = session.scalar(
            select(Contract.id).where(Contract.id > lo).order_by(Contract.id).offset(size - 1).limit(1)
        )
        if hi is None:
            hi = session.scalar(select(func.max(Contract.id)).where(Contract.id > lo))
            if hi is None:
                return
        yield lo, hi
        lo = hi


def _control_balances(
    session: Session, *conditions: ColumnElement[bool]
) -> dict[tuple[str | None, str], int]:
    """(contract id, control account) → signed balance booked in the ledger, for the postings matching
    ``conditions`` on no existing contract, where not zero (one aggregate query: only orphans return)."""
    booked: dict[tuple[str | None, str], int] = {}
    signed = func.sum(Posting.debit) - func.sum(Posting.credit)
    for cid, code, amount in session.execute(
        select(Posting.contract_id, Posting.account_code, signed)
        .where(
            Posting.account_code.in_([a.value for a in CONTROL_ACCOUNTS]),
            ~exists().where(Contract.id == Posting.contract_id),
            *conditions,
        )
        .group_by(Posting.contract_id, Posting.account_code)
        .having(signed != 0)
        .order_by(Posting.contract_id, Posting.account_code)
    ).all():
        booked[(cid, code)] = _SIGN[Account(code)] * int(amount)
    return booked


def _orphans(gl: dict[tuple[str | None, str], int], tally: _Tally) -> None:
    for (cid, code), booked in gl.items():
        if booked:
            tally.mismatches.append(f"{cid} {Account(code).name}: ledger {booked} with no contract")


def _replay_partition(session: Session, lo: str, hi: str, tally: _Tally) -> None:
    """Invariant 5 (optional, costly) for the contracts in (lo, hi]: the one place the check still
    decodes the JSON state in Python, as the oracle it is."""
    rows = session.execute(
        select(Contract.id, Contract.terms, Contract.state)
        .where(Contract.id > lo, Contract.id <= hi)
        .order_by(Contract.id)
    ).all()
    # the replay reads ORM rows: a scratch session on the same connection (same transaction) holds
    # them, and is closed after the partition, so the caller's session does not grow
    with Session(bind=session.connection()) as scratch:
        for row in rows:
            terms = terms_from_json(row.terms)
            if replay(terms, stored_transactions(scratch, row.id)) != state_from_json(terms, row.state):
                tally.replays.append(row.id)


def _aggregate_partition(session: Session, lo: str, hi: str, tally: _Tally) -> None:
    """The partition's share of invariant 6: each quiet contract's interest the aggregate holds, from
    its quiet-day columns (no JSON)."""
    for row in session.execute(
        select(*_QUIET_COLUMNS).where(
            Contract.id > lo, Contract.id <= hi, Contract.aggregated_from.is_not(None)
        )
    ).all():
        until = tally.coverage.until(row.id)
        share = aggregated_interest(row, until)
        if share:
            tally.aggregated[row.product_code] = tally.aggregated.get(row.product_code, 0) + share
        penalty = aggregated_penalty(row, until)
        if penalty:
            held = tally.aggregated_penalty
            held[row.product_code] = held.get(row.product_code, 0) + penalty


_QUIET_COLUMNS = (
    Contract.id,
    Contract.product_code,
    Contract.accrual_basis,
    Contract.accrual_rate,
    Contract.accrual_exact,
    Contract.accrual_booked,
    Contract.accrued_through,
    Contract.aggregated_from,
    Contract.quiet_until,
    Contract.accrual_penalty,
)


def _check_contracts(session: Session, tally: _Tally, *, replay_contracts: bool, partition: int) -> None:
    """Invariants 2, 4 (and 5) per contract, one id-range partition (lo, hi] at a time: one set-based
    query compares the partition's state figures, mirror columns and ledger balances and returns only
    the mismatches (:mod:`lendcore.servicing.invariants_sql`); postings on no contract come from an
    anti-join, per partition and once for those beyond the last contract or on none."""
    previous = ""
    for lo, hi in _partition_bounds(session, partition):
        subledger, cash = contract_mismatches(session, lo, hi)
        tally.mismatches.extend(subledger)
        tally.cash.extend(cash)
        _orphans(_control_balances(session, Posting.contract_id > lo, Posting.contract_id <= hi), tally)
        _aggregate_partition(session, lo, hi, tally)
        if replay_contracts:
            _replay_partition(session, lo, hi, tally)
        previous = hi
    beyond: ColumnElement[bool] = Posting.contract_id.is_(None)
    if previous:
        beyond = or_(beyond, Posting.contract_id > previous)
    _orphans(_control_balances(session, beyond), tally)
    tally.contracts, tally.cash_in, tally.disbursed = contract_totals(session)


def _suspense_by_customer() -> Subquery:
    return (
        select(
            Posting.customer_id.label("customer_id"),
            (func.sum(Posting.credit) - func.sum(Posting.debit)).label("booked"),
        )
        .where(Posting.account_code == Account.SUSPENSE.value)
        .group_by(Posting.customer_id)
        .subquery()
    )


def _check_unapplied(session: Session, tally: _Tally) -> None:
    """Unapplied funds per customer = suspense booked for the customer: only the mismatches come back
    from the database (both directions of the outer join as two anti/left joins)."""
    booked = _suspense_by_customer()
    held_vs_booked = (
        select(UnappliedFunds.customer_id, UnappliedFunds.balance, func.coalesce(booked.c.booked, 0))
        .outerjoin(booked, booked.c.customer_id == UnappliedFunds.customer_id)
        .where(func.coalesce(booked.c.booked, 0) != UnappliedFunds.balance)
    )
    booked_not_held = select(booked.c.customer_id, literal(0), booked.c.booked).where(
        booked.c.booked != 0,
        ~exists().where(UnappliedFunds.customer_id == booked.c.customer_id),
    )
    rows = [*session.execute(held_vs_booked).all(), *session.execute(booked_not_held).all()]
    for customer_id, held, booked_s in sorted(rows, key=lambda r: str(r[0])):
        tally.cash.append(
            f"customer {customer_id}: unapplied funds {int(held or 0)}, suspense booked {int(booked_s or 0)}"
        )


def _check_aggregate(session: Session, tally: _Tally) -> None:
    """Invariant 6: the aggregate accounts per product against the contracts' derived shares."""
    _check_pool(session, tally, Account.INTEREST_ACCRUED_AGGREGATE, tally.aggregated, "interest")
    _check_pool(session, tally, Account.PENALTY_ACCRUED_AGGREGATE, tally.aggregated_penalty, "penalty")


def _check_pool(
    session: Session, tally: _Tally, account: Account, derived: dict[str, int], what: str
) -> None:
    pool = account.value
    signed = func.sum(Posting.debit) - func.sum(Posting.credit)
    booked: dict[str, int] = {}
    on_aggregates = (
        select(AccrualAggregate.product_code, signed)
        .join(AccrualAggregate, AccrualAggregate.entry_id == Posting.entry_id)
        .where(Posting.account_code == pool, Posting.contract_id.is_(None))
        .group_by(AccrualAggregate.product_code)
    )
    on_contracts = (
        select(Contract.product_code, signed)
        .join(Contract, Contract.id == Posting.contract_id)
        .where(Posting.account_code == pool)
        .group_by(Contract.product_code)
    )
    for product, amount in [*session.execute(on_aggregates).all(), *session.execute(on_contracts).all()]:
        booked[product] = booked.get(product, 0) + int(amount or 0)
    total = int(session.scalar(select(func.coalesce(signed, 0)).where(Posting.account_code == pool)) or 0)
    if total != sum(booked.values()):
        tally.mismatches.append(f"aggregate {what}: {total} booked, {sum(booked.values())} on products")
    for product in sorted(set(booked) | set(derived)):
        gl, sub = booked.get(product, 0), derived.get(product, 0)
        if gl != sub:
            tally.mismatches.append(f"product {product} aggregate {what}: ledger {gl}, contracts {sub}")


def _payments_total(session: Session, direction: str) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(
                Payment.direction == direction, Payment.state == "succeeded"
            )
        )
        or 0
    )


def _check_cash(session: Session, tally: _Tally) -> None:
    _check_unapplied(session, tally)
    # customer credit moved between contracts nets to zero per customer (both legs in one transaction)
    for customer_id, in_transit in session.execute(
        select(Posting.customer_id, func.sum(Posting.credit) - func.sum(Posting.debit))
        .where(Posting.account_code == Account.CREDIT_TRANSFER.value)
        .group_by(Posting.customer_id)
        .having(func.sum(Posting.credit) != func.sum(Posting.debit))
    ).all():
        tally.cash.append(f"customer {customer_id}: credit in transfer {int(in_transit)} ≠ 0")
    negative = session.scalars(select(UnappliedFunds.customer_id).where(UnappliedFunds.balance < 0)).all()
    tally.cash.extend(f"customer {c}: negative unapplied funds" for c in negative)
    received = _payments_total(session, "inbound")
    if received != tally.cash_in:
        tally.cash.append(f"inbound payments {received} ≠ cash booked on contracts {tally.cash_in}")
    paid_out = _payments_total(session, "outbound")
    if paid_out != tally.disbursed:
        tally.cash.append(f"outbound payments {paid_out} ≠ principal disbursed {tally.disbursed}")
    held, items = suspense_account_balance(session), open_suspense_total(session)
    if held != items:
        tally.cash.append(f"channel suspense account {held} ≠ open suspense items {items}")


def check_invariants(
    session: Session, *, replay_contracts: bool = False, partition: int = DEFAULT_PARTITION
) -> InvariantReport:
    """Every invariant over the whole database, streaming: SQL aggregates for the ledger-wide checks,
    contracts read ``partition`` at a time with their ledger balances, so memory stays bounded by the
    partition (plus the mismatches found), whatever the size of the book."""
    tb = trial_balance_from_db(session)
    entries = int(session.scalar(select(func.count(func.distinct(Posting.entry_id)))) or 0)
    unbalanced = tuple(
        session.scalars(
            select(Posting.entry_id)
            .group_by(Posting.entry_id)
            .having(func.sum(Posting.debit) != func.sum(Posting.credit))
        ).all()
    )
    tally = _Tally(coverage=coverage(session))
    _check_contracts(session, tally, replay_contracts=replay_contracts, partition=partition)
    _check_cash(session, tally)
    _check_aggregate(session, tally)
    return InvariantReport(
        entries=entries,
        contracts=tally.contracts,
        trial_balance=tb,
        unbalanced_entries=unbalanced,
        subledger_mismatches=tuple(tally.mismatches),
        cash_mismatches=tuple(tally.cash),
        replay_mismatches=tuple(tally.replays),
        replay_checked=replay_contracts,
        partner_mismatches=partner_ledger_mismatches(session),
    )
