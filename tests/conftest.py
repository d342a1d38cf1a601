"""Shared test configuration.

Hypothesis runs a bounded number of examples without per-example deadlines (CI shares two cores);
set HYPOTHESIS_PROFILE=thorough locally for a deeper search.

Database fixtures (``database_url``, ``engine``, ``session_factory`` on SQLite and PostgreSQL) come
from the ``tests.db_fixtures`` plugin; see its docstring.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

pytest_plugins = ("tests.db_fixtures",)

settings.register_profile(
    "default", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
