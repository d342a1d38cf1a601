"""Bounded ``IN`` lists: a statement's parameters stay far under every database's limit.

PostgreSQL's wire protocol carries at most 65,535 parameters per statement (psycopg refuses more:
"number of parameters must be between 0 and 65535"), and SQLite's limit is a build option (32,766 by
default). A list that grows with the book (a day's statement rows, its fault windows, the contracts
due) is therefore read :data:`MAX_IN_LIST` values at a time, never in one ``IN``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final, TypeVar

#: Values per ``IN`` list.
MAX_IN_LIST: Final = 1_000

_T = TypeVar("_T")


def slices(values: Sequence[_T], size: int = MAX_IN_LIST) -> Iterator[Sequence[_T]]:
    """``values`` in consecutive slices of at most ``size`` (none for an empty sequence)."""
    if size < 1:
        raise ValueError(f"a slice holds at least one value, not {size}")
    for start in range(0, len(values), size):
        yield values[start : start + size]
