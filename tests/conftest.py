"""Shared test configuration.

Hypothesis runs a bounded number of examples without per-example deadlines (CI shares two cores);
set HYPOTHESIS_PROFILE=thorough locally for a deeper search.

Database fixtures (``database_url``, ``engine``, ``session_factory`` on SQLite and PostgreSQL) come
from the ``tests.db_fixtures`` plugin; see its docstring.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ("tests.db_fixtures",)

settings.register_profile(
    "default", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _no_default_database(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test may reach the user's own database: unless a test sets one, the configured database
    is a file of this test run's (a command that forgets its ``--database`` fails here, not there)."""
    if "LENDCORE_DATABASE_URL" not in os.environ:
        path = tmp_path_factory.getbasetemp() / "default-database.db"
        monkeypatch.setenv("LENDCORE_DATABASE_URL", f"sqlite:///{path}")
