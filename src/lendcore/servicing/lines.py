"""Credit lines (授信额度): open, change the limit, freeze, unfreeze, close.

Each function runs inside the caller's unit of work, validates its input (stable error codes), locks
the line (:func:`~lendcore.store.engine.lock_for_update`), writes one ``limit_changes`` row where the
limit or the status changes, and appends an audit record. Nothing here commits.

Available limit (DESIGN.md invariant 3) is computed once, in :mod:`lendcore.core.credit_line`:
credit limit − outstanding principal of the line's open contracts − pending drawdowns, 0 unless the
line is active. :func:`line_usage` reads both from ``contracts`` in one query.

The pricing grade of a line (what new drawdowns are priced at) changes with
:func:`change_pricing_grade` (a staff override); contracts already drawn keep their own rate.

Error codes: ``INVALID_LIMIT``, ``LIMIT_OUT_OF_RANGE``, ``LIMIT_BELOW_OUTSTANDING``, ``UNKNOWN_PRODUCT``
(from the catalog), ``UNKNOWN_GRADE``, ``CUSTOMER_NOT_FOUND``, ``CUSTOMER_NOT_ACTIVE``, ``LINE_NOT_FOUND``,
``LINE_CLOSED``, ``LINE_ALREADY_FROZEN``, ``LINE_NOT_FROZEN``, ``LINE_HAS_OUTSTANDING``,
``LINE_ALREADY_OPEN``, ``REASON_REQUIRED``, ``ACTOR_REQUIRED``, ``DATE_BEFORE_LINE_OPENED`` (a change,
freeze, unfreeze or close dated before the line was opened).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Final

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from lendcore.core.credit_line import LineUsage
from lendcore.core.credit_line import available_limit as core_available_limit
from lendcore.core.errors import BusinessRuleError, NotFoundError, ValidationError
from lendcore.core.money import Fen
from lendcore.products.catalog import Catalog, default_catalog
from lendcore.store.audit import record_audit
from lendcore.store.engine import for_update
from lendcore.store.models import Contract, CreditLine, Customer
from lendcore.store.models_origination import LimitChange

#: Limits a line may hold unless the caller says otherwise (PRODUCT.md: 500–50,000 yuan by default).
MIN_LINE_LIMIT: Final = 500_00
MAX_LINE_LIMIT: Final = 50_000_00
#: Contract statuses whose principal still uses the line.
OPEN_CONTRACT_STATUSES: Final = ("pending", "active", "written-off")

# reason codes written to limit_changes
LINE_OPENED: Final = "LINE_OPENED"


def _check_actor(actor: str) -> None:
    if not actor or not actor.strip():
        raise ValidationError("an actor is required", code="ACTOR_REQUIRED")


def _check_reason(reason_code: str) -> None:
    if not reason_code or not reason_code.strip() or len(reason_code) > 48:
        raise ValidationError("a reason code (1-48 characters) is required", code="REASON_REQUIRED")


def _check_limit(limit: Fen, *, minimum: Fen, maximum: Fen, allow_zero: bool = False) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ValidationError("a credit limit is a non-negative amount in fen", code="INVALID_LIMIT")
    if limit == 0 and allow_zero:
        return
    if not minimum <= limit <= maximum:
        raise ValidationError(
            f"credit limit must be within {minimum // 100}-{maximum // 100} yuan",
            code="LIMIT_OUT_OF_RANGE",
            minimum=minimum,
            maximum=maximum,
        )


def _lock_line(session: Session, line_id: str, on: date | None = None) -> CreditLine:
    """The line under a row lock; with ``on``, refused if ``on`` is before the line was opened."""
    line = session.scalars(for_update(select(CreditLine).where(CreditLine.id == line_id))).one_or_none()
    if line is None:
        raise NotFoundError(f"credit line {line_id} not found", code="LINE_NOT_FOUND", line_id=line_id)
    if on is not None and on < line.opened_on:
        raise BusinessRuleError(
            f"{on} is before the line was opened ({line.opened_on})",
            code="DATE_BEFORE_LINE_OPENED",
            date=on.isoformat(),
            earliest=line.opened_on.isoformat(),
        )
    return line


def lock_line(session: Session, line_id: str) -> CreditLine:
    """The credit line under a row lock (``LINE_NOT_FOUND``); first in the documented lock order."""
    return _lock_line(session, line_id)


def outstanding_principal(session: Session, line_id: str) -> Fen:
    """Σ outstanding principal of the line's contracts that are not closed."""
    return line_usage(session, line_id).outstanding_principal


