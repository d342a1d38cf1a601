"""A worker process for tests/batch/test_reminders.py: runs the ``reminders.run`` job with a sink that
appends each message id it is handed to a file and SIGKILLs its own process in the middle of the
``kill_after``-th send (after the provider has it, before lendcore records the answer).

    python -m tests.batch.remind_until_killed DATABASE_URL SENDS_FILE KILL_AFTER
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from lendcore.batch.jobs import default_registry
from lendcore.jobs.worker import Worker
from lendcore.notify.sinks import DeliveryReport, OutboundMessage, SendResult
from lendcore.store.engine import create_engine, create_session_factory


@dataclass
class FileSink:
    """A provider whose only memory is a file: one line per message handed to it."""

    path: Path
    kill_after: int | None = None
    name: str = "file"

    def sent(self) -> list[str]:
        return self.path.read_text().split() if self.path.exists() else []

    def send(self, message: OutboundMessage) -> SendResult:
        with self.path.open("a") as out:
            out.write(message.message_id + "\n")
            out.flush()
            os.fsync(out.fileno())
        if self.kill_after is not None and len(self.sent()) >= self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        return SendResult(message.message_id, f"file_{message.message_id}", "delivered")

    def status(self, message_id: str) -> DeliveryReport:
        return DeliveryReport(message_id, "delivered" if message_id in self.sent() else "sent")

    def receipts(self) -> list[DeliveryReport]:
        return []


def main(url: str, sends: str, kill_after: str) -> None:
    factory = create_session_factory(create_engine(url))
    sink = FileSink(Path(sends), int(kill_after))
    Worker(factory, default_registry(sink=sink), worker_id="doomed").run_until_idle()


if __name__ == "__main__":
    main(*sys.argv[1:4])
