"""The HTTP benchmark runs, for a second per step, so it cannot rot: ``lendcore serve`` as a real
process, every endpoint of its table driven through the lean keep-alive client (benchmarks/
http_wire.py) at 1, 8 and 32 clients, and pgbench beside it. What is asserted is that every request
answered 2xx (a client that misread a response would show errors or no requests at all); no timing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
ROW = re.compile(
    r"^(?P<name>.+?)\s+(?P<clients>1|8|32)\s+(?P<rate>[0-9.]+)\s+[0-9.]+\s+[0-9.]+\s+(?P<errors>\d+)\s"
)


def test_the_http_benchmark_answers_every_request_of_every_endpoint(postgres_database_url: str) -> None:
    url = make_url(postgres_database_url)
    server = f"postgresql://{url.username}@{url.host}:{url.port}"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_http.py"), "1", "3", "--workers", "2"],
        cwd=BENCHMARKS.parent,
        env=os.environ | {"LENDCORE_BENCH_PG": server},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [m.groupdict() for line in done.stdout.splitlines() if (m := ROW.match(line))]
    assert len(rows) == 6 * 3, done.stdout
    assert [r for r in rows if r["errors"] != "0" or float(r["rate"]) <= 0] == [], done.stdout
    assert "load client: wire" in done.stdout and "8 clients:" in done.stdout
