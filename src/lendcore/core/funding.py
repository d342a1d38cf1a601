"""Joint lending (联合贷, 出资方): funding shares, the split of every amount, each partner's ledger.

A contract's principal may be funded by funding partners in shares (:class:`Share`, basis points);
the lender funds the rest and keeps at least its minimum share (:data:`DEFAULT_LENDER_MIN_SHARE_BP`,
30 %, configurable; ``FUNDING_SHARES_INVALID``, ``LENDER_SHARE_TOO_LOW``).

**The split rule (residue to the lender).** Every amount on a shared account of the contract is split
*cumulatively*: after any entry, a partner's total on (account, side) is
``floor(share × the contract's total on (account, side))`` and the lender holds the rest. The part of
one entry is the difference of two such floors. So

* the parts of every amount sum to it exactly (the lender absorbs the residue, 0 to n−1 fen for n
  partners, never a partner);
* rounding never drifts: however many small repayments, a partner's principal receivable is
  ``floor(s·disbursed) − floor(s·repaid)``, which is 0 once the contract is repaid;
* a partner is never paid more than its exact share, and never less than it by a fen or more over the
  life of an account.

We did not pick the largest-remainder rule per amount: it is fair per amount but drifts over a
contract's life (a partner with 1/3 of 1,000 one-fen repayments would get 0 or 1 each time and its
receivable would not reach zero when the contract does), and it would hand residue fen to partners.

**Each partner's ledger.** The shared accounts are the contract's receivables and income (principal,
interest and penalty receivable, interest and penalty income, waivers, write-offs, recoveries).
Fees are the lender's (it runs the platform); unapplied funds are the customer's, no one's asset.
:func:`partner_entries` mirrors each journal entry of the contract onto each partner's sub-accounts
(the same account codes, keyed by partner) with the partner's parts, and balances it on the partner's
settlement account :data:`SETTLEMENT` (应付出资方款项): credited when the partner's money funds a
loan, debited with what the lender collects on the partner's behalf. Its balance on the debit side is
the cash the lender holds for the partner (negative: the partner's money still out in loans).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from lendcore.core.errors import BusinessRuleError, InvariantViolationError, ValidationError
from lendcore.core.ledger import Account, Side
from lendcore.core.money import Fen

BASIS_POINTS: Final = 10_000
#: The lender keeps at least 30 % of every jointly funded contract unless configured otherwise: the
#: CBIRC notice of 2021 on internet loans (银保监办发〔2021〕24号) requires the originating cooperating
#: institution to fund at least 30 % of each jointly funded loan, which is lendcore's position.
DEFAULT_LENDER_MIN_SHARE_BP: Final = 3_000
#: The partner's settlement account (应付出资方款项), a sub-account per partner, debit balance = cash
#: held by the lender for the partner.
SETTLEMENT: Final = "2241.10"
#: The contract's accounts a partner shares in (see the module docstring).
SHARED_ACCOUNTS: Final[tuple[Account, ...]] = (
    Account.LOAN_PRINCIPAL,
    Account.INTEREST_RECEIVABLE,
    Account.PENALTY_RECEIVABLE,
    Account.INTEREST_INCOME,
    Account.PENALTY_INCOME,
    Account.WAIVER_EXPENSE,
    Account.WRITE_OFF_EXPENSE,
    Account.RECOVERY_INCOME,
)


@dataclass(frozen=True, slots=True)
class Share:
    """A partner's share of a contract, in basis points (2500 = 25 %)."""

    partner_id: str
    share_bp: int


def check_shares(shares: Sequence[Share], lender_min_share_bp: int = DEFAULT_LENDER_MIN_SHARE_BP) -> None:
    """Each share strictly between 0 and 100 %, each partner once, the lender keeping its minimum."""
    if isinstance(lender_min_share_bp, bool) or not 0 <= lender_min_share_bp <= BASIS_POINTS:
        raise ValidationError(
            "the lender's minimum share must be 0 to 10000 basis points", code="FUNDING_SHARES_INVALID"
        )
    for s in shares:
        if (
            isinstance(s.share_bp, bool)
            or not isinstance(s.share_bp, int)
            or not 0 < s.share_bp < BASIS_POINTS
        ):
            raise ValidationError(
                f"a partner's share must be 1 to 9999 basis points, got {s.share_bp!r}",
                code="FUNDING_SHARES_INVALID",
                partner_id=s.partner_id,
            )
    if len({s.partner_id for s in shares}) != len(shares):
        raise ValidationError("a partner is named twice", code="FUNDING_SHARES_INVALID")
    lender = BASIS_POINTS - sum(s.share_bp for s in shares)
    if lender < lender_min_share_bp:
        raise BusinessRuleError(
            f"the lender would keep {lender / 100:g}% of the contract, below its minimum "
            f"{lender_min_share_bp / 100:g}%",
            code="LENDER_SHARE_TOO_LOW",
            lender_share_bp=lender,
            minimum_bp=lender_min_share_bp,
        )


def part_of(total: Fen, share_bp: int) -> Fen:
    """A partner's part of a cumulative total: rounded down (the lender absorbs the residue)."""
    return total * share_bp // BASIS_POINTS


def split(amount: Fen, shares: Sequence[Share]) -> tuple[Fen, dict[str, Fen]]:
    """``(lender's part, {partner: part})`` of one amount; the parts sum to ``amount`` exactly."""
    parts = {s.partner_id: part_of(amount, s.share_bp) for s in shares}
    return amount - sum(parts.values()), parts


