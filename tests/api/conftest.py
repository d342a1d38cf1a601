"""An API served by uvicorn on a loopback socket, on SQLite and PostgreSQL, with a clock tests drive.

``api`` (both databases) and ``sqlite_api`` / ``postgres_api`` give a :class:`LiveApi`: its
``client()`` is an httpx client on the server's URL; ``clock`` is the application's clock;
``customer(phone)`` registers a customer; ``staff(username, *roles)`` creates a staff user and
returns its password; ``token_for(principal)`` mints an access token. ``make_api(**options)`` builds
one with other settings or extra routers.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import APIRouter, FastAPI
from sqlalchemy.orm import Session, sessionmaker

from lendcore.api.app import create_app
from lendcore.api.database import Database
from lendcore.api.ratelimit import RateLimiter
from lendcore.api.settings import ApiSettings
from lendcore.auth.principal import Principal, StaffRole
from lendcore.auth.staff import create_staff_user
from lendcore.auth.tokens import AccessTokens
from lendcore.security import passwords
from lendcore.security.pii import KeyRing, PiiCipher
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from tests.origination.helpers import CIPHER, make_phone, register

START = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
STAFF_PASSWORD = "correct horse battery staple"


class FakeClock:
    """The application's clock: aware UTC, moved only by :meth:`advance`."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class MonotonicFake:
    """A monotonic clock for the rate limiter that tests move."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with minimal cost in these tests (the real parameters are tests/security's subject)."""
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn on a loopback socket bound before the server starts (connections
    wait in its backlog, so no polling is needed), in a thread; stop it afterwards."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


@dataclass
class LiveApi:
    base_url: str
    app: FastAPI
    factory: sessionmaker[Session]
    clock: FakeClock
    limiter_clock: MonotonicFake
    settings: ApiSettings
    cipher: PiiCipher = CIPHER
    _clients: list[httpx.Client] = field(default_factory=list)

    def client(self, **kwargs: Any) -> httpx.Client:
        client = httpx.Client(base_url=self.base_url, timeout=60, **kwargs)
        self._clients.append(client)
        return client

    def customer(self, phone: str | None = None) -> tuple[str, str]:
        """A registered customer: (customer id, phone)."""
        number = phone or make_phone()
        with unit_of_work(self.factory) as session:
            customer = register(session, phone=number)
        return customer.id, number

    def staff(self, username: str, *roles: StaffRole) -> str:
        with unit_of_work(self.factory) as session:
            return create_staff_user(
                session, username=username, password=STAFF_PASSWORD, roles=roles, actor="test"
            ).id

    def token_for(self, principal: Principal) -> str:
        return AccessTokens(self.settings.jwt_secret, self.settings.access_token_ttl).issue(
            principal, self.clock()
        )

    def auth(self, principal: Principal) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token_for(principal)}"}

    def close(self) -> None:
        for client in self._clients:
            client.close()


MakeApi = Callable[..., LiveApi]


@contextmanager
def live_api(
    url: str,
    *,
    settings: ApiSettings | None = None,
    extra_routers: tuple[APIRouter, ...] = (),
    cipher: PiiCipher = CIPHER,
) -> Iterator[LiveApi]:
    engine = create_engine(url)
    factory = create_session_factory(engine)
    clock = FakeClock()
    limiter_clock = MonotonicFake()
    config = settings or ApiSettings()
    app = create_app(
        Database(factory),
        settings=config,
        cipher=cipher,
        clock=clock,
        rate_limiter=RateLimiter(config.rate_limits, clock=limiter_clock, enabled=config.rate_limits_enabled),
        extra_routers=extra_routers,
    )
    with serve(app) as base_url:
        api = LiveApi(base_url, app, factory, clock, limiter_clock, config, cipher)
        try:
            yield api
        finally:
            api.close()
    engine.dispose()


@pytest.fixture
def make_api(database_url: str) -> Iterator[MakeApi]:
    stack: list[Any] = []

    def make(**options: Any) -> LiveApi:
        manager = live_api(database_url, **options)
        stack.append(manager)
        return manager.__enter__()

    yield make
    for manager in reversed(stack):
        manager.__exit__(None, None, None)


@pytest.fixture
def api(make_api: MakeApi) -> LiveApi:
    return make_api()


@pytest.fixture
def sqlite_api(sqlite_database_url: str) -> Iterator[LiveApi]:
    with live_api(sqlite_database_url) as api:
        yield api


@pytest.fixture
def postgres_api(postgres_database_url: str) -> Iterator[LiveApi]:
    with live_api(postgres_database_url) as api:
        yield api


def second_key_ring_cipher() -> PiiCipher:
    """A cipher whose blind-index ring has a new active key ``h2`` before the tests' ``h1``."""
    from lendcore.security.blind_index_keys import BlindIndexKeyRing

    ring = BlindIndexKeyRing({"h2": b"n" * 32, "h1": b"k" * 32}, "h2")
    return PiiCipher(KeyRing.development(), ring)
