"""Blind indexes in the database: key ids, lookups under every key, the start-up check, re-indexing.

Every stored hash (customers' ID and phone, bank cards, applications' copies and device hash,
blacklist entries) carries the id of the blind-index key it was made with (``hash_key_id``,
``device_hash_key_id``), and ``blind_index_keys`` lists every key id stored hashes may use with the
fingerprint of its key. That makes a key rotation safe:

* **Lookups use every key.** A value is looked up by its hash under every key of the ring
  (:meth:`PiiCipher.blind_indexes`), so a person registered under the old key is still a duplicate
  after the new key becomes active (:func:`check_new_person`), and an old blacklist entry still hits.
* **A ring that does not fit the database is refused** (:func:`check_key_ring`): a stored key id the
  ring lacks is ``PII_HMAC_KEY_MISSING``; a key id whose key is not the one the database knows (its
  fingerprint differs, e.g. a new value of the single ``LENDCORE_PII_HMAC_KEY``) is
  ``PII_HMAC_KEY_CHANGED``. Either would otherwise silently break uniqueness. Writers call
  :func:`ensure_key_ring`, which also registers the active key before the first hash made with it.
* **Re-indexing** (:func:`reindex`, ``lendcore pii reindex``) moves every hash whose value is stored
  (encrypted) to the active key, in batches of one transaction each, so it can be stopped and resumed
  and running it again changes nothing. Values never stored (device ids, blacklisted values that belong
  to no customer) cannot be re-hashed: those rows keep their key, which must stay in the ring; key ids
  no row uses any more are removed from ``blind_index_keys`` and may then leave the ring.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import ConfigurationError, ConflictError
from lendcore.core.identity import ValidatedOnboarding
from lendcore.risk.rules import BlacklistKind
from lendcore.security.pii import PiiCipher
from lendcore.store.engine import unit_of_work
from lendcore.store.models import BankCard, Customer
from lendcore.store.models_origination import BlacklistEntry, BlindIndexKey, CreditApplication

F_NAME, F_ID, F_PHONE, F_CARD, F_DEVICE = "name", "id_number", "phone", "card_number", "device"

#: Every (model, key id column) that records the key of stored hashes.
_KEY_COLUMNS: tuple[Any, ...] = (
    Customer.hash_key_id,
    BankCard.hash_key_id,
    CreditApplication.hash_key_id,
    CreditApplication.device_hash_key_id,
    BlacklistEntry.hash_key_id,
)


# --- the start-up check ---------------------------------------------------------------------------


def check_key_ring(session: Session, cipher: PiiCipher) -> None:
    """Refuse a blind-index key ring that does not fit the stored hashes (read-only).

    ``PII_HMAC_KEY_MISSING``: hashes are stored under a key id the ring lacks. ``PII_HMAC_KEY_CHANGED``:
    the ring's key for a stored key id is not the key those hashes were made with."""
    _check(session, cipher, record=False)


def ensure_key_ring(session: Session, cipher: PiiCipher) -> None:
    """:func:`check_key_ring`, then register the active key (and a verified fingerprint of ``h1`` on a
    database from before key ids): call it in the unit of work that is about to store hashes."""
    _check(session, cipher, record=True)
    ring = cipher.hash_keys
    if session.get(BlindIndexKey, ring.active_id) is None:
        session.add(BlindIndexKey(key_id=ring.active_id, fingerprint=ring.fingerprint(ring.active_id)))
        session.flush()


def _check(session: Session, cipher: PiiCipher, *, record: bool) -> None:
    ring = cipher.hash_keys
    for row in session.scalars(select(BlindIndexKey).order_by(BlindIndexKey.key_id)):
        if row.key_id not in ring.keys:
            raise ConfigurationError(
                f"stored blind indexes use key {row.key_id!r}, which the configured key ring "
                f"({', '.join(ring.keys)}) does not contain: add it to LENDCORE_PII_HMAC_KEYS "
                "(after the active key) and keep it until `lendcore pii reindex` has moved its hashes",
                code="PII_HMAC_KEY_MISSING",
                key_id=row.key_id,
            )
        expected = ring.fingerprint(row.key_id)
        if row.fingerprint is None:  # h1 on a database from before key ids: verify on a stored hash
            _verify_by_sample(session, cipher, row.key_id)
            if record:
                row.fingerprint = expected
        elif row.fingerprint != expected:
            raise _changed(row.key_id)


def _changed(key_id: str) -> ConfigurationError:
    return ConfigurationError(
        f"the configured blind-index key {key_id!r} is not the key stored hashes were made with: keep "
        f"the old key as {key_id!r} and give the new one a new id (LENDCORE_PII_HMAC_KEYS=h2:NEW,"
        f"{key_id}:OLD), then run `lendcore pii reindex`",
        code="PII_HMAC_KEY_CHANGED",
        key_id=key_id,
    )


