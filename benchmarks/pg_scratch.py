"""The benchmarks' PostgreSQL databases, in one place (imported by the ``bench_*.py`` scripts, which
run with this directory on their path).

* :func:`scratch_database`: a database of this run's own on ``LENDCORE_BENCH_SERVER_URL`` (default
  the local server's ``postgres`` database), dropped at the end whatever happens;
* :func:`emptied_database`: ``LENDCORE_BENCH_DATABASE_URL`` (default ``lendcore_bench``), created if
  missing and emptied (its schema dropped and recreated), kept afterwards for a look.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from lendcore.store.engine import create_engine

SERVER_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BENCH_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/lendcore_bench"


@contextmanager
def scratch_database(label: str) -> Iterator[str]:
    server = make_url(os.environ.get("LENDCORE_BENCH_SERVER_URL", SERVER_DEFAULT))
    name = f"lendcore_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def emptied_database() -> str:
    url = make_url(os.environ.get("LENDCORE_BENCH_DATABASE_URL", BENCH_DEFAULT))
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if not c.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}):
            c.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as c:
        c.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        c.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url.render_as_string(hide_password=False)