def line_usage(session: Session, line_id: str) -> LineUsage:
    """What the line is lending: outstanding principal of open contracts and pending drawdowns."""
    pending = Contract.status == "pending"
    outstanding, waiting = session.execute(
        select(
            func.coalesce(func.sum(case((pending, 0), else_=Contract.outstanding_principal)), 0),
            func.coalesce(func.sum(case((pending, Contract.principal), else_=0)), 0),
        ).where(Contract.credit_line_id == line_id, Contract.status.in_(OPEN_CONTRACT_STATUSES))
    ).one()
    return LineUsage(int(outstanding), int(waiting))


def line_available(session: Session, line: CreditLine) -> Fen:
    """The line's available limit (:func:`lendcore.core.credit_line.available_limit`)."""
    return core_available_limit(line.credit_limit, line.status, line_usage(session, line.id))


def available_limit(session: Session, line_id: str) -> Fen:
    """The available limit of ``line_id`` (``LINE_NOT_FOUND``); see :mod:`lendcore.core.credit_line`."""
    line = session.get(CreditLine, line_id)
    if line is None:
        raise NotFoundError(f"credit line {line_id} not found", code="LINE_NOT_FOUND", line_id=line_id)
    return line_available(session, line)


def _record_change(
    session: Session,
    line: CreditLine,
    *,
    old_limit: Fen,
    old_status: str,
    reason_code: str,
    business_date: date,
    actor: str,
    details: Mapping[str, Any] | None,
) -> LimitChange:
    change = LimitChange(
        credit_line_id=line.id,
        old_limit=old_limit,
        new_limit=line.credit_limit,
        old_status=old_status,
        new_status=line.status,
        reason_code=reason_code,
        business_date=business_date,
        actor=actor,
        details=dict(details or {}),
    )
    session.add(change)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action=f"credit_line.{reason_code.lower()}",
        target_type="credit_line",
        target_id=line.id,
        details={
            "old_limit": old_limit,
            "new_limit": line.credit_limit,
            "old_status": old_status,
            "new_status": line.status,
            "reason_code": reason_code,
            "business_date": business_date.isoformat(),
            **dict(details or {}),
        },
    )
    return change


def open_credit_line(
    session: Session,
    *,
    customer_id: str,
    product_code: str,
    credit_limit: Fen,
    pricing_grade: str,
    business_date: date,
    actor: str,
    reason_code: str = LINE_OPENED,
    details: Mapping[str, Any] | None = None,
    catalog: Catalog | None = None,
    min_limit: Fen = MIN_LINE_LIMIT,
    max_limit: Fen = MAX_LINE_LIMIT,
) -> CreditLine:
    """Open a line for an active customer. One open (active or frozen) line per customer and product:
    ``LINE_ALREADY_OPEN`` otherwise. The grade must be one the product prices (``UNKNOWN_GRADE``)."""
    _check_actor(actor)
    _check_reason(reason_code)
    _check_limit(credit_limit, minimum=min_limit, maximum=max_limit)
    check_grade(product_code, pricing_grade, catalog)
    customer = session.scalars(for_update(select(Customer).where(Customer.id == customer_id))).one_or_none()
    if customer is None:
        raise NotFoundError(f"customer {customer_id} not found", code="CUSTOMER_NOT_FOUND")
    if customer.status != "active":
        raise BusinessRuleError("the customer is not active", code="CUSTOMER_NOT_ACTIVE")
    existing = session.scalars(
        select(CreditLine.id).where(
            CreditLine.customer_id == customer_id,
            CreditLine.product_code == product_code,
            CreditLine.status.in_(("active", "frozen")),
        )
    ).first()
    if existing is not None:
        raise BusinessRuleError(
            "the customer already has an open line for this product",
            code="LINE_ALREADY_OPEN",
            line_id=existing,
        )
    line = CreditLine(
        customer_id=customer_id,
        product_code=product_code,
        credit_limit=credit_limit,
        pricing_grade=pricing_grade,
        status="active",
        opened_on=business_date,
    )
    session.add(line)
    session.flush()
    _record_change(
        session,
        line,
        old_limit=0,
        old_status="active",
        reason_code=reason_code,
        business_date=business_date,
        actor=actor,
        details={"product_code": product_code, "pricing_grade": pricing_grade, **dict(details or {})},
    )
    return line


