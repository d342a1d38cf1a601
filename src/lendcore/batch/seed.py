"""A synthetic book at scale (``lendcore bench seed --contracts N``), so anyone can reproduce the
close's figures on their own machine.

How: a small set of **template** customers, each with one contract of a shipped product, is built
through the real use cases (:func:`~lendcore.servicing.lines.open_credit_line`,
:func:`~lendcore.servicing.draw.draw`, :func:`~lendcore.servicing.repay.repay`) at different ages
and with different payment behaviours (current, overdue, paid ahead, paid off), so every template row
(contract state, schedule, transactions, journal entries, postings, payments, unapplied funds) is what
the system itself writes and the invariants hold. The template rows are then read back once and
**cloned** in bulk: a clone of a template is the same rows with the last six characters of every id
replaced by the clone's code (Crockford base32, never the suffix of a template id), so a clone's ids
stay well-formed and its references, JSON documents included, point at its own rows. Clones are
written in batches of ``batch`` contracts, one transaction each: PostgreSQL through
``COPY … FROM STDIN`` (the templates are read with ``COPY … TO STDOUT``, so a clone is a string
join), SQLite through ``executemany``. Memory is bounded by the batch, not by N. The templates stay
(the ledger is append-only): the book holds exactly N contracts, the templates and N − K clones.

Clones of one template are identical but for their ids: the book's mix (products, ages, overdue
share) is the templates' mix. That is what the close's throughput depends on; it is not a credit
risk data set.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any, Final

from sqlalchemy import Connection, Engine, Table, func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.allocation import CustomerMode
from lendcore.core.consent import ConsentKind
from lendcore.core.errors import ConflictError, InvariantViolationError, ValidationError
from lendcore.core.schedule import Method
from lendcore.origination.autopay import MandateRole, create_mandate
from lendcore.origination.drawdown_check import drawdown_gate
from lendcore.origination.onboarding import ConsentGrantRequest, grant_consent
from lendcore.risk.decision import DrawdownConfig
from lendcore.servicing.draw import DrawRequest, draw
from lendcore.servicing.drawdown_quote import DEFAULT_PURPOSE
from lendcore.servicing.lines import open_credit_line
from lendcore.servicing.repay import RepayRequest, repay
from lendcore.store.engine import unit_of_work
from lendcore.store.models import BankCard, Base, Contract, Customer, ScheduleRow

__all__ = [
    "DEFAULT_AS_OF",
    "MAX_CONTRACTS",
    "TEMPLATES",
    "SeedReport",
    "Template",
    "require_empty_book",
    "seed_book",
]

DEFAULT_AS_OF: Final = date(2026, 6, 1)
#: Six base32 characters of clone number per template.
MAX_CONTRACTS: Final = 32**6
DEFAULT_BATCH: Final = 5_000
_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_LENGTH: Final = 6
_ID: Final = re.compile(r"\b[a-z][a-z0-9]{0,7}_[0-9A-HJKMNP-TV-Z]{26}\b")
#: The tables that make a book (in foreign-key order); everything else (idempotency keys, audit log,
#: business dates, jobs, origination) is not cloned.
BOOK_TABLES: Final = (
    "customers",
    "bank_cards",
    "consents",
    "autopay_mandates",
    "credit_lines",
    "contracts",
    "schedule_rows",
    "payments",
    "loan_transactions",
    "journal_entries",
    "postings",
    "unapplied_funds",
    "payment_events",
)
#: Columns unique on their own that hold no id: a clone gets its code appended.
_UNIQUE_TEXT: Final = {
    ("payments", "channel_reference"),
    ("payments", "idempotency_key"),
    ("loan_transactions", "idempotency_key"),
}
#: A purpose each product accepts (the rest take the default one).
_PURPOSES: Final = {"smallbiz": "working-capital"}
_RELAXED: Final = DrawdownConfig(max_drawdowns_per_window=10**9, max_failed_repayments=10**9)


@dataclass(frozen=True, slots=True)
class Template:
    """One template contract: product, amount (fen), term, method, age in days at the seed date and
    behaviour: ``current`` (every due installment paid on its due date), ``overdue`` (the last
    ``late`` due installments unpaid), ``ahead`` (paid as current plus the next installment early) or
    ``paid-off`` (settled in full). With ``autopay`` the customer has a bound card, the
    ``autopay_debit`` consent and a primary mandate on that card (given on the drawdown day)."""

    product: str
    amount: int
    term: int
    method: Method | None
    age_days: int
    behaviour: str = "current"
    late: int = 1
    autopay: bool = False


TEMPLATES: Final[tuple[Template, ...]] = (
    Template("quick", 300_000, 3, Method.EQUAL_INSTALLMENT, 10),
    Template("quick", 800_000, 6, Method.EQUAL_INSTALLMENT, 75),
    Template("quick", 500_000, 6, Method.EQUAL_PRINCIPAL, 100, "overdue"),
    Template("quick", 1_200_000, 12, Method.EQUAL_INSTALLMENT, 160),
    Template("quick", 200_000, 1, Method.BULLET, 40, "overdue"),
    Template("quick", 600_000, 6, Method.EQUAL_INSTALLMENT, 70, "ahead"),
    Template("quick", 400_000, 2, Method.BULLET, 20),
    Template("quick", 300_000, 3, Method.EQUAL_INSTALLMENT, 45, "paid-off"),
    Template("premium", 4_500_000, 12, Method.EQUAL_INSTALLMENT, 200),
    Template("premium", 3_000_000, 6, Method.EQUAL_PRINCIPAL, 130, "overdue", 2),
    Template("premium", 2_000_000, 24, Method.EQUAL_INSTALLMENT, 45, "ahead"),
    Template("smallbiz", 4_000_000, 12, Method.INTEREST_ONLY, 95),
    Template("smallbiz", 2_500_000, 6, Method.EQUAL_INSTALLMENT, 190, "overdue", 3),
    Template("quick", 900_000, 9, Method.EQUAL_INSTALLMENT, 250, "overdue", 4),
)


@dataclass(frozen=True, slots=True)
class SeedReport:
    contracts: int
    templates: int
    rows: int
    seconds: float
    as_of: date

    @property
    def contracts_per_second(self) -> float:
        return self.contracts / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "contracts": self.contracts,
            "templates": self.templates,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "contracts_per_second": round(self.contracts_per_second),
            "as_of": self.as_of.isoformat(),
        }


# --- the templates, through the use cases -----------------------------------------------------------


def _repay(
    session: Session, customer_id: str, amount: int | None, on: date, key: str, mode: CustomerMode
) -> None:
    request = RepayRequest(
        customer_id=customer_id, business_date=on, idempotency_key=key, amount=amount, mode=mode
    )
    repay(session, request)


def _build_template(factory: sessionmaker[Session], number: int, spec: Template, as_of: date) -> None:
    start = as_of - timedelta(days=spec.age_days)
    with unit_of_work(factory) as session:
        customer = Customer(status="active")
        session.add(customer)
        session.flush()
        line = open_credit_line(
            session,
            customer_id=customer.id,
            product_code=spec.product,
            credit_limit=5_000_000,  # the largest limit the strategy grants (¥50,000)
            pricing_grade="C",
            business_date=start,
            actor="seed",
        )
        request = DrawRequest(
            line_id=line.id,
            amount=spec.amount,
            term=spec.term,
            business_date=start,
            idempotency_key=f"seed-draw-{number}",
            method=spec.method,
            purpose=_PURPOSES.get(spec.product, DEFAULT_PURPOSE),
        )
        contract_id = draw(session, request, gate=drawdown_gate(_RELAXED)).contract_id
        if spec.autopay:
            _mandate(session, customer.id, number, datetime.combine(start, clock_time(1, 0), UTC))
        rows = session.execute(
            select(ScheduleRow.due_date, ScheduleRow.total)
            .where(ScheduleRow.contract_id == contract_id)
            .order_by(ScheduleRow.period)
        ).all()
        customer_id = customer.id
    due = [(d, total) for d, total in rows if d <= as_of]
    if spec.behaviour == "overdue":
        due = due[: max(len(due) - spec.late, 0)]
    for i, (on, total) in enumerate(due):
        with unit_of_work(factory) as session:
            _repay(session, customer_id, total, on, f"seed-repay-{number}-{i}", CustomerMode.BY_AMOUNT)
    later = [(d, total) for d, total in rows if d > as_of]
    on = as_of - timedelta(days=1)
    if spec.behaviour == "ahead" and later:
        with unit_of_work(factory) as session:
            _repay(session, customer_id, later[0][1], on, f"seed-ahead-{number}", CustomerMode.BY_AMOUNT)
    if spec.behaviour == "paid-off":
        with unit_of_work(factory) as session:
            _repay(session, customer_id, None, on, f"seed-payoff-{number}", CustomerMode.PAY_OFF_ALL)


def _mandate(session: Session, customer_id: str, number: int, at: datetime) -> None:
    """A bound card (its number never stored: a placeholder ciphertext and hash), the autopay consent
    and a primary mandate, through the use cases."""
    card = BankCard(
        customer_id=customer_id, card_number_ciphertext=b"seed", card_number_hash=f"seed{number:060d}",
        bin="622202", bank_name="ICBC", last4="0018", is_default=True,
    )  # fmt: skip
    session.add(card)
    session.flush()
    grant_consent(session, ConsentGrantRequest(customer_id, ConsentKind.AUTOPAY_DEBIT, "1.0"), at=at)
    create_mandate(session, customer_id, card.id, MandateRole.PRIMARY, actor="seed", at=at)


# --- reading the templates back as clonable rows ------------------------------------------------------

#: A row (or a COPY line) split where the clone code goes: clone n = code(n).join(parts).
Parts = tuple[str, ...]


def _code(n: int) -> str:
    chars = []
    for _ in range(_CODE_LENGTH):
        n, digit = divmod(n, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def _split(value: str, ids: frozenset[str], unique: bool) -> Parts | None:
    """``value`` cut where each template id's last six characters were (None: nothing to replace)."""
    parts: list[str] = []
    last = 0
    for match in _ID.finditer(value):
        if match.group() in ids:
            parts.append(value[last : match.end() - _CODE_LENGTH])
            last = match.end()
    if unique:  # cut at the end too: the clone's value is the template's + its code
        parts.append(value[last:])
        last = len(value)
    if not parts:
        return None
    parts.append(value[last:])
    return tuple(parts)


