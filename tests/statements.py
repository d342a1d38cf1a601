"""What SQL a block of code sends: the tests' one statement counter.

``with sent_statements(engine) as seen: …`` collects every statement ``engine`` executes inside the
block, whitespace folded to single spaces, transaction control (``BEGIN``, ``COMMIT``) left out: the
statements a use case itself issues. Filter the list to watch for one kind of read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event

_TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT"})


@contextmanager
def sent_statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        folded = " ".join(statement.split())
        if folded.split(" ", 1)[0].upper() not in _TRANSACTION_CONTROL:
            seen.append(folded)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
