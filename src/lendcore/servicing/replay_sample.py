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
more often than those created in a burst. A probe landing on a contract already picked takes the next
one not picked, so the sample holds ``size`` distinct contracts (the whole book when it is no larger).
The same ``seed`` picks the same contracts on the same book (a mismatch can be re-checked).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from lendcore.core.contract import Status
from lendcore.core.errors import ValidationError
from lendcore.core.loan import replay
from lendcore.core.records import JsonRecord
from lendcore.core.replay_sampling import MAX_SAMPLE
from lendcore.servicing.codecs import contract_state, contract_terms
from lendcore.servicing.repository import stored_transactions
from lendcore.store.models import Contract

_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


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


def _first(
    session: Session, eligible: ColumnElement[bool], where: ColumnElement[bool], *, up: bool
) -> str | None:
    order = Contract.id if up else Contract.id.desc()
    return session.scalar(select(Contract.id).where(eligible, where).order_by(order).limit(1))


def _unpicked_after(
    session: Session, eligible: ColumnElement[bool], start: str, picked: dict[str, None]
) -> str:
    """The first eligible id after ``start`` (wrapping round) not picked yet: a probe that lands on a
    picked contract moves on to its neighbours, so the sample has exactly ``size`` distinct contracts.
    Read in batches that double, so a long run of picked ids costs a few queries, not one each; there
    is one, as the caller saw more eligible contracts than it picks."""
    cursor, batch = start, 8
    while True:
        ids = session.scalars(
            select(Contract.id).where(eligible, Contract.id > cursor).order_by(Contract.id).limit(batch)
        ).all()
        for found in ids:
            if found not in picked:
                return found
        cursor, batch = (ids[-1] if len(ids) == batch else ""), batch * 2


def _sample_ids(session: Session, size: int, rng: random.Random, eligible: ColumnElement[bool]) -> list[str]:
    everyone = session.scalars(
        select(Contract.id).where(eligible).order_by(Contract.id).limit(size + 1)
    ).all()
    if len(everyone) <= size:  # a book no larger than the sample: all of it (one query, no probes)
        return list(everyone)
    low, high = everyone[0], _first(session, eligible, true(), up=False) or everyone[-1]
    prefix, low_body = low.split("_", 1)
    a, b = _value(low_body), _value(high.split("_", 1)[1])
    picked: dict[str, None] = {}
    for k in range(size):
        probe = f"{prefix}_{_body(rng.randint(a, b), len(low_body))}"
        # alternately the first contract at or after the probe and the last at or before it: either
        # way alone would never pick the smallest (or the largest) id
        up = k % 2 == 0
        found = _first(session, eligible, Contract.id >= probe if up else Contract.id <= probe, up=up)
        found = found or (high if up else low)
        picked[_unpicked_after(session, eligible, found, picked) if found in picked else found] = None
    return list(picked)


def check_replay_sample(
    session: Session, *, size: int = 100, seed: int = 0, active_only: bool = False
) -> ReplaySample:
    """Replay ``size`` distinct contracts (every one if the book has no more; with ``active_only``
    active ones only, as the close does) picked at random (``seed``) from their stored transactions
    and compare each with its stored snapshot. Read-only; each contract leaves the session once
    checked."""
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_SAMPLE:
        raise ValidationError(f"a replay sample is 1-{MAX_SAMPLE} contracts", code="INVALID_SAMPLE_SIZE")
    checked: list[str] = []
    mismatches: list[str] = []
    eligible = Contract.status == Status.ACTIVE.value if active_only else true()
    for contract_id in _sample_ids(session, size, random.Random(seed), eligible):
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
