"""The database as the API sees it: one session factory per application, a unit of work per use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lendcore.store.engine import unit_of_work


@dataclass(frozen=True, slots=True)
class Database:
    """Handlers open a unit of work explicitly: ``with db.write() as session: …`` (one transaction,
    committed when the block ends) or ``with db.read() as session: …`` (never commits)."""

    session_factory: sessionmaker[Session]

    @property
    def engine(self) -> Engine:
        bind = self.session_factory.kw["bind"]
        assert isinstance(bind, Engine)
        return bind

    @contextmanager
    def write(self) -> Iterator[Session]:
        with unit_of_work(self.session_factory) as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with unit_of_work(self.session_factory, read_only=True) as session:
            yield session
