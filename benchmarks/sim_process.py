"""A plain-httpx reference load against the channel simulator, for the payment benchmarks (imported by
``bench_sweeper.py``, which runs with this directory on its path). The simulator itself runs as a real
process: :func:`lendcore.payments.sim.process.channel_sim_process`.
"""

from __future__ import annotations

import http.client
import json
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx


def submit_all(url: str, instructions: Sequence[dict[str, object]], threads: int = 4) -> float:
    """POST every instruction to the simulator (so it knows the payments), from ``threads`` keep-alive
    connections of the standard library's client (setup, not measured: lighter than httpx); the
    seconds it took."""
    parts = urlsplit(url)
    chunks = [instructions[i::threads] for i in range(threads)]

    def post(chunk: Sequence[dict[str, object]]) -> None:
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        try:
            for body in chunk:
                headers = {"Content-Type": "application/json"}
                connection.request("POST", "/v1/payments", body=json.dumps(body), headers=headers)
                response = connection.getresponse()
                text = response.read()
                if response.status != 202:
                    raise RuntimeError(f"the simulator refused {body}: {text!r}")
        finally:
            connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, chunks))
    return time.perf_counter() - started


@dataclass(frozen=True)
class Latencies:
    count: int
    seconds: float
    samples: list[float]  # seconds per call

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def quantile(self, q: int) -> float:
        """The q-th percentile in milliseconds."""
        if len(self.samples) < 2:
            return 1000 * (self.samples[0] if self.samples else 0.0)
        return 1000 * statistics.quantiles(self.samples, n=100, method="inclusive")[q - 1]


def query_all(url: str, payment_ids: Sequence[str]) -> Latencies:
    """The reference: the simulator alone answering one ``GET /v1/payments/{id}`` per id from a plain
    sequential httpx client (what the sweeper's channel calls cost without lendcore around them)."""
    samples = []
    with httpx.Client(base_url=url, timeout=30.0) as client:
        started = time.perf_counter()
        for payment_id in payment_ids:
            t = time.perf_counter()
            response = client.get(f"/v1/payments/{payment_id}")
            samples.append(time.perf_counter() - t)
            if response.status_code != 200:
                raise RuntimeError(f"the simulator does not know {payment_id}: {response.text}")
        seconds = time.perf_counter() - started
    return Latencies(len(payment_ids), seconds, samples)
