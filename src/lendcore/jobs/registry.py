"""Job handlers, registered per kind.

A handler is called with a :class:`JobContext`. Delivery is **at least once** (a worker can die after
the effect and before it records the job done), so every handler must be idempotent:

* ``transactional=True`` (the default): the worker opens the unit of work, the handler does its
  database work in ``ctx.session``, and the worker marks the job succeeded *in the same transaction*.
  The effect and the acknowledgement commit together: a worker killed mid-job leaves nothing, and the
  job runs again from scratch. This is exactly once for database effects.
* ``transactional=False``: for handlers that call out (a payment channel) and open their own units
  of work. The job is marked done after the handler returns, so it may run again after a crash: guard
  each effect by a unique key (the payment id as the channel's order number, ``INSERT … ON CONFLICT``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.orm import Session, sessionmaker

DEFAULT_LEASE: Final = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class JobContext:
    job_id: int
    kind: str
    payload: dict[str, Any]
    attempt: int  # 1 on the first run
    now: datetime  # the worker's clock when it claimed the job
    session_factory: sessionmaker[Session]
    session: Session | None = None  # set for transactional handlers

    def db(self) -> Session:
        """The job's own session (transactional handlers only)."""
        if self.session is None:
            raise RuntimeError(f"job kind {self.kind} is not transactional: open a unit of work")
        return self.session


HandlerFn = Callable[[JobContext], None]


@dataclass(frozen=True, slots=True)
class Handler:
    kind: str
    fn: HandlerFn
    transactional: bool = True
    lease: timedelta = DEFAULT_LEASE  # how long a claim lasts before another worker may take over


@dataclass
class Registry:
    handlers: dict[str, Handler] = field(default_factory=dict)

    def register(
        self,
        kind: str,
        fn: HandlerFn,
        *,
        transactional: bool = True,
        lease: timedelta = DEFAULT_LEASE,
    ) -> Handler:
        if kind in self.handlers:
            raise ValueError(f"a handler for {kind!r} is already registered")
        handler = Handler(kind, fn, transactional, lease)
        self.handlers[kind] = handler
        return handler

    def handler(self, kind: str, **options: Any) -> Callable[[HandlerFn], HandlerFn]:
        """Decorator form of :meth:`register`."""

        def decorate(fn: HandlerFn) -> HandlerFn:
            self.register(kind, fn, **options)
            return fn

        return decorate

    def get(self, kind: str) -> Handler | None:
        return self.handlers.get(kind)

    def kinds(self) -> list[str]:
        return sorted(self.handlers)

    def __iter__(self) -> Iterator[Handler]:
        return iter(self.handlers.values())
