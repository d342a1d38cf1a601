"""A customer's repayment through the payment channel (docs/payments.md, "Customer repayments go
through the channel").

`record_repayment` records the repayment (`request_repayment`, with the exact allocation it will
book) in the caller's unit of work; once committed, `settle_at_once`, with no transaction open,
submits it, and when the channel answers at once (the in-process channel of development, demos and
CI: `instant_channel`) books it at once (`settle_payment`, what the ``payment.settled`` job does: the
job, run later, finds it booked). With no channel (a real, asynchronous channel configured:
``LENDCORE_CHANNEL_URL``) it stays ``processing``: the worker's ``payment.submit`` job submits it,
the callback or the sweeper's query finds the outcome, ``payment.settled`` books it at its value
date. The value date is always the business date the customer started on, never one the client
chose (``VALUE_DATE_NOT_ALLOWED``).
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import ValidationError
from lendcore.payments.adapter import Accepted, ChannelAdapter, ChannelCall, ChannelStatus, HandlerChannel
from lendcore.payments.http_channel import CHANNEL_URL_ENV
from lendcore.payments.state import PaymentState
from lendcore.payments.submit import submit_payment
from lendcore.servicing.repay import RepayRequest, RepayResult
from lendcore.servicing.settlement import request_repayment, settle_payment
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Payment

__all__ = ["customer_request", "inline_channel", "instant_channel", "record_repayment", "settle_at_once"]


def _confirm_at_once(call: ChannelCall) -> Accepted | ChannelStatus:
    reference = f"inproc_{call.payment_id}"
    if call.operation == "submit":
        return Accepted(call.payment_id, reference, PaymentState.SUCCEEDED)
    amount = call.instruction.amount if call.instruction is not None else 0
    return ChannelStatus(call.payment_id, reference, PaymentState.SUCCEEDED, amount)


def instant_channel() -> HandlerChannel:
    """The in-process channel: every instruction is confirmed at once (development, demos, CI)."""
    return HandlerChannel(_confirm_at_once)


def inline_channel() -> HandlerChannel | None:
    """The channel a repayment is submitted to right after it is committed: the in-process channel,
    unless a real one is configured (``LENDCORE_CHANNEL_URL``: then None, the worker submits)."""
    return None if os.environ.get(CHANNEL_URL_ENV, "").strip() else instant_channel()


def customer_request(request: RepayRequest) -> RepayRequest:
    """A customer's repayment is value-dated the business date it is made on, never a date the client
    chose (``VALUE_DATE_NOT_ALLOWED``)."""
    if request.value_date is not None and request.value_date != request.business_date:
        raise ValidationError(
            "a customer's repayment is value-dated the day it is made", code="VALUE_DATE_NOT_ALLOWED"
        )
    return request


def record_repayment(session: Session, request: RepayRequest, *, now: datetime) -> RepayResult:
    """Record a customer's repayment in the caller's unit of work (commit it before
    :func:`settle_at_once`): ``processing``, with the exact allocation it will book."""
    return request_repayment(session, customer_request(request), now=now, with_plan=True)


def settle_at_once(
    factory: sessionmaker[Session],
    recorded: RepayResult,
    *,
    account_token: str,
    channel: ChannelAdapter | None,
    now: datetime,
) -> RepayResult:
    """Submit a committed repayment (no transaction open) and, when the channel answers at once, book
    it at once. ``status`` is then ``succeeded`` (the allocation booked) or ``failed`` (declined); with
    no channel, or a channel that answers later, it stays ``processing`` (the allocation planned)."""
    if channel is None:
        return recorded
    submit_payment(factory, channel, recorded.payment_id, account_token, now=now)
    with unit_of_work(factory) as session:
        settled = settle_payment(session, recorded.payment_id, now=now)
        payment = session.get(Payment, recorded.payment_id)
        reason = payment.failure_reason if payment is not None else None
    if settled.state == PaymentState.SUCCEEDED.value:
        lines = settled.lines or recorded.contracts  # booked now, or by an earlier answer to this request
        return replace(
            recorded, status="succeeded", contracts=lines, unapplied=sum(line.unapplied for line in lines)
        )
    if settled.state == PaymentState.FAILED.value:
        return replace(recorded, status="failed", contracts=(), unapplied=0, failure_reason=reason)
    return recorded