@dataclass(frozen=True, slots=True)
class _Row:
    """A SQLite template row: its values, and the text cells that change per clone (their parts)."""

    values: tuple[Any, ...]
    varying: tuple[tuple[int, Parts], ...]

    def clone(self, code: str) -> list[Any]:
        row = list(self.values)
        for position, parts in self.varying:
            row[position] = code.join(parts)
        return row


@dataclass(frozen=True, slots=True)
class _TableTemplate:
    table: Table
    columns: tuple[str, ...]
    rows_by_owner: dict[str, list[Any]]  # template customer id → its rows (COPY parts or cells)


def _clonable_columns(table: Table) -> tuple[str, ...]:
    """Every column but an autoincrement integer key (the database numbers the clones' rows)."""
    return tuple(
        c.name
        for c in table.columns
        if not (c.primary_key and c.autoincrement is not False and c.type.python_type is int)
    )


def _owner(cells: Sequence[Any], owners: dict[str, str]) -> str | None:
    for cell in cells:
        if isinstance(cell, str):
            for match in _ID.finditer(cell):
                owner = owners.get(match.group())
                if owner is not None:
                    return owner
    return None


def _register(cells: Sequence[Any], owner: str, owners: dict[str, str]) -> None:
    for cell in cells:
        if isinstance(cell, str):
            for match in _ID.finditer(cell):
                owners.setdefault(match.group(), owner)


