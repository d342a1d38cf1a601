"""The operations desk of the simulated world: every morning after reconciliation, each open channel
suspense item is cleared the way the product clears it, by a proposal an operator makes and finance
approves (:mod:`lendcore.approvals`), after checking with the channel (the simulated channel's own
record, its truth, not its statement):

* the channel really took that amount for a payment of ours we hold as failed or reversed: the
  payer paid, so the item is **applied** as their repayment (value-dated when they paid);
* anything else (a row the statement invented, a statement amount the channel did not take): the
  item is **returned** (reversing money that is not ours to keep).

Check 11 (:func:`taken_money_booked_once`) then holds the books to it: money the channel took for a
payment is booked once, by that payment or by an applied item, never by both.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.approvals.proposals import ProposeRequest, Staff, approve, propose
from lendcore.auth.principal import StaffRole
from lendcore.payments.sim.engine import ChannelSimulation
from lendcore.payments.state import PaymentState
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Payment
from lendcore.store.models_payments import ChannelSuspense

OPERATOR = Staff("stf_sim_operator", frozenset({StaffRole.OPERATOR}), "127.0.0.1")
FINANCE = Staff("stf_sim_finance", frozenset({StaffRole.FINANCE}), "127.0.0.1")


def _truly_taken(engine: ChannelSimulation, item: ChannelSuspense, ours: Payment | None) -> bool:
    sim = engine.payments.get(item.named_payment_id)
    return (
        sim is not None
        and ours is not None
        and ours.state in (PaymentState.FAILED.value, PaymentState.REVERSED.value)
        and sim.plan.state is PaymentState.SUCCEEDED
        and sim.instruction.amount == item.amount
    )


def clear_open_suspense(
    factory: sessionmaker[Session], engine: ChannelSimulation, now: datetime
) -> dict[str, int]:
    """Clear every open item (module docstring); how many were applied and returned."""
    with unit_of_work(factory, read_only=True) as session:
        open_items = session.scalars(
            select(ChannelSuspense).where(ChannelSuspense.status == "open").order_by(ChannelSuspense.id)
        ).all()
        plans = [
            (
                item.id,
                _truly_taken(
                    engine, item, session.get(Payment, item.payment_id) if item.payment_id else None
                ),
            )
            for item in open_items
        ]
    cleared = {"applied": 0, "returned": 0}
    for item_id, taken in plans:
        payload = {"action": "apply"} if taken else {"action": "return", "reference": f"sim-{item_id}"}
        reason = "the channel's record shows it took the money" if taken else "not taken by the channel"
        with unit_of_work(factory) as session:
            proposal = propose(
                session, ProposeRequest("channel-suspense", item_id, reason, payload), OPERATOR, now=now
            )
        with unit_of_work(factory) as session:
            approve(session, proposal.id, FINANCE, now=now)
        cleared["applied" if taken else "returned"] += 1
    return cleared
