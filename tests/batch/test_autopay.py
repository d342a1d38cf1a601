"""Autopay: a mandate needs the autopay_debit consent; the 09:30 run requests what is due on the day
through the real worker (submitted on the mandated card, booked when the channel confirms, the
customer told); the 15:30 run retries only a retryable failure on the same card, else the fallback
card; a day without a run is a lender fault (autopay_missed). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.autopay import autopay_key, run_autopay
from lendcore.batch.autopay_missed import record_missed_runs
from lendcore.batch.close import run_daily_close
from lendcore.batch.jobs import default_registry
from lendcore.core.consent import ConsentKind
from lendcore.core.errors import LendcoreError
from lendcore.core.faults import MISSED_FAULT_DAYS
from lendcore.core.notices import chinese_date
from lendcore.jobs.outbox import enqueue
from lendcore.jobs.worker import Worker
from lendcore.origination.autopay import MandateRole, create_mandate, revoke_mandate
from lendcore.origination.onboarding import (
    ConsentGrantRequest,
    ConsentRevocation,
    grant_consent,
    revoke_consent,
)
from lendcore.payments.adapter import Accepted, ChannelCall, ChannelStatus, HandlerChannel
from lendcore.payments.records import Observation, apply_observation, lock_payment
from lendcore.payments.state import EventSource, PaymentState
from lendcore.servicing.settlement import NOTIFY_JOB
from lendcore.store.engine import unit_of_work
from lendcore.store.models import BankCard, Contract, Payment
from lendcore.store.models_autopay import AutopayMandate
from lendcore.store.models_jobs import Job
from lendcore.store.models_payments import LenderFault
from lendcore.store.types import utc_now
from tests.servicing.support import D0, do_draw, fault_notices, open_line

DUE = date(2026, 4, 1)  # a one-month bullet drawn on 2026-03-01
AT = datetime(2026, 3, 31, 2, 0, tzinfo=UTC)
MORNING = datetime(2026, 4, 1, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


def _card(session: Session, customer_id: str, last4: str) -> str:
    card = BankCard(
        customer_id=customer_id, card_number_ciphertext=b"x", card_number_hash=last4 * 16, bin="622202",
        bank_name="ICBC", last4=last4,
    )  # fmt: skip
    session.add(card)
    session.flush()
    return card.id


def _borrower(
    factory: sessionmaker[Session], *, consent: bool = True, fallback: bool = False
) -> dict[str, str]:
    cid, line = open_line(factory)
    contract = do_draw(factory, line, 1_000_000, 1, method="bullet")["contract_id"]
    with unit_of_work(factory) as session:
        cards = {"customer": cid, "contract": contract, "line": line, "primary": _card(session, cid, "1111")}
        cards["fallback"] = _card(session, cid, "2222")
        if consent:
            grant_consent(session, ConsentGrantRequest(cid, ConsentKind.AUTOPAY_DEBIT, "1.0"), at=AT)
            create_mandate(session, cid, cards["primary"], MandateRole.PRIMARY, actor=cid, at=AT)
            if fallback:
                create_mandate(session, cid, cards["fallback"], MandateRole.FALLBACK, actor=cid, at=AT)
    return cards


def _processing(call: ChannelCall) -> Accepted | ChannelStatus:
    return Accepted(call.payment_id, f"ref_{call.payment_id}")


def _work(factory: sessionmaker[Session], channel: HandlerChannel, at: datetime = MORNING) -> None:
    Worker(factory, default_registry(channel), clock=lambda: max(at, utc_now())).run_until_idle()


def _enqueue_run(factory: sessionmaker[Session], day: date, attempt: int) -> None:
    with unit_of_work(factory) as session:
        payload = {"business_date": day.isoformat(), "attempt": attempt}
        enqueue(session, "autopay.run", payload, run_at=MORNING, dedupe_key=f"t:{day}:{attempt}")


def _settle(
    factory: sessionmaker[Session], payment_id: str, state: PaymentState, code: str | None = None
) -> None:
    with unit_of_work(factory) as session:
        payment = lock_payment(session, payment_id)
        apply_observation(
            session, payment, Observation(EventSource.CALLBACK, state, failure_code=code), utc_now()
        )


def _payments(factory: sessionmaker[Session], customer_id: str) -> list[Payment]:
    with unit_of_work(factory, read_only=True) as session:
        stmt = select(Payment).where(Payment.customer_id == customer_id, Payment.purpose == "repayment")
        rows = list(session.scalars(stmt.order_by(Payment.requested_at, Payment.id)))
        session.expunge_all()
        return rows


def test_a_mandate_needs_the_consent_a_card_of_the_customer_and_is_one_per_role(
    session_factory: sessionmaker[Session],
) -> None:
    who = _borrower(session_factory, consent=False)
    other = _borrower(session_factory, consent=False)
    cid = who["customer"]
    refusals = [
        (cid, who["primary"], "AUTOPAY_CONSENT_REQUIRED"),
        (cid, other["primary"], "CARD_NOT_FOUND"),  # another customer's card
        ("cus_nope", who["primary"], "CUSTOMER_NOT_FOUND"),
    ]
    for customer, card, code in refusals:
        with pytest.raises(LendcoreError) as caught, unit_of_work(session_factory) as session:
            create_mandate(session, customer, card, MandateRole.PRIMARY, actor="t", at=AT)
        assert caught.value.code == code
    with unit_of_work(session_factory) as session:
        grant_consent(session, ConsentGrantRequest(cid, ConsentKind.AUTOPAY_DEBIT, "1.0"), at=AT)
        mandate = create_mandate(session, cid, who["primary"], MandateRole.PRIMARY, actor="t", at=AT)
    assert mandate.consent_version == "1.0" and mandate.status == "active"
    for card, role in [(who["fallback"], MandateRole.PRIMARY), (who["primary"], MandateRole.FALLBACK)]:
        with pytest.raises(LendcoreError) as caught, unit_of_work(session_factory) as session:
            create_mandate(session, cid, card, role, actor="t", at=AT)
        assert caught.value.code == "MANDATE_EXISTS"
    with unit_of_work(session_factory) as session:
        assert revoke_mandate(session, mandate.id, actor="t", at=AT).status == "revoked"
    with pytest.raises(LendcoreError) as caught, unit_of_work(session_factory) as session:
        revoke_mandate(session, mandate.id, actor="t", at=AT)
    assert caught.value.code == "MANDATE_NOT_ACTIVE"
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(AutopayMandate)) == 1


def test_the_morning_run_debits_the_mandated_card_and_the_confirmation_books_it(
    session_factory: sessionmaker[Session],
) -> None:
    who = _borrower(session_factory)
    channel = HandlerChannel(_processing)
    _enqueue_run(session_factory, DUE, 1)
    _work(session_factory, channel)
    [payment] = _payments(session_factory, who["customer"])
    assert payment.idempotency_key == f"repay-request:{autopay_key(who['contract'], DUE, 1)}"
    assert payment.contract_id == who["contract"] and payment.value_date == DUE
    [submit] = channel.calls
    assert submit.instruction is not None and submit.instruction.account_token == f"card:{who['primary']}"
    _settle(session_factory, payment.id, PaymentState.SUCCEEDED)
    _work(session_factory, channel)
    with unit_of_work(session_factory, read_only=True) as session:
        contract = session.get(Contract, who["contract"])
        assert contract is not None and contract.outstanding_principal == 0
        notes = session.scalars(select(Job.payload).where(Job.kind == NOTIFY_JOB)).all()
    assert {n["template"] for n in notes} == {"autopay_requested", "repayment_succeeded"}
    _enqueue_run(session_factory, DUE, 2)  # the afternoon: paid, nothing more is asked
    _work(session_factory, channel)
    assert len(_payments(session_factory, who["customer"])) == 1


def test_running_twice_requests_once_and_a_payment_in_flight_is_not_doubled(
    session_factory: sessionmaker[Session],
) -> None:
    who = _borrower(session_factory)
    with unit_of_work(session_factory) as session:
        first = run_autopay(session, DUE, 1, now=MORNING)
    with unit_of_work(session_factory) as session:
        again = run_autopay(session, DUE, 1, now=MORNING)
        afternoon = run_autopay(session, DUE, 2, now=MORNING + timedelta(hours=6))
    assert list(first.requested) == [who["contract"]]
    assert again.skipped == {who["contract"]: "already_requested"}
    assert afternoon.skipped == {who["contract"]: "payment_in_flight"}
    assert len(_payments(session_factory, who["customer"])) == 1


@pytest.mark.parametrize(
    ("code", "fallback", "expected"),
    [
        ("INSUFFICIENT_FUNDS", True, "primary"),  # retryable: the same card again
        ("BANK_MAINTENANCE", False, "primary"),
        ("CARD_FROZEN", True, "fallback"),  # not retryable: the fallback card
        ("CARD_FROZEN", False, None),  # not retryable and no fallback: nothing
    ],
)
def test_the_afternoon_retries_only_retryable_failures_then_the_fallback_card(
    session_factory: sessionmaker[Session], code: str, fallback: bool, expected: str | None
) -> None:
    who = _borrower(session_factory, fallback=fallback)
    with unit_of_work(session_factory) as session:
        morning = run_autopay(session, DUE, 1, now=MORNING)
    _settle(session_factory, morning.requested[who["contract"]], PaymentState.FAILED, code)
    with unit_of_work(session_factory) as session:
        afternoon = run_autopay(session, DUE, 2, now=MORNING + timedelta(hours=6))
    payments = _payments(session_factory, who["customer"])
    if expected is None:
        assert afternoon.skipped == {who["contract"]: "not_retryable_no_fallback"} and len(payments) == 1
        return
    second = payments[-1]
    assert len(payments) == 2 and second.id == afternoon.requested[who["contract"]]
    with unit_of_work(session_factory, read_only=True) as session:
        submit = session.scalars(
            select(Job.payload).where(Job.kind == "payment.submit").order_by(Job.id.desc())
        ).first()
    assert submit is not None and submit["account_token"] == f"card:{who[expected]}"


def test_no_mandate_or_a_revoked_consent_means_no_debit(session_factory: sessionmaker[Session]) -> None:
    bare = _borrower(session_factory, consent=False)
    revoked = _borrower(session_factory)
    with unit_of_work(session_factory) as session:
        revoke_consent(session, ConsentRevocation(revoked["customer"], ConsentKind.AUTOPAY_DEBIT), at=AT)
    with unit_of_work(session_factory) as session:
        report = run_autopay(session, DUE, 1, now=MORNING)
    assert report.requested == {}
    assert report.skipped == {bare["contract"]: "no_consent", revoked["contract"]: "no_consent"}


def test_a_due_date_without_a_run_is_a_lender_fault_raised_once(
    session_factory: sessionmaker[Session],
) -> None:
    who = _borrower(session_factory)
    _borrower(session_factory, consent=False)  # no mandate: not our failure to collect
    _enqueue_run(session_factory, DUE + timedelta(days=1), 1)  # the next morning; none ran on DUE
    _work(session_factory, HandlerChannel(_processing))
    with unit_of_work(session_factory) as session:
        assert record_missed_runs(session, DUE, now=MORNING) == []  # raised once
        faults = session.scalars(select(LenderFault)).all()
        assert [(f.kind, f.contract_id, f.starts_on) for f in faults] == [
            ("autopay_missed", who["contract"], DUE)
        ]


def test_a_day_that_had_its_run_raises_nothing(session_factory: sessionmaker[Session]) -> None:
    _borrower(session_factory)
    _enqueue_run(session_factory, DUE, 1)
    _work(session_factory, HandlerChannel(_processing))
    with unit_of_work(session_factory) as session:
        assert record_missed_runs(session, DUE, now=MORNING) == []
        assert session.scalar(select(func.count()).select_from(LenderFault)) == 0


def test_a_scheduler_down_for_days_leaves_a_fault_for_every_missed_day_not_only_the_last(
    session_factory: sessionmaker[Session],
) -> None:
    """Contracts due on DUE and DUE+1, no run on either; the run of DUE+2 (attempt 1) records both days
    (it used to look at yesterday only, so DUE's customer carried the penalty of our failure)."""
    early = _borrower(session_factory)
    next_day = D0 + timedelta(days=1)
    cid, line = open_line(session_factory, on=next_day)
    late = do_draw(session_factory, line, 1_000_000, 1, method="bullet", on=next_day)["contract_id"]
    with unit_of_work(session_factory) as session:
        card = _card(session, cid, "3333")
        grant_consent(session, ConsentGrantRequest(cid, ConsentKind.AUTOPAY_DEBIT, "1.0"), at=AT)
        create_mandate(session, cid, card, MandateRole.PRIMARY, actor=cid, at=AT)
    _enqueue_run(session_factory, DUE + timedelta(days=2), 1)
    _work(session_factory, HandlerChannel(_processing))
    with unit_of_work(session_factory, read_only=True) as session:
        faults = session.scalars(select(LenderFault).order_by(LenderFault.starts_on)).all()
        found = [(f.kind, f.contract_id, f.starts_on) for f in faults]
    assert found == [
        ("autopay_missed", early["contract"], DUE),
        ("autopay_missed", late, DUE + timedelta(days=1)),
    ]


def test_a_mandate_made_after_a_day_is_no_missed_run_of_that_day(
    session_factory: sessionmaker[Session],
) -> None:
    cid, line = open_line(session_factory)
    do_draw(session_factory, line, 1_000_000, 1, method="bullet")
    later = datetime(2026, 4, 2, 2, 0, tzinfo=UTC)  # the day after the due date
    with unit_of_work(session_factory) as session:
        card = _card(session, cid, "4444")
        grant_consent(session, ConsentGrantRequest(cid, ConsentKind.AUTOPAY_DEBIT, "1.0"), at=later)
        create_mandate(session, cid, card, MandateRole.PRIMARY, actor=cid, at=later)
    with unit_of_work(session_factory) as session:
        assert record_missed_runs(session, DUE, now=later) == []


def _standing(factory: sessionmaker[Session], contract_id: str) -> tuple[int, int]:
    with unit_of_work(factory, read_only=True) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        return contract.days_past_due, contract.penalty_receivable


def test_a_missed_run_excuses_the_customer_for_a_week_after_it_is_found_not_for_ever(
    session_factory: sessionmaker[Session],
) -> None:
    """The autopay_missed window was open-ended: a customer whose debit we missed once was never
    overdue again, never charged penalty and never reported, however long they did not pay. It ends
    MISSED_FAULT_DAYS after the morning that found it; then the rows count from their due date again."""
    who = _borrower(session_factory)
    twin = _borrower(session_factory, consent=False)  # no mandate: late on their own
    _enqueue_run(session_factory, DUE + timedelta(days=1), 1)  # the next morning; none ran on DUE
    _work(session_factory, HandlerChannel(_processing))
    with unit_of_work(session_factory, read_only=True) as session:
        [fault] = session.scalars(select(LenderFault)).all()
        assert (fault.starts_on, fault.ends_on) == (DUE, DUE + timedelta(days=1 + MISSED_FAULT_DAYS))
    for day in range(1, 1 + MISSED_FAULT_DAYS + 1):
        assert run_daily_close(session_factory, DUE + timedelta(days=day)).ok
    assert _standing(session_factory, who["contract"]) == (0, 0)  # the window's last day
    for day in range(2 + MISSED_FAULT_DAYS, 13):
        assert run_daily_close(session_factory, DUE + timedelta(days=day)).ok
    dpd, penalty = _standing(session_factory, who["contract"])
    twin_dpd, twin_penalty = _standing(session_factory, twin["contract"])
    assert dpd == twin_dpd == 12  # counted from the due date again
    assert 0 < penalty < twin_penalty  # the window's days waived, the days after it charged
    ends = chinese_date(DUE + timedelta(days=1 + MISSED_FAULT_DAYS))
    assert fault_notices(session_factory, who["customer"]) == [
        f"【lendcore】您{chinese_date(DUE)}的自动扣款因我方原因未能执行，由此产生的罚息已免除，"
        f"请在{ends}前通过 App 还款，以免逾期。"
    ]
