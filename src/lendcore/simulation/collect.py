"""Collection in the simulated world: autopay mandates, reminders and scheduled repayments.

Everything goes through the real code, as the scheduled jobs would run it (:data:`JOB_KINDS`, run by
the world's mortal worker, so a worker may die inside any of them too):

* **Autopay** (:mod:`lendcore.batch.autopay`): ``CollectConfig.mandate_rate`` of the customers grant
  the ``autopay_debit`` consent and mandate a primary card (half of them a fallback card too). Every
  business day an ``autopay.run`` job is enqueued for attempt 1 at 09:30 and attempt 2 at 15:30, except
  on a *missed-run day* (``missed_run_rate``: the scheduler was down), when none is: the next morning's
  attempt 1 must record an ``autopay_missed`` fault for every mandated contract due that day. Missed
  days may run consecutively (:func:`~lendcore.batch.autopay_missed.record_missed_days` looks a week back).
* **Reminders** (:mod:`lendcore.batch.reminders`): a ``reminders.run`` job at 10:00, delivered to the
  customers' app (push) through :class:`OrderedProvider`, the simulated provider with seeded fates
  (failed, never confirmed, delivered without a receipt); every round, what the ``notifications.sweep``
  job does pulls receipts and statuses, raises what is past its deadline and flags the undelivered, opening a
  ``reminder_undelivered`` fault window.
* **Scheduled repayments** (:mod:`lendcore.servicing.scheduled`): ``scheduled_rate`` of the customers
  (mandate holders too, unless ``CollectConfig.mandate_holders_pay_too`` is off)
  book each installment as it comes within reach (up to :data:`BOOKABLE_DAYS` before its due date)
  for a take date up to the due date; ``cancel_rate`` of the bookings are cancelled the day before
  their take date (the installment is then paid by hand on its due date). A ``scheduled.take`` job at
  08:00 takes the day's bookings; the close applies them on their due dates.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.consent import ConsentKind
from lendcore.core.errors import LendcoreError
from lendcore.jobs.outbox import enqueue
from lendcore.notify.delivery import sweep_notifications
from lendcore.notify.simulated import Fate, SimulatedProvider, draw_fate
from lendcore.notify.sinks import OutboundMessage
from lendcore.origination.autopay import MandateRole, create_mandate
from lendcore.origination.onboarding import ConsentGrantRequest, grant_consent
from lendcore.servicing.scheduled import (
    BOOKABLE_DAYS,
    ScheduleRepaymentRequest,
    book_scheduled,
    cancel_scheduled,
)
from lendcore.simulation.borrowers import Borrower
from lendcore.simulation.config import CollectConfig, SimReport
from lendcore.store.engine import unit_of_work
from lendcore.store.models import BankCard

#: The job kinds collection adds to the world's worker.
JOB_KINDS: Final = ("autopay.run", "scheduled.take", "reminders.run", "customer.notify")
AUTOPAY_HOURS: Final = {1: 9.5, 2: 15.5}  # attempt -> hour (Asia/Shanghai), as the scheduler has it


@dataclass
class OrderedProvider(SimulatedProvider):
    """The simulated SMS / push provider with each message's fate keyed by the order in which it
    first reached the provider instead of by its id (random), like the world's channel."""

    _ordinals: dict[str, int] = field(default_factory=dict)

    def _fate(self, message: OutboundMessage) -> Fate:
        ordinal = self._ordinals.setdefault(message.message_id, len(self._ordinals))
        return draw_fate(self.seed, f"message#{ordinal}", self.failed, self.unconfirmed, self.lost_receipt)


def _card(session: Session, borrower: Borrower, role: MandateRole, at: datetime) -> str:
    """A debit card on file (binding a card has its own rules and tests; the world needs one)."""
    digest = hashlib.sha256(f"sim-card|{borrower.number}|{role.value}".encode()).hexdigest()
    card = BankCard(
        customer_id=borrower.customer_id, card_number_ciphertext=b"sim", card_number_hash=digest,
        bin="622202", bank_name="ICBC", last4=digest[-4:], created_at=at,
    )  # fmt: skip
    session.add(card)
    session.flush()
    return card.id


def missed_run_days(rng: random.Random, days: int, rate: float) -> set[int]:
    """The day indexes without an autopay run, each drawn at ``rate`` (two or more running happen: the
    scheduler down for days; every one of them must be raised)."""
    return {index for index in range(days) if rng.random() < rate}


