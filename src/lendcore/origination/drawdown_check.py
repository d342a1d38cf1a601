"""The real-time check before each drawdown (综合评估), assembled from the database.

:func:`check_drawdown` builds a :class:`lendcore.risk.decision.DrawdownContext` for one line and
amount and calls :func:`lendcore.risk.decision.evaluate_drawdown`:

* available limit (:mod:`lendcore.core.credit_line`: limit − outstanding principal − pending
  drawdowns, 0 unless the line is active);
* line frozen; current days past due on any of the customer's contracts; *new* overdue since the
  line was opened or its limit last reviewed (an ``OVERDUE_FREEZE`` / ``OVERDUE_LOWER`` limit change
  since then); drawdowns on the line in the last days (contract start dates); failed inbound
  payments (deductions) of the customer in the last ``failure_window_days``; blacklist hits on the
  customer's ID, phone and cards; the last declined check of this line (cooldown).

A decline changes nothing on the line. With ``record_decline=True`` (default) the decline itself is
written to ``drawdown_declines`` (flushed in the caller's transaction) so the next check sees the
cooldown: the draw use case should commit it (return the decline rather than raise through its unit
of work) for the cooldown to hold.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendcore.core.errors import BusinessRuleError, NotFoundError
from lendcore.core.money import Fen
from lendcore.origination.blacklist import blacklist_hits
from lendcore.risk.decision import DrawdownConfig, DrawdownContext, DrawdownDecision, evaluate_drawdown
from lendcore.risk.rules import BlacklistKind
from lendcore.servicing.lines import line_available
from lendcore.store.models import BankCard, Contract, CreditLine, Customer, Payment
from lendcore.store.models_origination import DrawdownDecline, LimitChange

OVERDUE_REASONS: Final = ("OVERDUE_FREEZE", "OVERDUE_LOWER")
FAILURE_WINDOW_DAYS: Final = 30
RECENT_DRAWDOWN_DAYS: Final = 30


def drawdown_context(
    session: Session,
    *,
    line_id: str,
    amount: Fen,
    business_date: date,
    fraud_flags: frozenset[str] = frozenset(),
) -> DrawdownContext:
    line = session.get(CreditLine, line_id)
    if line is None:
        raise NotFoundError(f"credit line {line_id} not found", code="LINE_NOT_FOUND")
    if line.status == "closed":
        raise BusinessRuleError("the credit line is closed", code="LINE_CLOSED")
    customer = session.get(Customer, line.customer_id)
    assert customer is not None
    available = line_available(session, line)
    dpd = session.scalar(
        select(func.coalesce(func.max(Contract.days_past_due), 0)).where(
            Contract.customer_id == line.customer_id, Contract.status.in_(("active", "written-off"))
        )
    )
    last_review = session.scalar(
        select(func.max(LimitChange.business_date)).where(
            LimitChange.credit_line_id == line_id, LimitChange.reason_code.not_in(OVERDUE_REASONS)
        )
    )
    since = last_review or line.opened_on
    new_overdue = session.scalar(
        select(func.count(LimitChange.id)).where(
            LimitChange.credit_line_id == line_id,
            LimitChange.reason_code.in_(OVERDUE_REASONS),
            LimitChange.business_date >= since,
        )
    )
    drawdowns = session.scalars(
        select(Contract.start_date).where(
            Contract.credit_line_id == line_id,
            Contract.start_date > business_date - timedelta(days=RECENT_DRAWDOWN_DAYS),
            Contract.start_date <= business_date,
        )
    ).all()
    failures = session.scalar(
        select(func.count(Payment.id)).where(
            Payment.customer_id == line.customer_id,
            Payment.direction == "inbound",
            Payment.state == "failed",
            Payment.value_date > business_date - timedelta(days=FAILURE_WINDOW_DAYS),
            Payment.value_date <= business_date,
        )
    )
    last_decline = session.scalar(
        select(func.max(DrawdownDecline.business_date)).where(
            DrawdownDecline.credit_line_id == line_id, DrawdownDecline.business_date <= business_date
        )
    )
    cards = session.scalars(
        select(BankCard.card_number_hash).where(
            BankCard.customer_id == line.customer_id, BankCard.status == "active"
        )
    ).all()
    pairs: list[tuple[BlacklistKind, str]] = [(BlacklistKind.CARD, h) for h in cards]
    if customer.id_number_hash:
        pairs.append((BlacklistKind.ID_NUMBER, customer.id_number_hash))
    if customer.phone_hash:
        pairs.append((BlacklistKind.PHONE, customer.phone_hash))
    return DrawdownContext(
        business_date=business_date,
        amount=amount,
        available_limit=available,
        line_frozen=line.status == "frozen",
        current_overdue_days=int(dpd or 0),
        new_overdue_since_approval=bool(new_overdue),
        recent_drawdown_dates=tuple(sorted(drawdowns)),
        recent_failed_repayments=int(failures or 0),
        blacklist_hits=blacklist_hits(session, pairs),
        fraud_flags=fraud_flags,
        last_drawdown_decline_on=last_decline,
    )


def check_drawdown(
    session: Session,
    *,
    line_id: str,
    amount: Fen,
    business_date: date,
    config: DrawdownConfig | None = None,
    fraud_flags: frozenset[str] = frozenset(),
    record_decline: bool = True,
) -> DrawdownDecision:
    """Evaluate one drawdown of ``amount`` on ``line_id`` (see the module docstring)."""
    ctx = drawdown_context(
        session, line_id=line_id, amount=amount, business_date=business_date, fraud_flags=fraud_flags
    )
    decision = evaluate_drawdown(ctx, config or DrawdownConfig())
    # Declines that are only about the amount are not a behaviour signal: no cooldown for them.
    if record_decline and not decision.approved and decision.retry_on is not None:
        session.add(
            DrawdownDecline(
                credit_line_id=line_id,
                amount=amount,
                business_date=business_date,
                reason_codes=list(decision.reason_codes),
                retry_on=decision.retry_on,
            )
        )
        session.flush()
    return decision


def drawdown_gate(
    config: DrawdownConfig | None = None, *, fraud_flags: frozenset[str] = frozenset()
) -> Callable[..., DrawdownDecision]:
    """The drawdown check as the gate the draw use case takes
    (:class:`lendcore.servicing.draw.DrawdownGate`)."""

    def gate(session: Session, *, line_id: str, amount: Fen, business_date: date) -> DrawdownDecision:
        return check_drawdown(
            session,
            line_id=line_id,
            amount=amount,
            business_date=business_date,
            config=config,
            fraud_flags=fraud_flags,
        )

    return gate