def _verify_by_sample(session: Session, cipher: PiiCipher, key_id: str) -> None:
    """Recompute one stored customer (or card) hash under ``key_id``; a mismatch is a changed key."""
    customer = session.scalars(
        select(Customer)
        .where(
            Customer.hash_key_id == key_id,
            Customer.id_number_hash.is_not(None),
            Customer.id_number_ciphertext.is_not(None),
        )
        .limit(1)
    ).first()
    if customer is not None:
        assert customer.id_number_ciphertext is not None
        value = cipher.decrypt(F_ID, customer.id_number_ciphertext)
        if cipher.blind_index(F_ID, value, key_id) != customer.id_number_hash:
            raise _changed(key_id)
        return
    card = session.scalars(select(BankCard).where(BankCard.hash_key_id == key_id).limit(1)).first()
    if card is not None:
        value = cipher.decrypt(F_CARD, card.card_number_ciphertext)
        if cipher.blind_index(F_CARD, value, key_id) != card.card_number_hash:
            raise _changed(key_id)


# --- lookups under every key ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewPersonHashes:
    """The active-key hashes of a person who is not registered yet (see :func:`check_new_person`)."""

    key_id: str
    id_number: str
    phone: str
    cards: tuple[tuple[str, Any], ...]  # (card hash, the validated card), duplicates dropped


def check_new_person(session: Session, cipher: PiiCipher, valid: ValidatedOnboarding) -> NewPersonHashes:
    """Refuse a person whose ID number, phone or a card is registered under any key of the ring
    (``DUPLICATE_ID_NUMBER``, ``DUPLICATE_PHONE``, ``DUPLICATE_CARD``); return the hashes to store."""
    ensure_key_ring(session, cipher)
    ids = cipher.blind_indexes(F_ID, valid.resident_id.number)
    if session.scalar(select(Customer.id).where(Customer.id_number_hash.in_(ids)).limit(1)) is not None:
        raise ConflictError(
            "a customer with this ID number is already registered", code="DUPLICATE_ID_NUMBER"
        )
    phones = cipher.blind_indexes(F_PHONE, valid.phone)
    if session.scalar(select(Customer.id).where(Customer.phone_hash.in_(phones)).limit(1)) is not None:
        raise ConflictError("this phone number is already registered", code="DUPLICATE_PHONE")
    cards: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for card in valid.cards:
        hashes = cipher.blind_indexes(F_CARD, card.number)
        if hashes[0] in seen:
            continue
        seen.add(hashes[0])
        taken = session.scalar(select(BankCard.id).where(BankCard.card_number_hash.in_(hashes)).limit(1))
        if taken is not None:
            raise ConflictError("this bank card is bound to another customer", code="DUPLICATE_CARD")
        cards.append((hashes[0], card))
    return NewPersonHashes(cipher.hash_key_id, ids[0], phones[0], tuple(cards))


def identity_hashes(
    session: Session, cipher: PiiCipher, customer: Customer, device_hashes: Sequence[str] = ()
) -> list[tuple[BlacklistKind, str]]:
    """The customer's ID number, phone and active cards (and the device) as ``(kind, hash)`` under
    every key of the ring: what a blacklist check matches, whichever key an entry was made with."""
    pairs: list[tuple[BlacklistKind, str]] = []
    if customer.id_number_ciphertext is not None:
        value = cipher.decrypt(F_ID, customer.id_number_ciphertext)
        pairs.extend((BlacklistKind.ID_NUMBER, h) for h in cipher.blind_indexes(F_ID, value))
    if customer.phone_ciphertext is not None:
        value = cipher.decrypt(F_PHONE, customer.phone_ciphertext)
        pairs.extend((BlacklistKind.PHONE, h) for h in cipher.blind_indexes(F_PHONE, value))
    blobs = session.scalars(
        select(BankCard.card_number_ciphertext).where(
            BankCard.customer_id == customer.id, BankCard.status == "active"
        )
    ).all()
    for blob in blobs:
        value = cipher.decrypt(F_CARD, blob)
        pairs.extend((BlacklistKind.CARD, h) for h in cipher.blind_indexes(F_CARD, value))
    pairs.extend((BlacklistKind.DEVICE, h) for h in device_hashes)
    return pairs


