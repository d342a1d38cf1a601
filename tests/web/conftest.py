"""The pages on a real uvicorn server (loopback, fresh SQLite database) in a real headless Chromium.

``site`` is the server (:class:`Site`: base URL, the database, the application's clock, a customer
factory, the one-time code the development sink wrote); ``browser`` is Debian's ``/usr/bin/chromium``
driven by Playwright; ``console_errors`` collects every console error and page error of the pages
opened with ``new_page`` (the tests assert it stays empty).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from lendcore.api.database import Database
from lendcore.api.settings import ApiSettings
from lendcore.auth.otp import outbox_messages
from lendcore.auth.principal import StaffRole
from lendcore.auth.staff import create_staff_user
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.web.app import create_app
from tests.api.conftest import FakeClock, serve
from tests.origination.helpers import CIPHER, make_phone, register

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]

playwright_api = pytest.importorskip("playwright.sync_api")
if shutil.which(CHROMIUM) is None:  # pragma: no cover - .ci/run installs it
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)", allow_module_level=True)


@dataclass
class Site:
    base_url: str
    factory: sessionmaker[Session]
    clock: FakeClock
    console_errors: list[str] = field(default_factory=list)

    def customer(self) -> tuple[str, str]:
        phone = make_phone()
        with unit_of_work(self.factory) as session:
            return register(session, phone=phone).id, phone

    def staff(self, username: str, *roles: StaffRole) -> str:
        """A member of staff with ``roles``; returns the password."""
        password = f"pw-{username}-correct horse"
        with unit_of_work(self.factory) as session:
            create_staff_user(session, username=username, password=password, roles=roles, actor="test")
        return password

    def last_code(self, phone: str) -> str:
        with unit_of_work(self.factory, read_only=True) as session:
            messages = outbox_messages(session, CIPHER, phone)
        found = re.findall(r"\b(\d{6})\b", messages[-1])
        assert found, messages[-1]
        return str(found[0])


@pytest.fixture
def site(sqlite_database_url: str) -> Iterator[Site]:
    engine = create_engine(sqlite_database_url)
    factory = create_session_factory(engine)
    clock = FakeClock()
    app = create_app(Database(factory), settings=ApiSettings(), cipher=CIPHER, clock=clock)
    with serve(app) as base_url:
        yield Site(base_url, factory, clock)
    engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any, site: Site) -> Iterator[Any]:
    """A function opening a fresh page (its own cookies) of a phone-sized browser, in ``lang``."""
    contexts: list[Any] = []

    def make(lang: str = "zh") -> Any:
        context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=site.base_url)
        context.add_cookies([{"name": "lang", "value": lang, "url": site.base_url}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on(
            "console", lambda m: m.type == "error" and site.console_errors.append(f"{page.url}: {m.text}")
        )
        page.on("pageerror", lambda e: site.console_errors.append(f"{page.url}: {e}"))
        return page

    yield make
    for context in contexts:
        context.close()
