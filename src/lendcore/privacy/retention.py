"""The retention job: erase what is past its retention period (PIPL Art. 47 (1), Art. 19).

:func:`run_retention` ``(session, on, cipher, policy)`` erases, as of business date ``on``:

* the identity kept after a deletion request (name, ID number and its blind index, birth date, card
  numbers) once its ``keep_until`` has come (10 years by default, :mod:`lendcore.privacy.policy`);
* the same for a customer who never asked but whose relationship ended that long ago (every line
  closed, nothing open): restricted and erased in the same run;
  contracts, transactions, payments and the ledger stay, naming only the opaque customer id;
* the answers and hashes of credit applications that did not lead to a line, once they are older
  than the application period (3 years by default), and the inputs of their decisions.

It is idempotent (what it erased is marked: ``erased_on``, the erased form) and may run every day or
be re-run for a date; each run appends one audit record per erased identity and one summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendcore.core.records import JsonRecord
from lendcore.origination.onboarding import F_CARD
from lendcore.privacy.deletion import ERASED_MARK, erase_now, open_matters, scrub_decisions
from lendcore.privacy.policy import DEFAULT_POLICY, RetentionPolicy, add_years
from lendcore.security.pii import PiiCipher
from lendcore.store.audit import record_audit
from lendcore.store.models import BankCard, Contract, CreditLine, Customer
from lendcore.store.models_origination import CreditApplication, CreditDecision
from lendcore.store.models_privacy import ProcessingRestriction

ACTOR = "retention-job"


@dataclass(frozen=True, slots=True)
class RetentionReport(JsonRecord):
    on: date
    identities_erased: tuple[str, ...]  # customer ids
    applications_erased: tuple[str, ...]
    relationships_ended: tuple[str, ...] = ()  # customers restricted by this run (they never asked)


def run_retention(
    session: Session, on: date, cipher: PiiCipher, *, at: datetime, policy: RetentionPolicy = DEFAULT_POLICY
) -> RetentionReport:
    """Erase what is past its period on ``on`` (see the module docstring); idempotent."""
    ended = _restrict_ended_relationships(session, on, policy)
    identities = _erase_identities(session, on, cipher, at)
    applications = _erase_applications(session, add_years(on, -policy.declined_application_years))
    record_audit(
        session,
        actor=ACTOR,
        action="privacy.retention",
        target_type="retention",
        target_id=on.isoformat(),
        details={
            "identities_erased": len(identities),
            "relationships_ended": len(ended),
            "applications_erased": len(applications),
            "identity_years": policy.identity_years,
            "declined_application_years": policy.declined_application_years,
        },
        at=at,
    )
    return RetentionReport(on, identities, applications, ended)


def _restrict_ended_relationships(session: Session, on: date, policy: RetentionPolicy) -> tuple[str, ...]:
    """Customers who never asked for deletion but whose relationship ended more than the identity
    period ago (every line closed, nothing open: the latest of the lines' and contracts' closing days):
    restricted now, with ``keep_until`` that day plus the period, so :func:`_erase_identities` erases
    them in the same run."""
    lines = session.execute(
        select(
            CreditLine.customer_id,
            func.count(),
            func.count(CreditLine.closed_on),
            func.max(CreditLine.closed_on),
        )
        .where(CreditLine.customer_id.not_in(select(ProcessingRestriction.customer_id)))
        .group_by(CreditLine.customer_id)
    ).all()
    restricted = []
    for customer_id, count, closed, last_closed in lines:
        if count != closed or last_closed is None or open_matters(session, customer_id):
            continue
        contracts_closed = session.scalar(
            select(func.max(Contract.closed_on)).where(Contract.customer_id == customer_id)
        )
        ended = max(d for d in (last_closed, contracts_closed) if d is not None)
        keep_until = policy.identity_kept_until(ended)
        if keep_until > on:
            continue
        customer = session.get(Customer, customer_id)
        assert customer is not None  # foreign key
        erase_now(session, customer)
        session.add(
            ProcessingRestriction(
                customer_id=customer_id,
                restricted_on=on,
                reason=f"retention period ended: relationship ended {ended.isoformat()}",
                keep_until=keep_until,
            )
        )
        restricted.append(customer_id)
    session.flush()
    return tuple(restricted)


def _erase_identities(session: Session, on: date, cipher: PiiCipher, at: datetime) -> tuple[str, ...]:
    due = session.scalars(
        select(ProcessingRestriction)
        .where(ProcessingRestriction.keep_until <= on, ProcessingRestriction.erased_on.is_(None))
        .order_by(ProcessingRestriction.customer_id)
    ).all()
    for restriction in due:
        customer = session.get(Customer, restriction.customer_id)
        assert customer is not None  # foreign key
        customer.name_ciphertext = None
        customer.id_number_ciphertext = None
        customer.id_number_hash = None
        customer.phone_ciphertext = None
        customer.phone_hash = None
        customer.hash_key_id = None
        customer.birth_date = None
        for card in session.scalars(select(BankCard).where(BankCard.customer_id == customer.id)):
            # the columns are required: an empty number, and a hash that matches no card
            card.card_number_ciphertext = cipher.encrypt(F_CARD, "")
            card.card_number_hash = f"erased:{card.id}"[:64]
            card.hash_key_id = None
        restriction.erased_on = max(on, restriction.restricted_on)
        record_audit(
            session,
            actor=ACTOR,
            action="privacy.identity_erased",
            target_type="customer",
            target_id=customer.id,
            details={"keep_until": restriction.keep_until.isoformat()},
            at=at,
        )
    session.flush()
    return tuple(r.customer_id for r in due)


def _erase_applications(session: Session, applied_before: date) -> tuple[str, ...]:
    led_to_line = select(CreditDecision.application_id).where(CreditDecision.credit_line_id.is_not(None))
    rows = session.scalars(
        select(CreditApplication)
        .where(CreditApplication.applied_on < applied_before, CreditApplication.id.not_in(led_to_line))
        .order_by(CreditApplication.id)
    ).all()
    erased = [a for a in rows if a.form != ERASED_MARK]
    for application in erased:
        application.form = dict(ERASED_MARK)
        application.phone_hash = None
        application.id_number_hash = None
        application.device_id_hash = None
        application.hash_key_id = None
        application.device_hash_key_id = None
    scrub_decisions(session, [a.id for a in erased])
    session.flush()
    return tuple(a.id for a in erased)
