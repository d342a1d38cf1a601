"""The product's own story (docs/product.md §6, issue 11), end to end with dates, on SQLite and PostgreSQL.

A 小米分期 plan (`pos`, interest-free: daily rate 0; the catalog's 12-period plan carries its 0.6 % fee a
period) of ¥3,848.00 over 12 periods, bought on 2026-03-01 at a Xiaomi store, first installment due
2026-04-01, autopay set up on the customer's card.

* 03-31: the channel's bank side goes into maintenance; the D-1 reminder (SMS and push) is sent and
  delivered on neither channel: the notifications sweep flags it and opens a ``reminder_undelivered``
  window for the customer from the due date (``notify.delivery``, 7 days).
* 04-01 09:30 and 15:30 (Asia/Shanghai): both autopay attempts fail with ``BANK_MAINTENANCE``.
* 04-01 20:00: the customer repays the installment by hand; the channel accepts it and says nothing for
  three days. The sweep raises it to operations when its SLA (2 h) passes, which opens a
  ``payment_past_sla`` window for the customer from the day they paid; the customer is told.
* 04-04 10:00: the channel confirms it.

Result: no penalty, DPD 0 every day, no negative bureau record for April, the fault visible to
operations within its SLA, the customer told. And when the payment truly fails: the days in flight are
inside the window (no penalty for them); after the window the contract is as if it had never been
paid, penalty and DPD counting from the due date as for a twin that never paid.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.autopay import run_autopay
from lendcore.batch.close import run_daily_close
from lendcore.batch.jobs import default_registry, sweep_payments
from lendcore.bureau.batch import build_batch
from lendcore.core.bureau_status import event_report_date, is_negative
from lendcore.core.consent import ConsentKind
from lendcore.jobs.worker import Worker
from lendcore.notify.delivery import DeliveryPolicy, queue_message, send_queued, sweep_notifications
from lendcore.notify.simulated import SimulatedProvider
from lendcore.origination.autopay import MandateRole, create_mandate
from lendcore.origination.onboarding import ConsentGrantRequest, grant_consent
from lendcore.payments.adapter import Accepted, ChannelCall, ChannelStatus, HandlerChannel
from lendcore.payments.records import Observation, apply_observation, lock_payment
from lendcore.payments.state import EventSource, PaymentState
from lendcore.servicing.repay import RepayRequest
from lendcore.servicing.settlement import NOTIFY_JOB, request_repayment
from lendcore.store.engine import unit_of_work
from lendcore.store.models import BankCard, Contract, LoanTransaction, Payment
from lendcore.store.models_jobs import Job
from lendcore.store.models_payments import LenderFault, PaymentIssue
from lendcore.store.types import utc_now
from tests.notify.test_delivery import Addresses
from tests.servicing.support import assert_invariants, do_draw, open_line

BOUGHT = date(2026, 3, 1)
DUE = date(2026, 4, 1)
PRICE = 384_800  # ¥3,848.00


def shanghai(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


class Channel:
    """The bank side: in maintenance (every debit declined with BANK_MAINTENANCE) until the customer's
    manual repayment, which it accepts and then leaves unanswered until told how it ended."""

    def __init__(self) -> None:
        self.maintenance = True
        self.outcome: PaymentState = PaymentState.PROCESSING

    def __call__(self, call: ChannelCall) -> Accepted | ChannelStatus:
        if call.operation == "submit" and self.maintenance:
            return Accepted(
                call.payment_id, f"ref_{call.payment_id}", PaymentState.FAILED, None, "BANK_MAINTENANCE"
            )
        if call.operation == "submit":
            return Accepted(call.payment_id, f"ref_{call.payment_id}")
        return ChannelStatus(call.payment_id, f"ref_{call.payment_id}", PaymentState.PROCESSING, 0)


def buy_with_autopay(factory: sessionmaker[Session]) -> tuple[str, str, str]:
    """(customer, contract, card)."""
    customer_id, line = open_line(factory, product="pos", limit=1_000_000, grade="A", on=BOUGHT)
    contract_id = do_draw(factory, line, PRICE, 12, on=BOUGHT, merchant_id="mi-store-001")["contract_id"]
    with unit_of_work(factory) as session:
        card = BankCard(
            customer_id=customer_id, card_number_ciphertext=b"x", card_number_hash="1" * 64, bin="622202",
            bank_name="ICBC", last4="1111",
        )  # fmt: skip
        session.add(card)
        session.flush()
        at = shanghai(BOUGHT, 12)
        grant_consent(session, ConsentGrantRequest(customer_id, ConsentKind.AUTOPAY_DEBIT, "1.0"), at=at)
        create_mandate(session, customer_id, card.id, MandateRole.PRIMARY, actor=customer_id, at=at)
        return customer_id, contract_id, card.id


def reminder_not_delivered(factory: sessionmaker[Session], customer_id: str) -> None:
    """The D-1 reminder, on SMS and push, delivered on neither (the provider refuses both)."""
    sent = shanghai(DUE - timedelta(days=1), 10)
    with unit_of_work(factory) as session:
        ids = [
            queue_message(
                session, customer_id=customer_id, channel=channel, template="reminder_before",
                fields={"amount": 34_376, "due_date": DUE, "days": 1}, dedupe_key=f"story:{channel}",
                now=sent, group_key="reminder:story", due_date=DUE,
            )[0].id
            for channel in ("sms", "push")
        ]  # fmt: skip
    provider = SimulatedProvider(seed=1, failed=0, unconfirmed=0, lost_receipt=0, clock=lambda: sent)
    send_queued(factory, provider, ids, now=sent, addresses=Addresses(sms="fail:BLOCKED", push="fail:"))
    for minutes in (1, 31, 40):
        sweep_notifications(factory, provider, now=sent + timedelta(minutes=minutes))


def run_jobs(factory: sessionmaker[Session], channel: HandlerChannel | None = None) -> None:
    Worker(factory, default_registry(channel), clock=utc_now).run_until_idle()


def autopay_fails(factory: sessionmaker[Session], channel: HandlerChannel, contract_id: str) -> int:
    """Both attempts of the due date fail; the amount the autopay asked for (what is due)."""
    asked = 0
    for attempt, hour in ((1, 9), (2, 15)):
        with unit_of_work(factory) as session:
            run = run_autopay(session, DUE, attempt, now=shanghai(DUE, hour, 30))
        run_jobs(factory, channel)  # the worker submits (declined) and settles (nothing booked)
        with unit_of_work(factory, read_only=True) as session:
            payment = session.get(Payment, run.requested[contract_id])
            assert payment is not None and (payment.state, payment.failure_code) == (
                "failed",
                "BANK_MAINTENANCE",
            )
            asked = payment.amount
    return asked


def pay_by_hand(
    factory: sessionmaker[Session], channel: HandlerChannel, customer_id: str, amount: int
) -> str:
    at = shanghai(DUE, 20)
    request = RepayRequest(
        customer_id=customer_id, business_date=DUE, idempotency_key="story-1", amount=amount
    )
    with unit_of_work(factory) as session:
        payment_id = request_repayment(session, request, now=at).payment_id
    run_jobs(factory, channel)  # submitted: accepted, processing
    for minutes in (60, 121, 180):  # the sweeps of the evening: past its SLA at 22:00, raised
        sweep_payments(factory, channel, now=at + timedelta(minutes=minutes))
    return payment_id


def confirm(factory: sessionmaker[Session], payment_id: str, state: PaymentState, at: datetime) -> None:
    with unit_of_work(factory) as session:
        payment = lock_payment(session, payment_id)
        code = "INSUFFICIENT_FUNDS" if state is PaymentState.FAILED else None
        apply_observation(session, payment, Observation(EventSource.CALLBACK, state, failure_code=code), at)
    run_jobs(factory)


def standing(factory: sessionmaker[Session], contract_id: str) -> tuple[int, int, str | None]:
    with unit_of_work(factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None
        return c.penalty_receivable, c.days_past_due, c.classification


def close(factory: sessionmaker[Session], day: date) -> None:
    assert run_daily_close(factory, day).ok


def told(factory: sessionmaker[Session], customer_id: str) -> list[dict[str, Any]]:
    with unit_of_work(factory, read_only=True) as session:
        jobs = session.scalars(select(Job).where(Job.kind == NOTIFY_JOB).order_by(Job.id)).all()
        return [j.payload for j in jobs if j.payload.get("customer_id") == customer_id]


def april_record(factory: sessionmaker[Session], contract_id: str) -> str:
    with unit_of_work(factory, read_only=True) as session:
        batch = build_batch(session, event_report_date(date(2026, 4, 30)), notices={contract_id: DUE})
    [record] = [
        r for r in batch.records if r.built_from.contract_id == contract_id and r.reason.value == "30"
    ]
    return str(record.as_segments()["AcctMthlyBlgInfSgmt"]["AcctStatus"])


def test_the_story_stuck_three_days_then_paid_no_penalty_no_overdue_no_bureau_record_customer_told(
    session_factory: sessionmaker[Session],
) -> None:
    customer_id, contract_id, _ = buy_with_autopay(session_factory)
    bank = Channel()
    channel = HandlerChannel(bank)
    close(session_factory, DUE - timedelta(days=1))  # 03-31
    reminder_not_delivered(session_factory, customer_id)
    due = autopay_fails(session_factory, channel, contract_id)
    assert due == PRICE // 12 + 1 + 2_309  # principal of installment 1 (32,067) and its fee (0.6 %)
    bank.maintenance = False
    payment_id = pay_by_hand(session_factory, channel, customer_id, due)

    for day in (DUE, DUE + timedelta(days=1), DUE + timedelta(days=2)):  # "还款中" for three days
        close(session_factory, day)
        assert standing(session_factory, contract_id) == (0, 0, "normal")
    confirm(session_factory, payment_id, PaymentState.SUCCEEDED, shanghai(DUE + timedelta(days=3), 10))
    for n in range(3, 10):
        close(session_factory, DUE + timedelta(days=n))
        assert standing(session_factory, contract_id) == (0, 0, "normal")

    with unit_of_work(session_factory, read_only=True) as session:
        booked = session.scalars(
            select(LoanTransaction).where(LoanTransaction.payment_id == payment_id)
        ).all()
        assert [(t.type, t.value_date, t.amount) for t in booked] == [("repayment", DUE, due)]
        c = session.get(Contract, contract_id)
        assert c is not None and c.max_days_past_due == 0
        issue = session.scalars(select(PaymentIssue).where(PaymentIssue.payment_id == payment_id)).one()
        payment = session.get(Payment, payment_id)
        assert payment is not None and payment.sla_at is not None
        # visible to operations within its SLA: raised by the first sweep after the SLA passed
        assert issue.kind == "sla_breached" and issue.raised_at - payment.sla_at <= timedelta(minutes=1)
        faults = sorted((f.kind, f.starts_on, f.ends_on) for f in session.scalars(select(LenderFault)))
    assert faults == [
        ("payment_past_sla", DUE, DUE + timedelta(days=3)),
        ("reminder_undelivered", DUE, DUE + timedelta(days=DeliveryPolicy().fault_days)),
    ]
    templates = [n["template"] for n in told(session_factory, customer_id)]
    assert templates.count("autopay_requested") == 2 and templates.count("repayment_failed") == 2
    assert templates[-2:] == ["lender_fault_opened", "repayment_succeeded"]
    assert not is_negative(april_record(session_factory, contract_id))
    assert_invariants(session_factory)


def test_when_the_payment_truly_fails_the_days_in_the_window_are_ours_and_after_it_the_customer_is_late(
    session_factory: sessionmaker[Session],
) -> None:
    """No reminder fault this time; the manual repayment fails on 04-04 after three days in flight. The
    payment_past_sla window covers 04-01 … 04-04: no penalty and DPD 0 inside it. Then the contract is
    a twin's that never paid: DPD from the due date, penalty once the 3 grace days have lapsed, for the
    days after the window only (the days inside it were waived)."""
    customer_id, contract_id, _ = buy_with_autopay(session_factory)
    _, twin, _ = buy_with_autopay(session_factory)
    bank = Channel()
    channel = HandlerChannel(bank)
    close(session_factory, DUE - timedelta(days=1))
    due = autopay_fails(session_factory, channel, contract_id)
    bank.maintenance = False
    payment_id = pay_by_hand(session_factory, channel, customer_id, due)
    for day in (DUE, DUE + timedelta(days=1), DUE + timedelta(days=2)):
        close(session_factory, day)
        assert standing(session_factory, contract_id) == (0, 0, "normal")
    confirm(session_factory, payment_id, PaymentState.FAILED, shanghai(DUE + timedelta(days=3), 10))
    close(session_factory, DUE + timedelta(days=3))  # 04-04: the window's last day
    assert standing(session_factory, contract_id) == (0, 0, "normal")
    for n in range(4, 10):
        close(session_factory, DUE + timedelta(days=n))
    ours, theirs = standing(session_factory, contract_id), standing(session_factory, twin)
    assert ours[1:] == theirs[1:] == (9, "special-mention")  # DPD from the due date, as never paid
    # the twin pays penalty for DPD 1 … 9 (04-02 … 04-10); ours only for the 6 days after the window
    # (04-05 … 04-10): the 3 days inside it (04-02 … 04-04), booked once the grace lapsed, were waived
    assert theirs[0] > ours[0] > 0
    per_day = theirs[0] / 9
    assert abs(ours[0] - 6 * per_day) <= 1
    templates = [n["template"] for n in told(session_factory, customer_id)]
    assert templates[-2:] == ["lender_fault_opened", "repayment_failed"]
    assert is_negative(april_record(session_factory, contract_id))  # late at the month end, after the window
    assert_invariants(session_factory)
