"""Processing restricted to storage (PIPL Art. 47): the one check every processing path makes.

When a customer's deletion request is accepted while the law still requires their records to be kept
(identity and transaction records, 10 years under the anti-money-laundering rules), lendcore keeps the
records and stops every processing of them other than storing them and what the law itself requires:
a ``processing_restrictions`` row (:mod:`lendcore.privacy.deletion` writes it). Each path that would
process the customer's data for a new purpose asks :func:`require_processing_allowed` first and is
refused with ``PROCESSING_RESTRICTED``, nothing written: a new credit application, a drawdown, and
any marketing message. Messages the law or the contract requires (payment outcomes, a bureau notice,
a retention erasure) are not marketing and are not refused.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy.orm import Session

from lendcore.core.errors import BusinessRuleError
from lendcore.store.models_privacy import ProcessingRestriction


class Processing(StrEnum):
    """What a path would do with the customer's data (named in the refusal)."""

    APPLICATION = "credit application"
    DRAWDOWN = "drawdown"
    MARKETING = "marketing message"


def restriction_of(session: Session, customer_id: str) -> ProcessingRestriction | None:
    return session.get(ProcessingRestriction, customer_id)


def is_restricted(session: Session, customer_id: str) -> bool:
    return restriction_of(session, customer_id) is not None


def require_processing_allowed(session: Session, customer_id: str, what: Processing) -> None:
    """``PROCESSING_RESTRICTED`` if the customer's processing is limited to storage."""
    row = restriction_of(session, customer_id)
    if row is not None:
        raise BusinessRuleError(
            f"customer {customer_id} asked for deletion on {row.restricted_on.isoformat()}: their data is "
            f"kept only as the law requires and not processed for a {what.value}",
            code="PROCESSING_RESTRICTED",
            customer_id=customer_id,
            restricted_on=row.restricted_on.isoformat(),
            processing=what.value,
        )


def restricted_on(session: Session, customer_id: str) -> date | None:
    row = restriction_of(session, customer_id)
    return None if row is None else row.restricted_on
