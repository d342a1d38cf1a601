"""Credit performance by month end, for the dashboard: vintage curves (30+ DPD by origination month)
and roll rates between M-buckets (M0→M1, M1→M2, …).

Both read each contract's state at the end of every calendar month up to the business date: its
book is replayed once (:func:`lendcore.servicing.repository.load_book`) and the state after the last
transaction value-dated on or before each month end is taken, so a backdated repayment or a reversal
changes the history the way it changed the contract. Days past due at a month end are
:func:`lendcore.core.delinquency.days_past_due` on that state. The cost is one replay per contract:
fine for the back office's dashboard, not for a very large book (a month-end snapshot table would be).

Definitions (the usual ones, balance-weighted):

- **Vintage** ``YYYY-MM``: the contracts whose start date is in that month. At month on book ``k``
  (the end of the ``k``-th calendar month after the origination month), its **30+ rate** is the
  outstanding principal of its contracts then 30 or more days past due over the principal the vintage
  originated; the **90+ rate** likewise at 90 or more days. Counts are given beside the balances.
- **Roll rate** from bucket ``Mi`` to ``Mi+1`` between two consecutive month ends: of the outstanding
  principal of active contracts in ``Mi`` at the first, the share that is in ``Mi+1`` at the second.

Rates are ``Decimal`` rounded half-even to 4 places (``0.3333`` is 33.33 %); a rate over nothing is
not listed. Amounts are integer fen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import pairwise
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.contract import LoanState, Status
from lendcore.core.delinquency import Bucket, bucket, days_past_due
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.servicing.repository import load_book
from lendcore.store.models import Contract

#: "30+": 30 or more days past due at the month end.
THIRTY_PLUS: Final = 30
#: "90+": 90 or more days past due at the month end.
NINETY_PLUS: Final = 90
RATE_PLACES: Final = Decimal("0.0001")
_ORDER: Final = tuple(Bucket)


@dataclass(frozen=True, slots=True)
class VintagePoint(JsonRecord):
    vintage: str  # YYYY-MM of the contracts' start date
    month_on_book: int
    month_end: date
    contracts: int
    originated_principal: Fen
    thirty_plus_contracts: int
    thirty_plus_principal: Fen
    thirty_plus_rate: Decimal
    ninety_plus_contracts: int = 0
    ninety_plus_principal: Fen = 0
    ninety_plus_rate: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class RollRate(JsonRecord):
    from_month_end: date
    to_month_end: date
    from_bucket: Bucket
    to_bucket: Bucket
    contracts: int  # active in from_bucket at from_month_end
    rolled_contracts: int  # of those, in to_bucket at to_month_end
    principal: Fen
    rolled_principal: Fen
    rate: Decimal  # rolled_principal / principal


@dataclass(frozen=True, slots=True)
class _Point:
    dpd: int
    principal: Fen
    active: bool


def month_end(day: date) -> date:
    first_of_next = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first_of_next - timedelta(days=1)


def month_ends(first: date, as_of: date) -> tuple[date, ...]:
    """The month ends from ``first``'s month on, up to and including the last one on or before ``as_of``."""
    ends: list[date] = []
    end = month_end(first)
    while end <= as_of:
        ends.append(end)
        end = month_end(end + timedelta(days=1))
    return tuple(ends)


def _rate(part: int, whole: int) -> Decimal:
    return (Decimal(part) / Decimal(whole)).quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN)


def _history(
    contract: Contract, states: Sequence[tuple[date, LoanState]], ends: Sequence[date]
) -> dict[date, _Point]:
    """The contract at each month end from its start (``states``: value date and state after, in order)."""
    points: dict[date, _Point] = {}
    i, state = 0, None
    for end in ends:
        if end < contract.start_date:
            continue
        while i < len(states) and states[i][0] <= end:
            state = states[i][1]
            i += 1
        if state is None:
            continue
        active = state.status is Status.ACTIVE
        points[end] = _Point(days_past_due(state, end), state.principal_outstanding, active)
    return points


def _book_history(
    session: Session, as_of: date
) -> tuple[tuple[date, ...], list[tuple[Contract, dict[date, _Point]]]]:
    contracts = session.scalars(
        select(Contract).where(Contract.start_date <= as_of).order_by(Contract.start_date, Contract.id)
    ).all()
    if not contracts:
        return (), []
    ends = month_ends(contracts[0].start_date, as_of)
    rows = []
    for contract in contracts:
        book = load_book(session, contract)
        states = [(a.txn.value_date, a.state) for a in book.applied]
        rows.append((contract, _history(contract, states, ends)))
    return ends, rows


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def vintage_curves(session: Session, *, as_of: date) -> tuple[VintagePoint, ...]:
    """Each vintage's 30+ rate at every month on book up to ``as_of`` (module docstring), oldest first."""
    ends, rows = _book_history(session, as_of)
    originated: defaultdict[str, list[Contract]] = defaultdict(list)
    for contract, _ in rows:
        originated[f"{contract.start_date:%Y-%m}"].append(contract)
    history = {contract.id: points for contract, points in rows}
    points: list[VintagePoint] = []
    for vintage in sorted(originated):
        members = originated[vintage]
        start = members[0].start_date
        principal = sum(c.principal for c in members)
        for end in ends:
            mob = _months_between(start, end)
            if mob < 1:
                continue
            late = [history[c.id][end] for c in members if history[c.id][end].dpd >= THIRTY_PLUS]
            late_principal = sum(p.principal for p in late)
            worse = [p for p in late if p.dpd >= NINETY_PLUS]
            worse_principal = sum(p.principal for p in worse)
            points.append(
                VintagePoint(
                    vintage,
                    mob,
                    end,
                    len(members),
                    principal,
                    len(late),
                    late_principal,
                    _rate(late_principal, principal),
                    len(worse),
                    worse_principal,
                    _rate(worse_principal, principal),
                )
            )
    return tuple(points)


def roll_rates(session: Session, *, as_of: date) -> tuple[RollRate, ...]:
    """Bucket-to-next-bucket roll rates for each pair of consecutive month ends up to ``as_of``."""
    ends, rows = _book_history(session, as_of)
    rates: list[RollRate] = []
    for before, after in pairwise(ends):
        for i, from_bucket in enumerate(_ORDER[:-1]):
            to_bucket = _ORDER[i + 1]
            starting = [
                (points[before], points[after])
                for _, points in rows
                if before in points and points[before].active and bucket(points[before].dpd) is from_bucket
            ]
            if not starting:
                continue
            rolled = [(b, a) for b, a in starting if bucket(a.dpd) is to_bucket]
            principal = sum(b.principal for b, _ in starting)
            rolled_principal = sum(b.principal for b, _ in rolled)
            if principal == 0:
                continue
            rates.append(
                RollRate(
                    before,
                    after,
                    from_bucket,
                    to_bucket,
                    len(starting),
                    len(rolled),
                    principal,
                    rolled_principal,
                    _rate(rolled_principal, principal),
                )
            )
    return tuple(rates)
