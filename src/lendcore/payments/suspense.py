"""Channel suspense (渠道待查款): money a channel took that no payment of ours books.

Reconciliation finds it (:func:`lendcore.payments.statement.suspense_of`): a statement row we do
not know, a success we hold as failed or reversed, a success for more than our payment. That money is
at the channel (in our clearing account) and on no contract, so it must be neither lost nor booked to
anyone by guess. Invariants, each enforced where said:

1. **Held once, from the day it is found**: the issue that raises the row, and in the same
   transaction one item (``channel_suspense``, unique per issue) and one journal entry
   (Dr 1002.01 cash, Cr 2241.03 channel suspense). A rerun finds the issue and holds nothing again.
2. **Cleared only by a recorded action**, approved by a second person (the ``channel-suspense``
   proposal kind, :mod:`lendcore.servicing.suspense_clearing`): applied as a repayment, or returned
   to the payer by the channel. Either posts Dr 2241.03, Cr 1002.01 and closes the item; nothing
   else writes the account.
3. **The account is its items**: the 2241.03 balance equals the sum of the open items' amounts
   (checked with the other invariants, :mod:`lendcore.servicing.invariants`).

Cash the channel took = what our payments book (allocated + customer credit) + channel suspense;
money we booked that the channel does not have (a reversal we lack) is raised, never suspense.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendcore.core.ledger import Account
from lendcore.core.money import Fen
from lendcore.store.business_date import read_business_date
from lendcore.store.models import JournalEntry, Payment, Posting
from lendcore.store.models_payments import ChannelSuspense


def post_suspense_entry(
    session: Session,
    *,
    debit: Account,
    credit: Account,
    amount: Fen,
    on: date,
    description: str,
    customer_id: str | None,
    payment_id: str | None = None,
) -> JournalEntry:
    """One balanced entry of two legs on no contract (``on``: the open business date)."""
    entry = JournalEntry(
        business_date=on, value_date=on, description=description[:200], payment_id=payment_id
    )
    entry.postings = [
        Posting(account_code=debit.value, customer_id=customer_id, debit=amount, credit=0),
        Posting(account_code=credit.value, customer_id=customer_id, debit=0, credit=amount),
    ]
    session.add(entry)
    session.flush()
    return entry


def hold_in_suspense(
    session: Session,
    *,
    issue_id: int,
    kind: str,
    channel: str,
    statement_date: date,
    named_payment_id: str,
    channel_reference: str,
    amount: Fen,
    settled_on: date,
    now: datetime,
) -> ChannelSuspense:
    """Hold ``amount`` the channel took (``issue_id`` raised it, just now) in channel suspense: the
    item and its entry, in the caller's transaction. The payer is our payment's customer if the row
    names a payment of ours; the value date is when they paid (the payment's, else ``settled_on``)."""
    ours = session.get(Payment, named_payment_id)
    customer_id = ours.customer_id if ours is not None else None
    on = read_business_date(session) or statement_date
    entry = post_suspense_entry(
        session,
        debit=Account.CASH,
        credit=Account.CHANNEL_SUSPENSE,
        amount=amount,
        on=on,
        description=f"channel suspense: {kind} {named_payment_id} on {channel} {statement_date}",
        customer_id=customer_id,
    )
    item = ChannelSuspense(
        issue_id=issue_id,
        channel=channel,
        statement_date=statement_date,
        named_payment_id=named_payment_id,
        channel_reference=channel_reference,
        payment_id=ours.id if ours is not None else None,
        customer_id=customer_id,
        amount=amount,
        value_date=ours.value_date if ours is not None else settled_on,
        status="open",
        entry_id=entry.id,
        raised_at=now,
    )
    session.add(item)
    session.flush()
    return item


def open_suspense_total(session: Session) -> Fen:
    total = session.scalar(
        select(func.coalesce(func.sum(ChannelSuspense.amount), 0)).where(ChannelSuspense.status == "open")
    )
    return int(total or 0)


def suspense_account_balance(session: Session) -> Fen:
    """The 2241.03 balance (credit-normal: credits less debits)."""
    net = session.scalar(
        select(func.coalesce(func.sum(Posting.credit) - func.sum(Posting.debit), 0)).where(
            Posting.account_code == Account.CHANNEL_SUSPENSE.value
        )
    )
    return int(net or 0)


def holds_payment(session: Session, payment_id: str) -> bool:
    """Whether an open item holds money the channel took for our payment ``payment_id``."""
    stmt = select(ChannelSuspense.id).where(
        ChannelSuspense.payment_id == payment_id, ChannelSuspense.status == "open"
    )
    return session.scalars(stmt.limit(1)).first() is not None
