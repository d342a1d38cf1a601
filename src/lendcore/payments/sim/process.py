"""The channel simulator as a child process: ``lendcore channel-sim`` on a free loopback port, handed
out once ``GET /health`` answers, killed when the block ends.

For the tests and benchmarks that talk to the simulator over real HTTP. The simulator is started with
the running interpreter (so it imports the same lendcore) and its stderr is kept, to say why when it
exits before it is healthy.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

#: How long the simulator may take to answer ``GET /health`` (a cold interpreter on a busy machine),
#: and to exit once killed.
READY_SECONDS = 60.0


class SimulatorNotHealthyError(RuntimeError):
    """The simulator exited, or did not answer ``GET /health`` within :data:`READY_SECONDS`."""


def free_port() -> int:
    """A loopback port free at the time of asking."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``GET {url}/health`` until it answers 200; raise :class:`SimulatorNotHealthyError` if
    ``process`` exits first (with its stderr) or :data:`READY_SECONDS` pass."""
    deadline = time.monotonic() + READY_SECONDS
    while True:
        if process is not None and process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise SimulatorNotHealthyError(f"the channel simulator exited: {err}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SimulatorNotHealthyError(f"the channel simulator at {url} never became healthy")
        time.sleep(0.05)


@contextmanager
def channel_sim_process(*args: str, cwd: Path | None = None) -> Iterator[str]:
    """``lendcore channel-sim ARGS`` on a free loopback port until the block ends; its base URL."""
    port = free_port()
    command = [sys.executable, "-c", "from lendcore.cli.main import main; main()", "channel-sim"]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url
    finally:
        process.kill()
        process.wait(timeout=READY_SECONDS)
        if process.stderr is not None:
            process.stderr.close()
