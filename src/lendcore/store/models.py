"""The relational schema, as SQLAlchemy 2.0 typed ORM models.

Conventions (see docs/storage.md):

* Ids are opaque prefixed strings from :func:`lendcore.store.ids.new_id` (``cus_…``, ``ln_…``), except
  for high-volume internal rows (postings, schedule rows, audit records), which use 64-bit integers.
* Money is ``BigInteger`` fen. Rates are ``BigInteger`` parts per million (``daily_rate_ppm``: 0.05 %
  a day = 500), exact on both backends and the unit of :func:`lendcore.core.rates.to_ppm`; the
  contract's ``terms`` document keeps every rate as an exact decimal string as well.
* Dates (business, value, due) are ``Date``; instants are :class:`~lendcore.store.types.UTCDateTime`.
* Enumerated values are short strings; where the set is settled (payment state, line status …) a
  CHECK constraint lists it.
* Every constraint is named by :data:`NAMING_CONVENTION`, so migrations can refer to them.
* ``credit_lines``, ``contracts`` and ``unapplied_funds`` carry a ``version`` used by the ORM for
  optimistic concurrency (``UPDATE … WHERE version = :seen``); a lost race raises ``StaleDataError``,
  which :func:`lendcore.store.engine.unit_of_work` turns into ``ConflictError`` ``CONCURRENT_UPDATE``.
* ``audit_log``, ``journal_entries`` and ``postings`` are append-only: database triggers (created by the
  migration) refuse UPDATE and DELETE.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar, Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from lendcore.store.ids import new_id
from lendcore.store.types import BigIntPK, JSONDocument, UTCDateTime, utc_now

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(40)  # prefixed ids are at most 35 characters (lendcore.store.ids.ID_LENGTH)
HASH = String(64)  # hex SHA-256 / HMAC-SHA-256
KEY_ID = String(32)  # id of the blind-index key a row's hashes were made with (blind_index_keys)
CODE = String(32)  # product codes, account codes, channel names
STATUS = String(16)

CUSTOMER_STATUSES: Final = ("active", "frozen", "closed")
CARD_STATUSES: Final = ("active", "unbound")
LINE_STATUSES: Final = ("active", "frozen", "closed")
PAYMENT_DIRECTIONS: Final = ("inbound", "outbound")
PAYMENT_STATES: Final = ("created", "processing", "succeeded", "failed", "reversed")
JOB_STATUSES: Final = ("running", "succeeded", "failed")
#: ``loan_transactions.type`` of the daily close's accrual (one per contract and business date).
DAILY_ACCRUAL_TYPE: Final = "penalty-accrual"
#: The one row of ``business_dates``.
BUSINESS_CALENDAR: Final = "default"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSONDocument}


# --- parties ---------------------------------------------------------------------------------------


class Customer(Base):
    """A borrower. PII is stored only encrypted (AES-GCM blobs that carry their key id) plus keyed
    hashes (HMAC-SHA-256, hex) for exact-match lookup and duplicate detection; the origination issue
    fills these. All PII columns are nullable so servicing can work with minimal customers."""

    __tablename__ = "customers"
    __table_args__ = (CheckConstraint(_one_of("status", CUSTOMER_STATUSES), name="status"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("cus"))
    name_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_hash: Mapped[str | None] = mapped_column(HASH, unique=True)
    phone_hash: Mapped[str | None] = mapped_column(HASH, unique=True)
    hash_key_id: Mapped[str | None] = mapped_column(KEY_ID)  # key of both hashes; None without PII
    birth_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(STATUS, default="active")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class BankCard(Base):
    """A debit card bound to a customer (for disbursement and autopay). At most one default per
    customer (partial unique index); the same card cannot be bound twice to one customer."""

    __tablename__ = "bank_cards"
    __table_args__ = (
        UniqueConstraint("customer_id", "card_number_hash"),
        CheckConstraint(_one_of("status", CARD_STATUSES), name="status"),
        CheckConstraint("length(last4) = 4", name="last4_length"),
        Index(
            "ix_bank_cards_one_default_per_customer",
            "customer_id",
            unique=True,
            postgresql_where=text("is_default"),
            sqlite_where=text("is_default"),
        ),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("card"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    card_number_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    card_number_hash: Mapped[str] = mapped_column(HASH, index=True)
    hash_key_id: Mapped[str | None] = mapped_column(KEY_ID)
    bin: Mapped[str] = mapped_column(String(8))
    bank_name: Mapped[str] = mapped_column(String(64))
    last4: Mapped[str] = mapped_column(String(4))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(STATUS, default="active")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


# --- lines, contracts, schedules, transactions -----------------------------------------------------


class CreditLine(Base):
    """A revolving credit line (授信额度). Lock it (``lock_for_update``) before a drawdown's limit
    check; ``version`` guards against lost updates."""

    __tablename__ = "credit_lines"
    __table_args__ = (
        CheckConstraint("credit_limit >= 0", name="credit_limit_non_negative"),
        CheckConstraint(_one_of("status", LINE_STATUSES), name="status"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("cl"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    product_code: Mapped[str] = mapped_column(CODE)
    credit_limit: Mapped[int] = mapped_column(BigInteger)
    pricing_grade: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(STATUS, default="active")
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    __mapper_args__: Mapping[str, Any] = {"version_id_col": version}


class Contract(Base):
    """One drawdown (借据) with its own schedule. ``state`` is the snapshot of the fold over the
    contract's transactions up to ``last_replayed_seq``; the scalar columns mirror the parts of it
    that queries and constraints need."""

    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint("principal > 0", name="principal_positive"),
        CheckConstraint("term > 0", name="term_positive"),
        CheckConstraint("daily_rate_ppm >= 0", name="daily_rate_non_negative"),
        CheckConstraint("first_due_date > start_date", name="first_due_after_start"),
        CheckConstraint("outstanding_principal >= 0", name="outstanding_principal_non_negative"),
        CheckConstraint("interest_receivable >= 0", name="interest_receivable_non_negative"),
        CheckConstraint("penalty_receivable >= 0", name="penalty_receivable_non_negative"),
        CheckConstraint("fee_receivable >= 0", name="fee_receivable_non_negative"),
        CheckConstraint("days_past_due >= 0", name="days_past_due_non_negative"),
        CheckConstraint("max_days_past_due >= 0", name="max_days_past_due_non_negative"),
        CheckConstraint("last_replayed_seq >= 0", name="last_replayed_seq_non_negative"),
        CheckConstraint("schedule_version >= 1", name="schedule_version_positive"),
        Index(None, "customer_id", "status"),
        Index(None, "credit_line_id", "status"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("ln"))
    credit_line_id: Mapped[str] = mapped_column(ForeignKey("credit_lines.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    product_code: Mapped[str] = mapped_column(CODE)
    principal: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(24))
    term: Mapped[int] = mapped_column(Integer)  # number of periods (months)
    daily_rate_ppm: Mapped[int] = mapped_column(BigInteger)
    start_date: Mapped[date] = mapped_column(Date)
    first_due_date: Mapped[date] = mapped_column(Date)
    maturity_date: Mapped[date | None] = mapped_column(Date)
    purpose: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(STATUS)
    terms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    as_of: Mapped[date | None] = mapped_column(Date)  # business date of the state snapshot
    outstanding_principal: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_receivable: Mapped[int] = mapped_column(BigInteger, default=0)
    penalty_receivable: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_receivable: Mapped[int] = mapped_column(BigInteger, default=0)
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    # worst DPD at the close of any day, as the contract's booking history now stands (see
    # servicing.repository.save_state); the credit-performance definition reads it
    max_days_past_due: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    classification: Mapped[str | None] = mapped_column(STATUS)  # five-level: normal, special-mention …
    last_replayed_seq: Mapped[int] = mapped_column(Integer, default=0)
    schedule_version: Mapped[int] = mapped_column(Integer, default=1)
    closed_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    # the quiet-day columns of the snapshot (lendcore.core.quiet, migration 0014_close_aggregate):
    # NULL quiet_until = the next close folds the contract; aggregated_from = the first date of its
    # current run of quiet days (the aggregate holds its interest from accrued_through on: see
    # lendcore.servicing.aggregate_accrual)
    accrual_basis: Mapped[int | None] = mapped_column(BigInteger)
    accrual_rate: Mapped[str | None] = mapped_column(String(40))
    accrual_exact: Mapped[str | None] = mapped_column(String(64))
    accrual_booked: Mapped[int | None] = mapped_column(BigInteger)
    accrued_through: Mapped[date | None] = mapped_column(Date)
    quiet_until: Mapped[date | None] = mapped_column(Date)
    aggregated_from: Mapped[date | None] = mapped_column(Date)
    # an overdue snapshot's penalty (lendcore.core.quiet_overdue, migration 0021_quiet_overdue)
    accrual_penalty: Mapped[str | None] = mapped_column(Text)
    overdue_since: Mapped[date | None] = mapped_column(Date)

    __mapper_args__: Mapping[str, Any] = {"version_id_col": version}


class ScheduleRow(Base):
    """One installment of one version of a contract's schedule. A prepayment that recomputes the
    schedule writes a new version (``contracts.schedule_version`` points at the current one); old
    versions are kept. Fields mirror :class:`lendcore.core.schedule.Installment`."""

    __tablename__ = "schedule_rows"
    __table_args__ = (
        UniqueConstraint("contract_id", "version", "period"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("period >= 1", name="period_positive"),
        CheckConstraint("due_date >= start_date", name="due_not_before_start"),
        CheckConstraint("days >= 0", name="days_non_negative"),
        CheckConstraint("principal >= 0", name="principal_non_negative"),
        CheckConstraint("interest >= 0", name="interest_non_negative"),
        CheckConstraint("fee >= 0", name="fee_non_negative"),
        CheckConstraint("total = principal + interest + fee", name="total_is_sum"),
        CheckConstraint("remaining_principal >= 0", name="remaining_principal_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"))
    version: Mapped[int] = mapped_column(Integer)
    period: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer)
    principal: Mapped[int] = mapped_column(BigInteger)
    interest: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger)
    remaining_principal: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class LoanTransaction(Base):
    """One event in a contract's life (disbursement, repayment, accrual, waiver, reversal …), numbered
    by ``seq`` within the contract. Never updated: a correction is a new transaction that names the
    one it reverses (each transaction can be reversed at most once)."""

    __tablename__ = "loan_transactions"
    __table_args__ = (
        UniqueConstraint("contract_id", "seq"),
        UniqueConstraint("contract_id", "idempotency_key"),
        UniqueConstraint("reverses_txn_id"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        Index(None, "contract_id", "value_date"),
        # at most one daily accrual per contract and date, whatever the close does (two closes racing,
        # a resumed close): the database refuses the second row
        Index(
            "ix_loan_transactions_one_daily_accrual",
            "contract_id",
            "value_date",
            unique=True,
            postgresql_where=text(f"type = '{DAILY_ACCRUAL_TYPE}'"),
            sqlite_where=text(f"type = '{DAILY_ACCRUAL_TYPE}'"),
        ),
        # a payment is booked once: one transaction of a type per payment and contract (migration
        # 0009_payment_features), however often its payment.settled job runs
        Index(
            "uq_loan_transactions_one_per_payment",
            "payment_id",
            "contract_id",
            "type",
            unique=True,
            postgresql_where=text("payment_id IS NOT NULL"),
            sqlite_where=text("payment_id IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("txn"))
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(24))
    amount: Mapped[int] = mapped_column(BigInteger)
    value_date: Mapped[date] = mapped_column(Date)
    business_date: Mapped[date] = mapped_column(Date)
    reverses_txn_id: Mapped[str | None] = mapped_column(ForeignKey("loan_transactions.id"))
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


# --- ledger ----------------------------------------------------------------------------------------


class JournalEntry(Base):
    """A balanced set of postings (Σ debit = Σ credit, checked by the ledger code). Append-only."""

    __tablename__ = "journal_entries"
    __table_args__ = (UniqueConstraint("reverses_entry_id"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("je"))
    business_date: Mapped[date] = mapped_column(Date, index=True)
    value_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(200))
    source_txn_id: Mapped[str | None] = mapped_column(ForeignKey("loan_transactions.id"), index=True)
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"), index=True)
    reverses_entry_id: Mapped[str | None] = mapped_column(ForeignKey("journal_entries.id"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    postings: Mapped[list[Posting]] = relationship(
        back_populates="entry", order_by="Posting.id", cascade="save-update, merge"
    )


class Posting(Base):
    """One line of a journal entry: exactly one of debit or credit is positive, the other zero."""

    __tablename__ = "postings"
    __table_args__ = (
        CheckConstraint("debit >= 0", name="debit_non_negative"),
        CheckConstraint("credit >= 0", name="credit_non_negative"),
        CheckConstraint("(debit > 0 AND credit = 0) OR (debit = 0 AND credit > 0)", name="exactly_one_side"),
        Index(None, "account_code", "contract_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_code: Mapped[str] = mapped_column(CODE)
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    debit: Mapped[int] = mapped_column(BigInteger, default=0)
    credit: Mapped[int] = mapped_column(BigInteger, default=0)

    entry: Mapped[JournalEntry] = relationship(back_populates="postings")


# --- money movement --------------------------------------------------------------------------------


class Payment(Base):
    """Money in (repayment) or out (disbursement) through a channel, with its state machine
    (:mod:`lendcore.payments.state`). ``value_date`` is when the customer started it: it decides
    lateness, however late the channel confirms. ``channel_reference`` is unique (one channel
    transaction can settle only one payment), and so is ``idempotency_key``."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(_one_of("direction", PAYMENT_DIRECTIONS), name="direction"),
        CheckConstraint(_one_of("state", PAYMENT_STATES), name="state"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index(None, "state", "requested_at"),
        Index(None, "state", "next_query_at"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("pay"))
    direction: Mapped[str] = mapped_column(String(8))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    bank_card_id: Mapped[str | None] = mapped_column(ForeignKey("bank_cards.id"))
    purpose: Mapped[str | None] = mapped_column(String(24))  # disbursement, repayment, autopay …
    amount: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(STATUS, default="created")
    channel: Mapped[str] = mapped_column(CODE)
    channel_reference: Mapped[str | None] = mapped_column(String(64), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    requested_at: Mapped[datetime] = mapped_column(default=utc_now)
    value_date: Mapped[date] = mapped_column(Date)
    settled_at: Mapped[datetime | None] = mapped_column(index=True)  # reconciliation reads a day of them
    timeout_at: Mapped[datetime | None] = mapped_column()
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    # deadlines of a payment in flight (migration 0007_payments_jobs, lendcore.payments.deadlines)
    submitted_at: Mapped[datetime | None] = mapped_column()
    failure_code: Mapped[str | None] = mapped_column(CODE)  # the channel's code (INSUFFICIENT_FUNDS …)
    next_query_at: Mapped[datetime | None] = mapped_column()
    last_queried_at: Mapped[datetime | None] = mapped_column()
    query_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    sla_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    # what a repayment booked at settlement allocates (mode, contracts …; migration 0009_payment_features)
    allocation: Mapped[dict[str, Any] | None] = mapped_column()


class UnappliedFunds(Base):
    """A customer's suspense balance: cash received and not (yet) allocated to a contract."""

    __tablename__ = "unapplied_funds"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_non_negative"),)

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    __mapper_args__: Mapping[str, Any] = {"version_id_col": version}


# --- infrastructure --------------------------------------------------------------------------------


class IdempotencyKey(Base):
    """A request already handled: its key (unique within a scope), a fingerprint of the request and
    the JSON response it got. See :mod:`lendcore.store.idempotency`."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(HASH)
    response: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class AuditRecord(Base):
    """Who did what to which record, when. Append-only (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str | None] = mapped_column(Text)


class BusinessDate(Base):
    """The open business date (营业日): one row, ``name = 'default'`` (a CHECK keeps it a singleton).

    Missing on a fresh database; the first dated operation or close stores it, and the daily close of
    that date advances it by one day (:mod:`lendcore.servicing.business_day`)."""

    __tablename__ = "business_dates"
    __table_args__ = (CheckConstraint(f"name = '{BUSINESS_CALENDAR}'", name="singleton"),)

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class JobRun(Base):
    """One end-of-day job for one business date; the unique (job, business_date) pair is what makes the
    close idempotent: a date closed once is not closed again.

    While ``running`` the job is held by a lease: ``lease_owner`` (the process) until
    ``lease_expires_at``, renewed by every committed chunk. A live lease refuses a second close; an
    expired one (a crashed run) may be taken over, and the new owner resumes from the progress the
    chunks committed in ``details``."""

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job", "business_date"),
        CheckConstraint(_one_of("status", JOB_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(64))
    business_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(STATUS, default="running")
    started_at: Mapped[datetime] = mapped_column(default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column()
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column()


#: Tables protected against UPDATE and DELETE by triggers (see the initial migration).
APPEND_ONLY_TABLES: Final = ("audit_log", "journal_entries", "postings", "payment_events")

from lendcore.store import models_api as _api  # noqa: E402,F401  (HTTP API tables)
from lendcore.store import models_approvals as _approvals  # noqa: E402,F401  (maker-checker proposals)
from lendcore.store import models_autopay as _autopay  # noqa: E402,F401  (official accounts, autopay)
from lendcore.store import models_close as _close  # noqa: E402,F401  (aggregate accrual of the close)
from lendcore.store import models_hardship as _hardship  # noqa: E402,F401  (hardship offers)
from lendcore.store import models_jobs as _jobs  # noqa: E402,F401  (the job queue)
from lendcore.store import models_notify as _notify  # noqa: E402,F401  (notifications, 预约还款)
from lendcore.store import models_origination as _origination  # noqa: E402,F401  (origination tables)
from lendcore.store import models_payments as _payments  # noqa: E402,F401  (payment events, issues)
from lendcore.store import models_post as _post  # noqa: E402,F401  (collection, bureau records)
from lendcore.store import models_privacy as _privacy  # noqa: E402,F401  (privacy rights, funding partners)
