"""Running the simulator and a callback receiver as real HTTP services on loopback, for tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from lendcore.payments.callback_app import callback_app

ROOT = Path(__file__).resolve().parents[3]
READY_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``GET /health`` until it answers 200 (bounded)."""
    deadline = time.monotonic() + READY_SECONDS
    while True:
        if process is not None and process.poll() is not None:
            raise AssertionError(
                f"the simulator exited: {process.stderr.read().decode() if process.stderr else ''}"
            )
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} never became healthy")
        time.sleep(0.05)


@contextmanager
def simulator_process(*args: str) -> Iterator[str]:
    """``lendcore channel-sim`` on a free loopback port, killed at the end; its base URL."""
    port = free_port()
    command = [sys.executable, "-c", "from lendcore.cli.main import main; main()", "channel-sim"]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), *args],
        cwd=ROOT,
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


@contextmanager
def callback_receiver(factory: sessionmaker[Session], secrets: Sequence[str]) -> Iterator[str]:
    """lendcore's callback endpoint (:func:`callback_app`) served by uvicorn in a thread; its URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(callback_app(factory, secrets), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + READY_SECONDS
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("the callback receiver did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/callbacks"
    finally:
        server.should_exit = True
        thread.join(timeout=READY_SECONDS)
