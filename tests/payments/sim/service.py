"""Running the simulator and a callback receiver as real HTTP services on loopback, for tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from lendcore.payments.callback_app import callback_app
from lendcore.payments.sim.process import READY_SECONDS, channel_sim_process, free_port

ROOT = Path(__file__).resolve().parents[3]


@contextmanager
def simulator_process(*args: str) -> Iterator[str]:
    """``lendcore channel-sim`` on a free loopback port, killed at the end; its base URL."""
    with channel_sim_process(*args, cwd=ROOT) as url:
        yield url


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