def _template_ids(connection: Connection) -> frozenset[str]:
    ids: set[str] = set()
    for name in BOOK_TABLES:
        table = Base.metadata.tables[name]
        key = [c for c in table.primary_key.columns if c.type.python_type is str]
        if key:
            ids.update(connection.execute(select(key[0])).scalars())
    return frozenset(ids)


def _read_templates(connection: Connection, postgres: bool) -> list[_TableTemplate]:
    """Every book row, grouped by the template customer it belongs to (found through the ids it
    holds, tables read in foreign-key order so a row's owner is known before the rows that refer to
    it). PostgreSQL rows come as COPY text lines; SQLite rows as the driver's values."""
    ids = _template_ids(connection)
    owners = {cid: cid for cid in connection.execute(select(Customer.id)).scalars()}
    out = []
    for name in BOOK_TABLES:
        table = Base.metadata.tables[name]
        columns = _clonable_columns(table)
        raw = _raw_rows(connection, name, columns, postgres)
        grouped: dict[str, list[Any]] = {}
        for values, line in raw:
            owner = _owner(values, owners)
            if owner is None:
                raise InvariantViolationError(
                    f"seed: a {name} row belongs to no template customer", code="SEED_ORPHAN_ROW"
                )
            _register(values, owner, owners)
            if postgres:
                parts = _split(line, ids, False)
                grouped.setdefault(owner, []).append(parts if parts is not None else (line,))
            else:
                grouped.setdefault(owner, []).append(_cells(name, columns, values, ids))
        out.append(_TableTemplate(table, columns, grouped))
    return out