class Collection:
    """The world's collection side (module docstring); the world calls it at the hours of a day."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        config: CollectConfig,
        seed: int,
        days: int,
        now: Callable[[], datetime],
        report: SimReport,
    ) -> None:
        self.factory = factory
        self.config = config
        self.rng = random.Random(f"collect|{seed}")
        self.now = now
        self.report = report
        self.missed_days = missed_run_days(self.rng, days, config.missed_run_rate)
        self.provider = OrderedProvider(
            seed=seed, failed=config.reminder_failed, unconfirmed=config.reminder_unconfirmed,
            lost_receipt=config.reminder_lost_receipt, clock=now,
        )  # fmt: skip
        self.cancelled: set[tuple[int, date]] = set()  # (borrower, due date) not to book again
        self.to_cancel: dict[str, date] = {}  # booking id -> its take date

    # --- who collects how ---------------------------------------------------------------------------
    def enroll(self, session: Session, borrower: Borrower) -> None:
        """Give a new borrower a mandate or the habit of booking ahead (or neither), by the seed."""
        at = self.now()
        if self.rng.random() < self.config.mandate_rate:
            grant_consent(
                session, ConsentGrantRequest(borrower.customer_id, ConsentKind.AUTOPAY_DEBIT, "1.0"), at=at
            )
            roles = [MandateRole.PRIMARY]
            if self.rng.random() < self.config.fallback_rate:
                roles.append(MandateRole.FALLBACK)
            for role in roles:
                card = _card(session, borrower, role, at)
                create_mandate(session, borrower.customer_id, card, role, actor=borrower.customer_id, at=at)
            borrower.mandated = True
            borrower.pays_by_hand = self.config.mandate_holders_pay_too
            self.report.count("mandates", len(roles))
        can_book = not borrower.mandated or self.config.mandate_holders_pay_too
        if can_book and self.rng.random() < self.config.scheduled_rate:
            borrower.books_ahead = True

    # --- the jobs, as the scheduler enqueues them ---------------------------------------------------
    def _enqueue(self, kind: str, payload: dict[str, object], key: str) -> None:
        with unit_of_work(self.factory) as session:
            enqueue(session, kind, payload, dedupe_key=f"sim:{key}")

    def take_scheduled(self, day: date) -> None:
        self._enqueue("scheduled.take", {"business_date": day.isoformat()}, f"take:{day}")

    def autopay(self, index: int, day: date, attempt: int) -> None:
        if index in self.missed_days:
            self.report.count("autopay_runs_missed")
            return
        payload = {"business_date": day.isoformat(), "attempt": attempt}
        self._enqueue("autopay.run", payload, f"autopay:{day}:{attempt}")
        self.report.count("autopay_runs")

    def remind(self, day: date) -> None:
        if self.config.reminders:
            self._enqueue("reminders.run", {"business_date": day.isoformat()}, f"remind:{day}")

    def sweep_notifications(self) -> None:
        """What the ``notifications.sweep`` job does."""
        sweep_notifications(self.factory, self.provider, now=self.now())

    # --- the customers who book ahead ---------------------------------------------------------------
    def book_and_cancel(self, borrowers: list[Borrower], day: date) -> None:
        for borrower in borrowers:
            if not borrower.books_ahead:
                continue
            for due, _ in borrower.dues:
                booking = borrower.booked.get(due)
                if booking is not None and day < due:
                    self._maybe_cancel(borrower, due, booking, day)
                elif booking is None and (borrower.number, due) not in self.cancelled:
                    self._maybe_book(borrower, due, day)

    def _maybe_book(self, borrower: Borrower, due: date, day: date) -> None:
        lead = (due - day).days
        if not 1 <= lead <= BOOKABLE_DAYS or (lead > 1 and self.rng.random() < 0.7):
            return
        take_on = day + timedelta(days=self.rng.randint(1, lead))
        request = ScheduleRepaymentRequest(
            customer_id=borrower.customer_id, contract_id=borrower.contract_id, take_on=take_on,
            business_date=day, idempotency_key=f"sim-book-{borrower.number}-{due}",
        )  # fmt: skip
        try:
            with unit_of_work(self.factory) as session:
                booked = book_scheduled(session, request)
        except LendcoreError as error:  # nothing owed any more, contract closed …: nothing booked
            self.report.count(f"booking_refused:{error.code}")
            self.cancelled.add((borrower.number, due))
            return
        borrower.booked[due] = booked.id
        if self.rng.random() < self.config.cancel_rate:
            self.to_cancel[booked.id] = take_on
        self.report.count("scheduled_bookings")

    def _maybe_cancel(self, borrower: Borrower, due: date, booking: str, day: date) -> None:
        if self.to_cancel.get(booking) != day + timedelta(days=1):  # the day before its take date
            return
        with unit_of_work(self.factory) as session:
            cancel_scheduled(
                session, booking, customer_id=borrower.customer_id, business_date=day,
                actor=borrower.customer_id,
            )  # fmt: skip
        del borrower.booked[due]
        self.cancelled.add((borrower.number, due))
        self.report.count("scheduled_cancellations")
