"""Contract terms and contract state: the plain values the servicing core folds over.

:class:`LoanTerms` is everything about a contract that does not change after signing (the product
catalog supplies the values; this module does not read products). :class:`LoanState` is what the
contract is owed and has been paid at a point in its life; it is produced only by
:func:`lendcore.core.loan.apply` and :func:`lendcore.core.loan.replay`.

Every contract, revolving or not, is a tuple of installment rows. A revolving / bullet contract
(随借随还) has one row running from disbursement to maturity; its interest is accrued by actual days on
whatever principal is outstanding, exactly as for an installment contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Final

from lendcore.core.errors import ConfigurationError
from lendcore.core.ledger import Account
from lendcore.core.money import Fen, Rounding
from lendcore.core.schedule import Installment, InterestRule, Method

_ZERO: Final = Decimal(0)

DEFAULT_WATERFALL: Final = "penalty-fee-interest-principal"


class PrepaymentRecompute(StrEnum):
    """How the remaining schedule changes after principal is prepaid."""

    REDUCE_INSTALLMENT = "reduce-installment"  # same due dates, smaller installments
    REDUCE_TERM = "reduce-term"  # same installment (or principal per period), fewer periods


class ProductClass(StrEnum):
    """What kind of credit a contract is; a customer's money pays cash loans first (PRODUCT.md §4)."""

    CASH_LOAN = "cash-loan"  # 现金贷: quick, premium, small-business
    PURCHASE_INSTALLMENT = "purchase-installment"  # 分期: POS plans paid to a merchant

    @property
    def repayment_rank(self) -> int:
        """Order across a customer's contracts when nothing else decides: cash loans first."""
        return 0 if self is ProductClass.CASH_LOAN else 1


class PrepaymentFeeKind(StrEnum):
    NONE = "none"
    PERCENT = "percent"  # a fraction of the principal prepaid


@dataclass(frozen=True, slots=True)
class PrepaymentFee:
    kind: PrepaymentFeeKind = PrepaymentFeeKind.NONE
    rate: Decimal = _ZERO  # e.g. Decimal("0.01") = 1 % of the principal prepaid

    @classmethod
    def none(cls) -> PrepaymentFee:
        return cls()

    @classmethod
    def percent(cls, rate: Decimal | str) -> PrepaymentFee:
        return cls(PrepaymentFeeKind.PERCENT, Decimal(rate))