def _cells(name: str, columns: Sequence[str], values: Sequence[Any], ids: frozenset[str]) -> _Row:
    varying = []
    for position, (column, value) in enumerate(zip(columns, values, strict=True)):
        parts = _split(value, ids, (name, column) in _UNIQUE_TEXT) if isinstance(value, str) else None
        if parts is not None:
            varying.append((position, parts))
    return _Row(tuple(values), tuple(varying))


def _raw_rows(
    connection: Connection, name: str, columns: Sequence[str], postgres: bool
) -> list[tuple[Sequence[Any], str]]:
    """(values, COPY text line) per row; the line is empty on SQLite."""
    column_list = ", ".join(columns)
    if not postgres:
        cursor = connection.connection.driver_connection.execute(f"SELECT {column_list} FROM {name}")  # type: ignore[union-attr]
        return [(tuple(row), "") for row in cursor.fetchall()]
    rows: list[tuple[Sequence[Any], str]] = []
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY (SELECT {column_list} FROM {name} ORDER BY 1) TO STDOUT") as copy:
        text_rows = b"".join(bytes(chunk) for chunk in copy).decode()
    for line in text_rows.splitlines(keepends=True):
        rows.append((line.rstrip("\n").split("\t"), line))
    return rows


# --- writing the clones -----------------------------------------------------------------------------


def _unique_columns_fixup(templates: list[_TableTemplate]) -> None:
    """On PostgreSQL the unique text columns get the code appended in the COPY line itself."""
    for template in templates:
        name = template.table.name
        positions = [i for i, c in enumerate(template.columns) if (name, c) in _UNIQUE_TEXT]
        if not positions:
            continue
        for owner, rows in template.rows_by_owner.items():
            template.rows_by_owner[owner] = [_append_code(parts, positions) for parts in rows]


def _append_code(parts: Parts, positions: Sequence[int]) -> Parts:
    """Cut a COPY line's parts once more at the end of the fields at ``positions`` (unless NULL)."""
    line = "\x00".join(parts)  # a NUL never occurs in COPY text: marks the existing cut points
    fields = line.rstrip("\n").split("\t")
    for i in positions:
        if fields[i] != "\\N":
            fields[i] += "\x00"
    return tuple(("\t".join(fields) + "\n").split("\x00"))


def _codes(forbidden: frozenset[str]) -> Iterator[str]:
    """Clone codes in order, skipping the suffixes of the template ids (a clone never reuses an id)."""
    n = 0
    while True:
        code = _code(n)
        if code not in forbidden:
            yield code
        n += 1


def _batches(
    owners: Sequence[str], clones: int, batch: int, forbidden: frozenset[str]
) -> Iterator[list[tuple[str, str]]]:
    """(clone code, template customer) for ``clones`` clones (one contract each), ``batch`` at a
    time: a clone of every template before a second clone of any, so any N has the templates' mix."""
    out: list[tuple[str, str]] = []
    codes = _codes(forbidden)
    code = ""
    for i in range(clones):
        if i % len(owners) == 0:
            code = next(codes)
        out.append((code, owners[i % len(owners)]))
        if len(out) == batch:
            yield out
            out = []
    if out:
        yield out


