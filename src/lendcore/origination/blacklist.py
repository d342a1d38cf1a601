"""Blacklists by keyed hash: an ID number, phone, card or device is stored only as its blind index."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from lendcore.core.errors import ConflictError
from lendcore.origination.blind_index import ensure_key_ring
from lendcore.risk.rules import BlacklistKind
from lendcore.security.pii import PiiCipher
from lendcore.store.audit import record_audit
from lendcore.store.models_origination import BlacklistEntry


def add_to_blacklist(
    session: Session,
    kind: BlacklistKind,
    value: str,
    *,
    cipher: PiiCipher,
    added_by: str,
    reason: str | None = None,
) -> BlacklistEntry:
    """Blacklist a value (hashed with the kind's field name, under the active key);
    ``ALREADY_BLACKLISTED`` if it is present under any key of the ring."""
    ensure_key_ring(session, cipher)
    value_hashes = cipher.blind_indexes(kind.value, value)
    if session.scalar(
        select(BlacklistEntry.id).where(
            BlacklistEntry.kind == kind.value, BlacklistEntry.value_hash.in_(value_hashes)
        )
    ):
        raise ConflictError("already on the blacklist", code="ALREADY_BLACKLISTED")
    entry = BlacklistEntry(
        kind=kind.value,
        value_hash=value_hashes[0],
        hash_key_id=cipher.hash_key_id,
        reason=reason,
        added_by=added_by,
    )
    session.add(entry)
    session.flush()
    record_audit(
        session,
        actor=added_by,
        action="blacklist.added",
        target_type="blacklist_entry",
        target_id=str(entry.id),
        details={"kind": kind.value},
        reason=reason,
    )
    return entry


def blacklist_hits(session: Session, hashes: Iterable[tuple[BlacklistKind, str]]) -> frozenset[BlacklistKind]:
    """Which kinds among ``(kind, hash)`` pairs are blacklisted."""
    pairs = [(k.value, h) for k, h in hashes if h]
    if not pairs:
        return frozenset()
    rows = session.execute(
        select(BlacklistEntry.kind).where(tuple_(BlacklistEntry.kind, BlacklistEntry.value_hash).in_(pairs))
    ).scalars()
    return frozenset(BlacklistKind(k) for k in rows)