def _whole(value: object, *, minimum: int) -> bool:
    """An ``int`` (not a bool) of at least ``minimum``."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _bad(message: str, **details: object) -> ConfigurationError:
    return ConfigurationError(message, code="INVALID_LOAN_TERMS", **details)


@dataclass(frozen=True, slots=True)
class LoanTerms:
    """The signed terms of one contract (合同). Money in fen, rates as Decimal fractions."""

    contract_id: str
    customer_id: str
    product_code: str
    principal: Fen
    daily_rate: Decimal
    method: Method
    schedule: tuple[Installment, ...]
    interest_rule: InterestRule = InterestRule.DAYS
    penalty_multiplier: Decimal = Decimal("1.5")
    penalty_on_interest: bool = False  # compound penalty on overdue interest, only if lawful & configured
    grace_days: int = 0
    #: The daily rate penalty is a multiple of, instead of ``daily_rate``, when set: interest-free
    #: (免息, 0 %) plans would otherwise never bear penalty. Still capped like any penalty rate.
    penalty_base_daily_rate: Decimal | None = None
    rate_cap_annual: Decimal = Decimal("0.24")
    #: True (the core's conservative default): the cap bounds daily rate + penalty rate. False: it
    #: bounds the penalty rate alone, the overdue all-in rate because overdue principal bears penalty
    #: *instead of* contract interest in this core (how the product catalog prices penalties).
    cap_includes_contract_rate: bool = True
    year_days: int = 365
    waterfall: str = DEFAULT_WATERFALL
    prepayment_recompute: PrepaymentRecompute = PrepaymentRecompute.REDUCE_INSTALLMENT
    prepayment_fee: PrepaymentFee = PrepaymentFee()
    revolving: bool = False  # quick loan / 随借随还: never a prepayment fee
    rounding: Rounding = Rounding.HALF_UP
    #: Cash loan or purchase installment: decides the order a customer's money meets their contracts.
    product_class: ProductClass = ProductClass.CASH_LOAN
    #: The product's installment multiple (fen; 100 = whole yuan): a schedule re-amortised after a
    #: prepayment rounds its level amount to it, as the signed schedule did.
    installment_multiple: Fen = 1

    def __post_init__(self) -> None:
        self._check_amounts_and_rates()
        if self.interest_rule is not InterestRule.DAYS:
            raise ConfigurationError(
                "the servicing core accrues interest by actual days; the period rule is not supported",
                code="UNSUPPORTED_INTEREST_RULE",
            )
        self._check_schedule()

    def _check_amounts_and_rates(self) -> None:
        if not self.contract_id or not self.customer_id:
            raise _bad("contract and customer ids are required")
        if not _whole(self.principal, minimum=1):
            raise _bad("principal must be a positive int of fen", principal=self.principal)
        if self.daily_rate < 0 or self.penalty_multiplier < 0 or self.rate_cap_annual <= 0:
            raise _bad("rates must be non-negative and the cap positive")
        if self.penalty_base_daily_rate is not None and self.penalty_base_daily_rate < 0:
            raise _bad("the penalty base rate must be non-negative")
        if not _whole(self.installment_multiple, minimum=1):
            raise _bad("the installment multiple must be a whole number of fen ≥ 1")
        if self.grace_days < 0 or self.year_days <= 0:
            raise _bad("grace days must be ≥ 0 and year days > 0")
        if self.prepayment_fee.kind is PrepaymentFeeKind.PERCENT and not (0 <= self.prepayment_fee.rate < 1):
            raise _bad("a prepayment fee percentage must be in [0, 1)")

    def _check_schedule(self) -> None:
        if not self.schedule:
            raise _bad("a contract needs at least one schedule row")
        if sum(r.principal for r in self.schedule) != self.principal:
            raise _bad("schedule principal does not sum to the contract principal")
        previous_due: date | None = None
        for row in self.schedule:
            if row.due_date <= row.start_date or (
                previous_due is not None and row.start_date != previous_due
            ):
                raise _bad("schedule rows must be contiguous periods [start, due)", period=row.period)
            if row.principal < 0 or row.fee < 0:
                raise _bad("schedule amounts must not be negative", period=row.period)
            previous_due = row.due_date

    @property
    def start_date(self) -> date:
        return self.schedule[0].start_date

    @property
    def maturity_date(self) -> date:
        return self.schedule[-1].due_date


class Status(StrEnum):
    PENDING = "pending"  # signed, not yet disbursed
    ACTIVE = "active"
    CLOSED = "closed"  # nothing owed (suspense may still hold a customer credit)
    WRITTEN_OFF = "written-off"  # 核销: off balance sheet; only recoveries from here


@dataclass(frozen=True, slots=True)
class InstallmentState:
    """One period of a live contract: its plan and what has accrued, been paid and been waived.

    ``principal`` is the row's planned principal (recomputed after a prepayment); ``interest_exact`` and
    ``penalty_exact`` are the unrounded accruals of the period, and ``interest_accrued`` /
    ``penalty_accrued`` their half-up rounding: the amounts booked as receivable.

    ``settled_on`` is the date the installment was paid in full *before* its due date (the current
    bill paid early, see :mod:`lendcore.core.allocation`). From then on it owes nothing more: the
    interest of the rest of its period, on the principal still outstanding, belongs to the next
    installment, and its scheduled fee was charged when it was settled.
    """

    period: int
    start_date: date
    due_date: date
    principal: Fen
    scheduled_fee: Fen = 0
    principal_paid: Fen = 0
    interest_exact: Decimal = _ZERO
    interest_accrued: Fen = 0
    interest_paid: Fen = 0
    interest_waived: Fen = 0
    fee_charged: Fen = 0
    fee_paid: Fen = 0
    fee_waived: Fen = 0
    penalty_exact: Decimal = _ZERO
    penalty_accrued: Fen = 0
    penalty_paid: Fen = 0
    penalty_waived: Fen = 0
    settled_on: date | None = None

    @property
    def principal_outstanding(self) -> Fen:
        return self.principal - self.principal_paid

    @property
    def interest_outstanding(self) -> Fen:
        return self.interest_accrued - self.interest_paid - self.interest_waived

    @property
    def fee_outstanding(self) -> Fen:
        return self.fee_charged - self.fee_paid - self.fee_waived

    @property
    def penalty_outstanding(self) -> Fen:
        return self.penalty_accrued - self.penalty_paid - self.penalty_waived

    @property
    def outstanding(self) -> Fen:
        return (
            self.principal_outstanding
            + self.interest_outstanding
            + self.fee_outstanding
            + self.penalty_outstanding
        )

    def is_overdue_on(self, on: date) -> bool:
        """Unpaid after its due date: on ``due + 1`` (DPD 1) with anything still owed."""
        return on > self.due_date and self.outstanding > 0

    def is_current_on(self, on: date) -> bool:
        """The bill being paid on ``on``: its period has begun (``start < on``; on its start day the
        previous installment is the one due) and it is not yet due (``on < due``) nor settled."""
        return self.start_date < on < self.due_date and self.settled_on is None

    @property
    def fee_to_settle_early(self) -> Fen:
        """Fee owed to settle this *not-yet-due* row today: fees charged and unpaid, plus its
        scheduled fee, which is charged on the due date or when the row is settled early."""
        return self.fee_outstanding + (self.scheduled_fee if self.settled_on is None else 0)

    @property
    def to_settle_early(self) -> Fen:
        """Everything that settles this *not-yet-due* row in full today: its principal, the
        interest accrued so far, and its fees (:attr:`fee_to_settle_early`)."""
        return (
            self.principal_outstanding
            + self.interest_outstanding
            + self.penalty_outstanding
            + self.fee_to_settle_early
        )


@dataclass(frozen=True, slots=True)
class LoanState:
    """A contract's balances as of ``accrued_through`` (interest) / ``penalty_through`` (penalty)."""

    terms: LoanTerms
    status: Status
    rows: tuple[InstallmentState, ...]
    accrued_through: date
    penalty_through: date
    suspense: Fen = 0
    cash_in: Fen = 0
    principal_disbursed: Fen = 0
    principal_prepaid: Fen = 0
    prepayment_fees: Fen = 0
    written_off: Fen = 0
    recovered: Fen = 0
    #: Customer credit (unapplied funds) moved in from / out to the customer's other contracts.
    credit_in: Fen = 0
    credit_out: Fen = 0
    #: Hardship restructures booked (the product limits them per contract).
    restructures: int = 0
    last_value_date: date | None = None
    transactions_applied: int = 0

    @classmethod
    def new(cls, terms: LoanTerms) -> LoanState:
        rows = tuple(
            InstallmentState(
                period=r.period,
                start_date=r.start_date,
                due_date=r.due_date,
                principal=r.principal,
                scheduled_fee=r.fee,
            )
            for r in terms.schedule
        )
        return cls(terms, Status.PENDING, rows, terms.start_date, terms.start_date)

    # -- balances -------------------------------------------------------------------------------
    @property
    def principal_outstanding(self) -> Fen:
        return sum(r.principal_outstanding for r in self.rows) if self.status is Status.ACTIVE else 0

    @property
    def interest_outstanding(self) -> Fen:
        return sum(r.interest_outstanding for r in self.rows) if self.status is Status.ACTIVE else 0

    @property
    def penalty_outstanding(self) -> Fen:
        return sum(r.penalty_outstanding for r in self.rows) if self.status is Status.ACTIVE else 0

    @property
    def fee_outstanding(self) -> Fen:
        return sum(r.fee_outstanding for r in self.rows) if self.status is Status.ACTIVE else 0

    @property
    def total_outstanding(self) -> Fen:
        return (
            self.principal_outstanding
            + self.interest_outstanding
            + self.penalty_outstanding
            + self.fee_outstanding
        )

    @property
    def allocated(self) -> Fen:
        """Cash applied to the contract's debts, fees and recoveries (everything but suspense)."""
        paid = sum(r.principal_paid + r.interest_paid + r.fee_paid + r.penalty_paid for r in self.rows)
        return paid + self.principal_prepaid + self.prepayment_fees + self.recovered

    @property
    def funds_in(self) -> Fen:
        """Cash received on the contract plus customer credit moved in, less credit moved out.

        Invariant 4 per contract: ``funds_in == allocated + suspense``; summed over a customer's
        contracts the transfers cancel and it reads cash received = allocated + unapplied."""
        return self.cash_in + self.credit_in - self.credit_out

    def subledger(self) -> dict[Account, Fen]:
        """What this contract says the control accounts hold for it (invariant 2)."""
        return {
            Account.LOAN_PRINCIPAL: self.principal_outstanding,
            Account.INTEREST_RECEIVABLE: self.interest_outstanding,
            Account.PENALTY_RECEIVABLE: self.penalty_outstanding,
            Account.FEE_RECEIVABLE: self.fee_outstanding,
            Account.SUSPENSE: self.suspense,
            Account.CREDIT_TRANSFER: self.credit_out - self.credit_in,
        }

    def oldest_overdue_row(self, on: date) -> InstallmentState | None:
        for row in self.rows:
            if row.is_overdue_on(on):
                return row
        return None

    def current_row(self, on: date) -> InstallmentState | None:
        """The current installment on ``on`` (:meth:`InstallmentState.is_current_on`), if any."""
        if self.status is not Status.ACTIVE:
            return None
        return next((r for r in self.rows if r.is_current_on(on)), None)
