"""The ``customer.notify`` and ``notifications.sweep`` handlers, and the sink the worker uses.

``customer.notify`` (written by settlement, autopay, scheduled repayments; payload ``customer_id``,
``template`` and the template's fields, optionally ``dedupe_key``) is not transactional, because it calls
the sink: it queues one message per channel the customer can be reached on, keyed
``<job dedupe key or job:<id>>:<channel>`` (a redelivered job finds its messages), commits, then sends
the ones still queued (:func:`~lendcore.notify.delivery.send_queued`: a message is sent at most once,
however often the job runs).

The sink: ``LENDCORE_NOTIFY_SINK`` = ``development`` (default: logged, masked, delivered at once) or
``simulator`` (seeded receipts in process, ``LENDCORE_NOTIFY_SEED``) or ``http`` (a provider at
``LENDCORE_NOTIFY_URL`` speaking :mod:`lendcore.notify.http`'s wire format: ``lendcore notify-sim``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import LendcoreError
from lendcore.notify.delivery import (
    AddressBook,
    CustomerAddresses,
    DeliveryPolicy,
    queue_message,
    send_queued,
)
from lendcore.notify.simulated import SimulatedProvider
from lendcore.notify.sinks import DevelopmentSink, NotificationSink
from lendcore.security.pii import PiiCipher
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Customer

NOTIFY_JOB: Final = "customer.notify"
SWEEP_JOB: Final = "notifications.sweep"
SINK_ENV: Final = "LENDCORE_NOTIFY_SINK"
SEED_ENV: Final = "LENDCORE_NOTIFY_SEED"
URL_ENV: Final = "LENDCORE_NOTIFY_URL"
NOTICE_CHANNELS: Final = ("push", "sms")


class NotifyPayloadError(ValueError):
    """A ``customer.notify`` job without a customer or a template (it can never succeed)."""


def sink_from_env(environ: Mapping[str, str] | None = None) -> NotificationSink:
    env = os.environ if environ is None else environ
    kind = env.get(SINK_ENV, "development").strip() or "development"
    if kind == "development":
        return DevelopmentSink()
    if kind == "simulator":
        return SimulatedProvider(seed=int(env.get(SEED_ENV, "0") or 0))
    if kind == "http":  # a provider speaking notify/http.py's wire format, e.g. lendcore notify-sim
        from lendcore.notify.http import HttpSink

        return HttpSink(env.get(URL_ENV, "http://127.0.0.1:8766"))
    raise ValueError(f"{SINK_ENV} is development, simulator or http, not {kind!r}")


def addresses_from_env() -> CustomerAddresses:
    """Push always; SMS with the PII cipher of ``LENDCORE_PII_KEYS`` (the phone is decrypted at send
    time). Without configured keys the development key ring is used, as everywhere else."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the CLI says it; a worker must not crash
            return CustomerAddresses(PiiCipher.from_env())
    except LendcoreError:  # a malformed key ring: no SMS, and the push messages still go out
        return CustomerAddresses()


def _due(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def queue_notice(
    session: Session,
    payload: Mapping[str, Any],
    key: str,
    *,
    now: datetime,
    addresses: AddressBook,
    channels: Sequence[str] = NOTICE_CHANNELS,
) -> list[str]:
    """Queue the messages of one notice (once per key and channel); their ids."""
    customer_id, template = payload.get("customer_id"), payload.get("template")
    if not isinstance(customer_id, str) or not isinstance(template, str) or not template:
        raise NotifyPayloadError("a customer.notify job needs a customer_id and a template")
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotifyPayloadError(f"no customer {customer_id}")
    ids = []
    for channel in addresses.channels(customer, channels):
        row, _ = queue_message(
            session, customer_id=customer_id, channel=channel, template=template, fields=dict(payload),
            dedupe_key=f"{key}:{channel}", now=now, contract_id=_text(payload.get("contract_id")),
            due_date=_due(payload.get("due_date")),
        )  # fmt: skip
        ids.append(row.id)
    return ids


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def notify_customer(
    factory: sessionmaker[Session],
    sink: NotificationSink,
    payload: Mapping[str, Any],
    key: str,
    *,
    now: datetime,
    addresses: AddressBook | None = None,
    policy: DeliveryPolicy | None = None,
) -> int:
    """Queue then send one notice (module docstring); how many messages were handed to the sink."""
    book = addresses or CustomerAddresses()
    with unit_of_work(factory) as session:
        ids = queue_notice(session, payload, key, now=now, addresses=book)
    return send_queued(factory, sink, ids, now=now, addresses=book, policy=policy)
