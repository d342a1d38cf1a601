"""What every database-backed command shares: the business date, a session, error mapping.

The business date is the store's (:mod:`lendcore.servicing.business_day`): ``--date`` omitted means the
open business date, ``--date X`` must be it, and the unit of work of a dated command re-checks it (and
establishes it on a fresh database). The shell is the only place that reads the clock: "today" in
Asia/Shanghai bounds business dates and initialises a fresh database; timestamps are UTC. The database
is ``LENDCORE_DATABASE_URL`` or the embedded SQLite file; it is migrated to the shipped head on first
use, so a fresh machine needs no extra step.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeVar
from zoneinfo import ZoneInfo

import typer

from lendcore.cli.output import err_console, error_line, fail, notice
from lendcore.core.calendar import parse_date
from lendcore.core.errors import LendcoreError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from lendcore.security.pii import PiiCipher

BUSINESS_TZ: Final = ZoneInfo("Asia/Shanghai")

DateOption = Annotated[
    str | None,
    typer.Option("--date", help="Business date (YYYY-MM-DD): must be the open business date (the default)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]

_T = TypeVar("_T")


def today() -> date:
    """Today in Asia/Shanghai: the wall clock, read here only."""
    return datetime.now(BUSINESS_TZ).date()


def _requested(text: str | None) -> date | None:
    return parse_date(text, what="--date") if text is not None else None


def business_date(text: str | None) -> date:
    """The business date a command runs on: ``--date`` if it is the open business date, else refused;
    without ``--date`` the open business date (today on a fresh database)."""
    from lendcore.servicing.business_day import resolve_business_date

    requested = _requested(text)
    return in_session(lambda s: resolve_business_date(s, requested, today=today()), read_only=True)


def close_date(text: str | None) -> date:
    """The last date ``eod run`` closes: ``--date``, or the open business date (never after today)."""
    from lendcore.servicing.business_day import resolve_close_date

    requested = _requested(text)
    return in_session(lambda s: resolve_close_date(s, requested, today=today()), read_only=True)


def now() -> datetime:
    return datetime.now(UTC)


_factories: dict[str, sessionmaker[Session]] = {}


def session_factory() -> sessionmaker[Session]:
    """Sessions on the configured database, migrated to the shipped head once per process and URL."""
    from lendcore.store.engine import create_engine, create_session_factory
    from lendcore.store.migrate import current_revision, head_revision, upgrade_database
    from lendcore.store.settings import database_url

    url = database_url().render_as_string(hide_password=False)
    factory = _factories.get(url)
    if factory is None:
        engine = create_engine(url)
        if current_revision(engine) != head_revision():
            upgrade_database(engine)
        factory = _factories[url] = create_session_factory(engine)
    return factory


@contextmanager
def open_session(*, read_only: bool = False, business_date: date | None = None) -> Iterator[Session]:
    """One unit of work (one transaction) on the configured database. With ``business_date`` (a dated
    command) it first holds the open business date and checks it is still that date, establishing it
    on a fresh database unless ``read_only``
    (:func:`~lendcore.servicing.business_day.enter_business_date`)."""
    from lendcore.store.engine import unit_of_work

    with unit_of_work(session_factory(), read_only=read_only) as session:
        if business_date is not None:
            from lendcore.servicing.business_day import enter_business_date

            enter_business_date(session, business_date, establish=not read_only)
        yield session


def in_session(
    fn: Callable[[Session], _T], *, read_only: bool = False, business_date: date | None = None
) -> _T:
    """Run ``fn`` in one unit of work (on ``business_date``, see :func:`open_session`); its result."""
    with open_session(read_only=read_only, business_date=business_date) as session:
        return fn(session)


@contextmanager
def errors() -> Iterator[None]:
    """Business errors → one line, exit 2; database unreachable → one line (``DATABASE_UNAVAILABLE``),
    exit 1: the request was not refused, it could not be tried."""
    from sqlalchemy.exc import OperationalError  # here, not at import: keeps `lendcore --help` fast

    try:
        yield
    except LendcoreError as error:
        raise fail(error) from None
    except OperationalError as error:
        first_line = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        err_console.print(error_line(f"database error: {first_line}", "DATABASE_UNAVAILABLE"), markup=False)
        raise typer.Exit(1) from None


def run(fn: Callable[[], _T]) -> _T:
    """Run a command body under :func:`errors`."""
    with errors():
        return fn()


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def pii_cipher(*, check: bool = True) -> PiiCipher:
    """The PII cipher from ``LENDCORE_PII_KEYS`` / ``LENDCORE_PII_HMAC_KEYS`` (or the single
    ``LENDCORE_PII_HMAC_KEY``), checked against the database's blind-index keys: a key ring that lacks
    or changes a key stored hashes were made with is refused here (``PII_HMAC_KEY_MISSING``,
    ``PII_HMAC_KEY_CHANGED``), before the command touches any PII.

    Without them the development key ring is used; that is said on stderr (never silently), because
    data encrypted with it is readable by anyone with the source code.
    """
    from lendcore.origination.blind_index import check_key_ring
    from lendcore.security.pii import PiiCipher

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        cipher = PiiCipher.from_env()
    for warning in caught:
        text = str(warning.message)
        what = "PII is encrypted" if text.startswith("LENDCORE_PII_KEYS") else "blind indexes are keyed"
        notice(f"notice: {text.split(':')[0]}; {what} with the insecure development keys")
    if check:
        in_session(lambda session: check_key_ring(session, cipher), read_only=True)
    return cipher