# --- re-indexing ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReindexReport:
    """What one :func:`reindex` run moved to ``key_id``, what had to keep its key, and which key ids
    stored hashes still use (those must stay in the ring)."""

    key_id: str
    customers: int = 0
    cards: int = 0
    applications: int = 0
    blacklist_entries: int = 0
    kept: dict[str, int] = field(default_factory=dict)
    retired_key_ids: tuple[str, ...] = ()
    key_ids_in_use: tuple[str, ...] = ()

    @property
    def moved(self) -> int:
        return self.customers + self.cards + self.applications + self.blacklist_entries


def reindex(factory: sessionmaker[Session], cipher: PiiCipher, *, batch_size: int = 500) -> ReindexReport:
    """Move every stored hash whose value is known to the active key (see the module docstring)."""
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    with unit_of_work(factory) as session:
        ensure_key_ring(session, cipher)
    active = cipher.hash_key_id
    customers = _each_batch(
        factory,
        Customer,
        _stale(Customer, active),
        batch_size,
        lambda s, rows: _move_customers(s, cipher, rows),
    )
    cards = _each_batch(
        factory, BankCard, _stale(BankCard, active), batch_size, lambda s, rows: _move_cards(s, cipher, rows)
    )
    applications, kept_apps = _move_applications(factory, cipher, batch_size)
    entries, kept_entries = _move_blacklist(factory, cipher, batch_size)
    with unit_of_work(factory) as session:
        retired, in_use = _retire_unused_keys(session, cipher)
        kept_devices = _count(session, CreditApplication.device_hash_key_id, cipher.hash_key_id)
    kept = {
        name: n
        for name, n in (
            ("application hashes", kept_apps),
            ("application device hashes", kept_devices),
            ("blacklist entries", kept_entries),
        )
        if n
    }
    return ReindexReport(cipher.hash_key_id, customers, cards, applications, entries, kept, retired, in_use)


def _stale(model: Any, active: str) -> Any:
    return model.hash_key_id.is_not(None) & (model.hash_key_id != active)


def _each_batch(
    factory: sessionmaker[Session],
    model: Any,
    where: Any,
    batch_size: int,
    work: Callable[[Session, list[Any]], int],
) -> int:
    """Run ``work`` on keyset-paginated batches of ``model`` rows matching ``where``, one transaction
    (committed) per batch, so a stopped run keeps what it did; returns the sum of ``work``'s counts."""
    last = ""
    total = 0
    while True:
        with unit_of_work(factory) as session:
            query = select(model).where(where, model.id > last).order_by(model.id).limit(batch_size)
            rows = list(session.scalars(query.with_for_update()))
            if not rows:
                return total
            total += work(session, rows)
            session.flush()
            last = rows[-1].id


def _move_customers(session: Session, cipher: PiiCipher, rows: Sequence[Customer]) -> int:
    for c in rows:
        if c.id_number_hash is not None and c.id_number_ciphertext is not None:
            new = cipher.blind_index(F_ID, cipher.decrypt(F_ID, c.id_number_ciphertext))
            _refuse_twin(session, Customer.id_number_hash, new, c.id)
            c.id_number_hash = new
        if c.phone_hash is not None and c.phone_ciphertext is not None:
            new = cipher.blind_index(F_PHONE, cipher.decrypt(F_PHONE, c.phone_ciphertext))
            _refuse_twin(session, Customer.phone_hash, new, c.id)
            c.phone_hash = new
        c.hash_key_id = cipher.hash_key_id
    session.flush()
    return len(rows)


def _refuse_twin(session: Session, column: Any, value: str, own_id: str) -> None:
    other = session.scalar(select(Customer.id).where(column == value, Customer.id != own_id).limit(1))
    if other is not None:
        raise ConflictError(
            f"customers {other} and {own_id} are the same person, registered under different "
            "blind-index keys; resolve the duplicate, then run the reindex again",
            code="PII_REINDEX_DUPLICATE",
            customer_ids=[other, own_id],
        )


def _move_cards(session: Session, cipher: PiiCipher, rows: Sequence[BankCard]) -> int:
    for card in rows:
        card.card_number_hash = cipher.blind_index(
            F_CARD, cipher.decrypt(F_CARD, card.card_number_ciphertext)
        )
        card.hash_key_id = cipher.hash_key_id
    session.flush()
    return len(rows)


def _move_applications(factory: sessionmaker[Session], cipher: PiiCipher, batch_size: int) -> tuple[int, int]:
    """An application's ID and phone hashes are its customer's: re-hash them from the customer's
    values when they match those values under the application's key; otherwise keep them."""
    counts = {"moved": 0, "kept": 0}

    def work(session: Session, rows: list[CreditApplication]) -> int:
        for app in rows:
            customer = session.get(Customer, app.customer_id)
            old = _customer_hashes(cipher, customer, app.hash_key_id)
            if (app.id_number_hash, app.phone_hash) == old:
                app.id_number_hash, app.phone_hash = _customer_hashes(cipher, customer)
                app.hash_key_id = cipher.hash_key_id
                counts["moved"] += 1
            else:
                counts["kept"] += 1
        return len(rows)

    _each_batch(factory, CreditApplication, _stale(CreditApplication, cipher.hash_key_id), batch_size, work)
    return counts["moved"], counts["kept"]


