"""Replay stays the oracle of the snapshot (issue 12): a sampling check the daily close can call.

A repayment books on the contract's stored snapshot (``contracts.state``), never replaying its history.
Invariant 5 says replaying a contract's stored transactions from nothing gives exactly that snapshot.
The full check (:func:`lendcore.servicing.invariants.check_invariants` with ``replay_contracts``) replays
every contract; :func:`check_replay_sample` replays a few, picked at random, in time and memory
bounded by the sample, whatever the size of the book.

Picking: ids are ULID-like (creation time, then random bits), so a random probe between the smallest
and the largest contract id followed by ``WHERE id >= probe ORDER BY id LIMIT 1`` (or, every other
probe, ``<=`` and descending; one index seek each) lands on a contract with a chance proportional to
the time between its creation and its neighbour's: every contract can be picked, those created alone
more often than those created in a burst. The same ``seed`` picks the same contracts
on the same book (a mismatch can be re-checked).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendcore.core.errors import ValidationError
from lendcore.core.loan import replay
from lendcore.core.records import JsonRecord
from lendcore.servicing.codecs import contract_state, contract_terms
from lendcore.servicing.repository import stored_transactions
from lendcore.store.models import Contract

_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: More probes than that are pointless (each is one index seek and one replay).
MAX_SAMPLE: Final = 10_000


@dataclass(frozen=True, slots=True)
class ReplaySample(JsonRecord):
    """Which contracts were replayed and which of them do not match their stored snapshot."""

    checked: tuple[str, ...]
    mismatches: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _value(body: str) -> int:
    n = 0
    for ch in body:
        n = n * 32 + _ALPHABET.index(ch)
    return n


def _body(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def _sample_ids(session: Session, size: int, rng: random.Random) -> list[str]:
    low, high = session.execute(select(func.min(Contract.id), func.max(Contract.id))).one()
    if low is None:
        return []
    prefix, low_body = low.split("_", 1)
    high_body = high.split("_", 1)[1]
    a, b = _value(low_body), _value(high_body)
    picked: dict[str, None] = {}
    for k in range(size):
        probe = f"{prefix}_{_body(rng.randint(a, b), len(low_body))}"
        # alternately the first contract at or after the probe and the last at or before it: either
        # way alone would never pick the smallest (or the largest) id
        up = k % 2 == 0
        where = Contract.id >= probe if up else Contract.id <= probe
        order = Contract.id if up else Contract.id.desc()
        found = session.scalar(select(Contract.id).where(where).order_by(order).limit(1))
        picked[found or (high if up else low)] = None
    return list(picked)


def check_replay_sample(session: Session, *, size: int = 100, seed: int = 0) -> ReplaySample:
    """Replay up to ``size`` contracts picked at random (``seed``) from their stored transactions and
    compare each with its stored snapshot. Read-only; each contract leaves the session once checked."""
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_SAMPLE:
        raise ValidationError(f"a replay sample is 1-{MAX_SAMPLE} contracts", code="INVALID_SAMPLE_SIZE")
    checked: list[str] = []
    mismatches: list[str] = []
    for contract_id in _sample_ids(session, size, random.Random(seed)):
        contract = session.get(Contract, contract_id)
        if contract is None:  # pragma: no cover - it was just read
            continue
        checked.append(contract_id)
        if replay(contract_terms(contract), stored_transactions(session, contract_id)) != contract_state(
            contract
        ):
            mismatches.append(contract_id)
        session.expunge(contract)
    return ReplaySample(tuple(checked), tuple(mismatches))
