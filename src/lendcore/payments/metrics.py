"""A hook for payment metrics: operations plug a counter in (Prometheus, StatsD, a log line).

``emit("payments.escalated", kind="sla_breached")`` calls every registered hook; with none it does
nothing. A failing hook is logged and never breaks the payment flow that emitted it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

log = logging.getLogger("lendcore.payments")

MetricHook = Callable[[str, dict[str, str]], None]
_hooks: list[MetricHook] = []


def add_hook(hook: MetricHook) -> None:
    _hooks.append(hook)


def remove_hook(hook: MetricHook) -> None:
    _hooks.remove(hook)


def emit(name: str, **labels: str) -> None:
    for hook in list(_hooks):
        try:
            hook(name, labels)
        except Exception:  # a metric must never fail a payment
            log.exception("metric hook failed for %s", name)


class CountingHook:
    """A hook that counts ``(name, sorted labels)``: for tests and the CLI."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()

    def __call__(self, name: str, labels: dict[str, str]) -> None:
        self.counts[(name, tuple(sorted(labels.items())))] += 1

    def total(self, name: str) -> int:
        return sum(n for (metric, _labels), n in self.counts.items() if metric == name)