def _customer_hashes(
    cipher: PiiCipher, customer: Customer | None, key_id: str | None = None
) -> tuple[str | None, str | None]:
    if customer is None:
        return None, None
    id_hash = phone_hash = None
    if customer.id_number_ciphertext is not None:
        id_hash = cipher.blind_index(F_ID, cipher.decrypt(F_ID, customer.id_number_ciphertext), key_id)
    if customer.phone_ciphertext is not None:
        phone_hash = cipher.blind_index(F_PHONE, cipher.decrypt(F_PHONE, customer.phone_ciphertext), key_id)
    return id_hash, phone_hash


def _move_blacklist(factory: sessionmaker[Session], cipher: PiiCipher, batch_size: int) -> tuple[int, int]:
    """Blacklist entries keep only a hash: an entry under an old key is re-hashed when a stored
    customer's ID or phone, or a stored card, has that hash; the rest keep their key."""
    active = cipher.hash_key_id
    with unit_of_work(factory, read_only=True) as session:
        pending = {
            (e.kind, e.hash_key_id, e.value_hash): e.id
            for e in session.scalars(
                select(BlacklistEntry).where(_stale(BlacklistEntry, active), BlacklistEntry.kind != F_DEVICE)
            )
        }
    with unit_of_work(factory, read_only=True) as session:
        kept_devices = _count(session, BlacklistEntry.hash_key_id, active, BlacklistEntry.kind == F_DEVICE)
    if not pending:
        return 0, kept_devices
    old_keys = sorted({kid for _, kid, _ in pending if kid is not None})

    def people(session: Session, rows: list[Customer]) -> int:
        values = [(F_ID, r.id_number_ciphertext) for r in rows] + [
            (F_PHONE, r.phone_ciphertext) for r in rows
        ]
        return _rekey_entries(session, cipher, pending, old_keys, values)

    def cards(session: Session, rows: list[BankCard]) -> int:
        return _rekey_entries(
            session, cipher, pending, old_keys, [(F_CARD, c.card_number_ciphertext) for c in rows]
        )

    moved = _each_batch(factory, Customer, Customer.hash_key_id.is_not(None), batch_size, people)
    moved += _each_batch(factory, BankCard, BankCard.hash_key_id.is_not(None), batch_size, cards)
    return moved, len(pending) + kept_devices


def _rekey_entries(
    session: Session,
    cipher: PiiCipher,
    pending: dict[tuple[str, str | None, str], int],
    old_keys: Sequence[str],
    values: Sequence[tuple[str, bytes | None]],
) -> int:
    moved = 0
    for kind, blob in values:
        if blob is None or not pending:
            continue
        value = cipher.decrypt(kind, blob)
        for kid in old_keys:
            entry_id = pending.pop((kind, kid, cipher.blind_index(kind, value, kid)), None)
            if entry_id is None:
                continue
            entry = session.get(BlacklistEntry, entry_id)
            assert entry is not None
            new = cipher.blind_index(kind, value)
            twin = session.scalar(
                select(BlacklistEntry.id).where(BlacklistEntry.kind == kind, BlacklistEntry.value_hash == new)
            )
            if twin is not None:  # blacklisted again under the active key: the old entry is redundant
                session.delete(entry)
            else:
                entry.value_hash, entry.hash_key_id = new, cipher.hash_key_id
            moved += 1
    session.flush()
    return moved


def _count(session: Session, column: Any, active: str, *where: Any) -> int:
    """Rows whose ``column`` names a key other than ``active``."""
    return int(session.scalar(select(func.count(column)).where(column != active, *where)) or 0)


def _retire_unused_keys(session: Session, cipher: PiiCipher) -> tuple[tuple[str, ...], tuple[str, ...]]:
    retired: list[str] = []
    in_use: list[str] = []
    for row in session.scalars(select(BlindIndexKey).order_by(BlindIndexKey.key_id)):
        if row.key_id != cipher.hash_key_id and not any(
            session.scalar(select(exists().where(column == row.key_id))) for column in _KEY_COLUMNS
        ):
            session.delete(row)
            retired.append(row.key_id)
        else:
            in_use.append(row.key_id)
    session.flush()
    return tuple(retired), tuple(in_use)