def change_limit(
    session: Session,
    line_id: str,
    *,
    new_limit: Fen,
    reason_code: str,
    business_date: date,
    actor: str,
    details: Mapping[str, Any] | None = None,
    allow_below_outstanding: bool = False,
    min_limit: Fen = MIN_LINE_LIMIT,
    max_limit: Fen = MAX_LINE_LIMIT,
) -> LimitChange | None:
    """Set a line's limit. Not below the outstanding principal (``LIMIT_BELOW_OUTSTANDING``) unless
    ``allow_below_outstanding``; a limit equal to the outstanding principal may be below the product
    minimum (a lowered line). Returns None when the limit is already ``new_limit``."""
    _check_actor(actor)
    _check_reason(reason_code)
    line = _lock_line(session, line_id, business_date)
    if line.status == "closed":
        raise BusinessRuleError("the credit line is closed", code="LINE_CLOSED")
    outstanding = outstanding_principal(session, line_id)
    if new_limit == outstanding and isinstance(new_limit, int) and new_limit >= 0:
        pass  # lowering to what is owed is always allowed
    else:
        _check_limit(new_limit, minimum=min_limit, maximum=max_limit)
    if new_limit < outstanding and not allow_below_outstanding:
        raise BusinessRuleError(
            "the new limit is below the outstanding principal",
            code="LIMIT_BELOW_OUTSTANDING",
            outstanding=outstanding,
        )
    if new_limit == line.credit_limit:
        return None
    old_limit, old_status = line.credit_limit, line.status
    line.credit_limit = new_limit
    session.flush()
    return _record_change(
        session,
        line,
        old_limit=old_limit,
        old_status=old_status,
        reason_code=reason_code,
        business_date=business_date,
        actor=actor,
        details={"outstanding": outstanding, **dict(details or {})},
    )


def check_line_limit(limit: object, *, minimum: Fen = MIN_LINE_LIMIT, maximum: Fen = MAX_LINE_LIMIT) -> Fen:
    """``limit`` if it is a limit a line may hold (``INVALID_LIMIT``, ``LIMIT_OUT_OF_RANGE``)."""
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise ValidationError("a credit limit is a non-negative amount in fen", code="INVALID_LIMIT")
    _check_limit(limit, minimum=minimum, maximum=maximum)
    return limit


def check_grade(product_code: str, grade: str, catalog: Catalog | None = None) -> str:
    """``grade`` if the product prices it (``UNKNOWN_GRADE``, naming the product's grades)."""
    product = (catalog or default_catalog()).get(product_code)
    if grade not in product.pricing.grades:
        raise ValidationError(
            f"unknown risk grade {grade!r} for {product_code}; grades: {', '.join(product.pricing.grades)}",
            code="UNKNOWN_GRADE",
        )
    return grade


