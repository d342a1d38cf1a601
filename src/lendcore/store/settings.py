"""Where the database lives.

``LENDCORE_DATABASE_URL`` names it (``postgresql+psycopg://user:pass@host/db`` in production); without
it lendcore uses an embedded SQLite file, ``lendcore.db`` in the user's data directory (created on
first use). ``postgresql://`` and ``postgres://`` URLs are accepted and mapped to the psycopg 3 driver.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from platformdirs import user_data_dir
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from lendcore.core.errors import ConfigurationError

DATABASE_URL_ENV: Final = "LENDCORE_DATABASE_URL"
DEFAULT_SQLITE_FILENAME: Final = "lendcore.db"


def default_data_dir() -> Path:
    """The per-user data directory (created if missing)."""
    path = Path(user_data_dir("lendcore", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_database_url() -> str:
    """``sqlite:///…/lendcore.db`` in the user's data directory."""
    return f"sqlite:///{default_data_dir() / DEFAULT_SQLITE_FILENAME}"


def normalize_url(url: str | URL) -> URL:
    """Parse a database URL, mapping plain PostgreSQL URLs to the psycopg 3 driver.

    Raises ``ConfigurationError`` (``INVALID_DATABASE_URL``) for anything SQLAlchemy cannot parse or a
    backend lendcore does not support.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as error:  # ValueError: a port that is not a number
        raise ConfigurationError(
            f"not a database URL: {mask_url(str(url))}", code="INVALID_DATABASE_URL"
        ) from error
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql",
            code="INVALID_DATABASE_URL",
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise ConfigurationError(
            "PostgreSQL is used through psycopg 3: write postgresql+psycopg://…",
            code="INVALID_DATABASE_URL",
        )
    return parsed


def database_url() -> URL:
    """The configured database URL (``LENDCORE_DATABASE_URL``), or the embedded SQLite default."""
    configured = os.environ.get(DATABASE_URL_ENV, "").strip()
    return normalize_url(configured or default_database_url())


def mask_url(url: str | URL) -> str:
    """The URL with its password replaced by ``***`` (for printing and logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparseable database URL>"