def _copy_clones(driver: Any, template: _TableTemplate, clones: list[tuple[str, str]]) -> int:
    """PostgreSQL: the clones' COPY lines (string joins) in one ``COPY … FROM STDIN``."""
    lines = [code.join(parts) for code, owner in clones for parts in template.rows_by_owner.get(owner, ())]
    if lines:
        columns = ", ".join(template.columns)
        with driver.cursor().copy(f"COPY {template.table.name} ({columns}) FROM STDIN") as copy:
            copy.write("".join(lines))
    return len(lines)


def _insert_clones(driver: Any, template: _TableTemplate, clones: list[tuple[str, str]]) -> int:
    """SQLite: the clones' rows in one ``executemany``."""
    values = [row.clone(code) for code, owner in clones for row in template.rows_by_owner.get(owner, ())]
    if values:
        marks = ", ".join("?" * len(template.columns))
        columns = ", ".join(template.columns)
        driver.executemany(f"INSERT INTO {template.table.name} ({columns}) VALUES ({marks})", values)
    return len(values)


def _write_batch(
    connection: Connection, templates: list[_TableTemplate], clones: list[tuple[str, str]], postgres: bool
) -> int:
    driver = connection.connection.driver_connection
    write = _copy_clones if postgres else _insert_clones
    return sum(write(driver, template, clones) for template in templates)


@contextmanager
def _bulk_load(connection: Connection, postgres: bool) -> Iterator[None]:
    """SQLite: no foreign-key checks and no fsync per commit while the clones load (they are copies
    of rows that passed every check; a crash leaves a book to seed again), restored afterwards, as the
    connection goes back to the pool."""
    if postgres:
        yield
        return
    driver: Any = connection.connection.driver_connection  # outside any transaction: pragmas apply
    (synchronous,) = driver.execute("PRAGMA synchronous").fetchone()
    driver.execute("PRAGMA foreign_keys=OFF")
    driver.execute("PRAGMA synchronous=OFF")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA synchronous={int(synchronous)}")
        driver.execute("PRAGMA foreign_keys=ON")


def require_empty_book(session: Session) -> None:
    if session.scalar(select(func.count()).select_from(Contract)):
        raise ConflictError(
            "bench seed needs a database with no contracts (it builds a whole synthetic book)",
            code="SEED_DATABASE_NOT_EMPTY",
        )


def seed_book(
    factory: sessionmaker[Session],
    contracts: int,
    *,
    as_of: date = DEFAULT_AS_OF,
    batch: int = DEFAULT_BATCH,
    templates: Sequence[Template] = TEMPLATES,
    progress: Callable[[int], None] | None = None,
) -> SeedReport:
    """Build a book of ``contracts`` contracts as of ``as_of`` in an empty database (see the module
    docstring); ``progress`` is called with the contracts written after each batch."""
    if not 1 <= contracts <= MAX_CONTRACTS * len(templates):
        raise ValidationError(
            f"--contracts must be between 1 and {MAX_CONTRACTS * len(templates)}",
            code="INVALID_CONTRACT_COUNT",
        )
    started = time.perf_counter()
    with unit_of_work(factory, read_only=True) as session:
        require_empty_book(session)
    for number, spec in enumerate(templates[:contracts]):
        _build_template(factory, number, spec, as_of)
    engine: Engine = factory.kw["bind"]
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        owners = list(connection.execute(select(Customer.id).order_by(Customer.id)).scalars())
        forbidden = frozenset(i[-_CODE_LENGTH:] for i in _template_ids(connection))
        read = _read_templates(connection, postgres)
        if postgres:
            _unique_columns_fixup(read)
    built = len(owners)
    if progress is not None:
        progress(built)
    rows = 0
    with engine.connect() as connection, _bulk_load(connection, postgres):
        for clones in _batches(owners, contracts - built, batch, forbidden):
            with connection.begin():
                rows += _write_batch(connection, read, clones, postgres)
            built += len(clones)
            if progress is not None:
                progress(built)
    return SeedReport(built, min(len(templates), contracts), rows, time.perf_counter() - started, as_of)