def check_concentration(partner_id: str, limit: Fen, exposure: Fen, new_part: Fen) -> None:
    """``PARTNER_CONCENTRATION_EXCEEDED`` if the partner's outstanding principal would pass its limit."""
    if exposure + new_part > limit:
        raise BusinessRuleError(
            f"funding partner {partner_id} would fund {exposure + new_part} fen of outstanding principal, "
            f"over its concentration limit of {limit} fen",
            code="PARTNER_CONCENTRATION_EXCEEDED",
            partner_id=partner_id,
            limit=limit,
            exposure=exposure,
            requested=new_part,
        )


# --- each partner's ledger -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EntryLine:
    account: Account
    side: Side
    amount: Fen


@dataclass(frozen=True, slots=True)
class ContractEntry:
    """One journal entry of one contract, as the general ledger holds it."""

    entry_id: str
    business_date: date
    value_date: date
    lines: tuple[EntryLine, ...]


@dataclass(frozen=True, slots=True)
class PartnerLine:
    account_code: str
    side: Side
    amount: Fen


@dataclass(frozen=True, slots=True)
class PartnerEntry:
    """The partner's mirror of one contract entry: balanced, on the partner's sub-accounts."""

    entry_id: str
    partner_id: str
    business_date: date
    value_date: date
    lines: tuple[PartnerLine, ...]

    def __post_init__(self) -> None:
        debits = sum(line.amount for line in self.lines if line.side is Side.DEBIT)
        credits = sum(line.amount for line in self.lines if line.side is Side.CREDIT)
        if debits != credits:
            raise InvariantViolationError(
                f"partner entry {self.entry_id}/{self.partner_id} does not balance",
                code="UNBALANCED_ENTRY",
            )


def _shared_totals(lines: Iterable[EntryLine]) -> dict[tuple[Account, Side], Fen]:
    totals: dict[tuple[Account, Side], Fen] = {}
    for line in lines:
        if line.account in SHARED_ACCOUNTS:
            key = (line.account, line.side)
            totals[key] = totals.get(key, 0) + line.amount
    return totals


def partner_entries(entries: Sequence[ContractEntry], shares: Sequence[Share]) -> tuple[PartnerEntry, ...]:
    """Every partner's mirror of a contract's entries, in order (see the module docstring).

    ``entries`` must be the contract's whole journal in booking order: a part depends on the totals
    before it. An entry that touches no shared account gives no partner entry."""
    booked: dict[tuple[Account, Side], Fen] = {}
    out: list[PartnerEntry] = []
    for entry in entries:
        moved = _shared_totals(entry.lines)
        keys = sorted(moved, key=lambda k: (SHARED_ACCOUNTS.index(k[0]), k[1].value))
        for share in shares:
            lines: list[PartnerLine] = []
            for account, side in keys:
                before = booked.get((account, side), 0)
                part = part_of(before + moved[(account, side)], share.share_bp) - part_of(
                    before, share.share_bp
                )
                if part:
                    lines.append(PartnerLine(account.value, side, part))
            net = sum(x.amount if x.side is Side.DEBIT else -x.amount for x in lines)
            if net:
                lines.append(PartnerLine(SETTLEMENT, Side.CREDIT if net > 0 else Side.DEBIT, abs(net)))
            if lines:
                out.append(
                    PartnerEntry(
                        entry.entry_id, share.partner_id, entry.business_date, entry.value_date, tuple(lines)
                    )
                )
        for key, amount in moved.items():
            booked[key] = booked.get(key, 0) + amount
    return tuple(out)


def check_partner_ledger(
    contract_id: str,
    contract_totals: Mapping[tuple[Account, Side], Fen],
    partner_totals: Mapping[tuple[str, str, Side], Fen],
    shares: Sequence[Share],
) -> None:
    """The partners' sub-ledgers of one contract agree with its general ledger: on every shared
    account and side each partner holds exactly ``floor(share × the contract's total)`` (so the lender
    holds the rest, never less than its share), and each partner's postings balance.
    ``PARTNER_LEDGER_MISMATCH`` names the first difference."""
    for share in shares:
        for account in SHARED_ACCOUNTS:
            for side in Side:
                expected = part_of(contract_totals.get((account, side), 0), share.share_bp)
                held = partner_totals.get((share.partner_id, account.value, side), 0)
                if held != expected:
                    raise InvariantViolationError(
                        f"contract {contract_id}: partner {share.partner_id} holds {held} fen {side.value} "
                        f"on {account.value}, its share of the ledger is {expected}",
                        code="PARTNER_LEDGER_MISMATCH",
                        contract_id=contract_id,
                        partner_id=share.partner_id,
                        account=account.value,
                    )
        debits = sum(
            v for (p, _, s), v in partner_totals.items() if p == share.partner_id and s is Side.DEBIT
        )
        credits = sum(
            v for (p, _, s), v in partner_totals.items() if p == share.partner_id and s is Side.CREDIT
        )
        if debits != credits:
            raise InvariantViolationError(
                f"contract {contract_id}: partner {share.partner_id}'s postings do not balance",
                code="PARTNER_LEDGER_MISMATCH",
                contract_id=contract_id,
                partner_id=share.partner_id,
            )
