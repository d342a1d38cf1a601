"""Schema migrations, run in code: ``upgrade_database(url)`` is what the CLI, the demo and the tests use.

The Alembic scripts ship inside the package (``lendcore/store/migrations``), so nothing depends on
the current directory or an ``alembic.ini`` next to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from lendcore.core.errors import ValidationError
from lendcore.store.engine import create_engine

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    """A programmatic Alembic config pointing at the packaged scripts."""
    config = Config(MIGRATIONS_DIR / "alembic.ini")
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def _run(url: str | URL | Engine | None, action: str, revision: str) -> None:
    """Run an Alembic command in one transaction. A revision Alembic cannot resolve or reach is a
    :class:`ValidationError` (``UNKNOWN_REVISION``, ``INVALID_REVISION``) and changes nothing."""
    if not isinstance(revision, str) or not revision.strip() or len(revision) > 200:
        raise ValidationError("a revision is required (e.g. head)", code="INVALID_REVISION")
    engine = url if isinstance(url, Engine) else create_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            getattr(command, action)(config, revision)
    except CommandError as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else "invalid revision"
        unknown = message.startswith("Can't locate revision")
        raise ValidationError(
            f"{message}; shipped revisions: {', '.join(shipped_revisions())}",
            code="UNKNOWN_REVISION" if unknown else "INVALID_REVISION",
        ) from None
    finally:
        if not isinstance(url, Engine):
            engine.dispose()


def shipped_revisions() -> tuple[str, ...]:
    """Every revision shipped with lendcore, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return tuple(reversed([s.revision for s in script.walk_revisions()]))


def upgrade_database(url: str | URL | Engine | None = None, revision: str = "head") -> None:
    """Bring the database at ``url`` (default: the configured one) up to ``revision``."""
    _run(url, "upgrade", revision)


def downgrade_database(url: str | URL | Engine | None = None, revision: str = "base") -> None:
    """Take the database down to ``revision`` (``base``: drop every lendcore table)."""
    _run(url, "downgrade", revision)


def head_revision() -> str | None:
    """The newest revision shipped with this version of lendcore."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(url: str | URL | Engine | None = None) -> str | None:
    """The revision the database at ``url`` is at (``None``: not migrated)."""
    engine = url if isinstance(url, Engine) else create_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if not isinstance(url, Engine):
            engine.dispose()