def change_pricing_grade(
    session: Session,
    line_id: str,
    *,
    grade: str,
    reason_code: str,
    business_date: date,
    actor: str,
    details: Mapping[str, Any] | None = None,
    catalog: Catalog | None = None,
) -> LimitChange | None:
    """Set the pricing grade new drawdowns on the line are priced at (contracts already drawn keep
    their rate). ``UNKNOWN_GRADE``, ``LINE_CLOSED``; None when the grade is already ``grade``."""
    _check_actor(actor)
    _check_reason(reason_code)
    line = _lock_line(session, line_id)
    if line.status == "closed":
        raise BusinessRuleError("the credit line is closed", code="LINE_CLOSED")
    check_grade(line.product_code, grade, catalog)
    if line.pricing_grade == grade:
        return None
    old_grade = line.pricing_grade
    line.pricing_grade = grade
    session.flush()
    return _record_change(
        session,
        line,
        old_limit=line.credit_limit,
        old_status=line.status,
        reason_code=reason_code,
        business_date=business_date,
        actor=actor,
        details={"old_grade": old_grade, "new_grade": grade, **dict(details or {})},
    )


def _transition(
    session: Session,
    line_id: str,
    *,
    source: str,
    target: str,
    refusal: tuple[str, str],
    reason_code: str,
    business_date: date,
    actor: str,
    details: Mapping[str, Any] | None,
) -> LimitChange:
    """Move a line from ``source`` to ``target`` status; ``refusal`` is the (code, message) when it is
    not in ``source``. A closed line never moves (``LINE_CLOSED``)."""
    _check_actor(actor)
    _check_reason(reason_code)
    line = _lock_line(session, line_id, business_date)
    if line.status == "closed":
        raise BusinessRuleError("the credit line is closed", code="LINE_CLOSED")
    if line.status != source:
        code, message = refusal
        raise BusinessRuleError(message, code=code)
    line.status = target
    session.flush()
    return _record_change(
        session,
        line,
        old_limit=line.credit_limit,
        old_status=source,
        reason_code=reason_code,
        business_date=business_date,
        actor=actor,
        details=details,
    )


def freeze_line(
    session: Session,
    line_id: str,
    *,
    reason_code: str,
    business_date: date,
    actor: str,
    details: Mapping[str, Any] | None = None,
) -> LimitChange:
    """Freeze an active line (no new drawdowns; repayments continue). ``LINE_ALREADY_FROZEN``."""
    return _transition(
        session,
        line_id,
        source="active",
        target="frozen",
        refusal=("LINE_ALREADY_FROZEN", "the credit line is already frozen"),
        reason_code=reason_code,
        business_date=business_date,
        actor=actor,
        details=details,
    )


def unfreeze_line(
    session: Session,
    line_id: str,
    *,
    reason_code: str,
    business_date: date,
    actor: str,
    details: Mapping[str, Any] | None = None,
) -> LimitChange:
    """Unfreeze a frozen line. ``LINE_NOT_FROZEN``."""
    return _transition(
        session,
        line_id,
        source="frozen",
        target="active",
        refusal=("LINE_NOT_FROZEN", "the credit line is not frozen"),
        reason_code=reason_code,
        business_date=business_date,
        actor=actor,
        details=details,
    )


def close_line(
    session: Session,
    line_id: str,
    *,
    reason_code: str,
    business_date: date,
    actor: str,
    details: Mapping[str, Any] | None = None,
) -> LimitChange:
    """Close a line with nothing outstanding (``LINE_HAS_OUTSTANDING``); the limit goes to 0."""
    _check_actor(actor)
    _check_reason(reason_code)
    line = _lock_line(session, line_id, business_date)
    if line.status == "closed":
        raise BusinessRuleError("the credit line is already closed", code="LINE_CLOSED")
    outstanding = outstanding_principal(session, line_id)
    if outstanding > 0:
        raise BusinessRuleError(
            "the line still has outstanding principal", code="LINE_HAS_OUTSTANDING", outstanding=outstanding
        )
    old_limit, old_status = line.credit_limit, line.status
    line.status = "closed"
    line.credit_limit = 0
    line.closed_on = business_date
    session.flush()
    return _record_change(
        session,
        line,
        old_limit=old_limit,
        old_status=old_status,
        reason_code=reason_code,
        business_date=business_date,
        actor=actor,
        details=details,
    )
