"""Prometheus metrics of lendcore (prometheus-client), in one registry that ``GET /metrics`` serves.

HTTP metrics are recorded by the API's middleware. The business hooks are here, outside the API, so
any module (a use case, the daily close) can count what it decides without importing the web layer::

    from lendcore import metrics
    metrics.record_decision("approved")       # lendcore_decisions_total{outcome="approved"}
    metrics.record_payment("succeeded")       # lendcore_payments_total{state="succeeded"}
    with metrics.time_close(): run_daily_close(...)   # lendcore_close_duration_seconds

Labels take only the closed sets given (an outcome, a payment state), never an id: every label value
is a time series. Each process counts for itself: with ``lendcore serve --workers N`` a scrape sees one
worker unless prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) is set up.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY: Final = CollectorRegistry(auto_describe=True)
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST

HTTP_REQUEST_DURATION: Final = Histogram(
    "lendcore_http_request_duration_seconds",
    "HTTP request latency by route template, method and status class",
    ("route", "method", "status"),
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DECISIONS: Final = Counter(
    "lendcore_decisions_total", "Credit decisions by outcome", ("outcome",), registry=REGISTRY
)
PAYMENTS: Final = Counter(
    "lendcore_payments_total", "Payments reaching a state, by state", ("state",), registry=REGISTRY
)
CLOSE_DURATION: Final = Histogram(
    "lendcore_close_duration_seconds",
    "Duration of the end-of-day close",
    registry=REGISTRY,
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)


def record_decision(outcome: str) -> None:
    DECISIONS.labels(outcome=outcome).inc()


def record_payment(state: str) -> None:
    PAYMENTS.labels(state=state).inc()


@contextmanager
def time_close() -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        CLOSE_DURATION.observe(time.perf_counter() - started)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def exposition() -> bytes:
    """The registry in Prometheus text format."""
    return generate_latest(REGISTRY)
