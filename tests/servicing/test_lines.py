"""Credit-line use cases: open, change limit, freeze/unfreeze, close; validated, audited, recorded."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import BusinessRuleError, LendcoreError, NotFoundError, ValidationError
from lendcore.servicing.lines import (
    available_limit,
    change_limit,
    close_line,
    freeze_line,
    open_credit_line,
    unfreeze_line,
)
from lendcore.store.audit import audit_trail
from lendcore.store.engine import unit_of_work
from lendcore.store.models import CreditLine
from lendcore.store.models_origination import LimitChange
from tests.store.builders import add_contract, add_customer

D = date(2025, 3, 14)


def _open(session: Session, limit: int = 10_000_00) -> CreditLine:
    customer = add_customer(session)
    return open_credit_line(
        session,
        customer_id=customer.id,
        product_code="quick",
        credit_limit=limit,
        pricing_grade="B",
        business_date=D,
        actor="staff-1",
    )


def _code(exc: pytest.ExceptionInfo[LendcoreError]) -> str:
    return exc.value.code


def test_lifecycle_is_recorded_and_audited(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        line = _open(session)
        add_contract(session, line, principal=3_000_00, outstanding_principal=3_000_00)
        add_contract(session, line, principal=1_000_00, outstanding_principal=0, status="closed")
        assert available_limit(session, line.id) == 7_000_00
        change_limit(session, line.id, new_limit=12_000_00, reason_code="MANUAL", business_date=D, actor="s")
        assert available_limit(session, line.id) == 9_000_00
        freeze_line(session, line.id, reason_code="FRAUD_CHECK", business_date=D, actor="s")
        assert available_limit(session, line.id) == 0
        unfreeze_line(session, line.id, reason_code="CLEARED", business_date=D, actor="s")
        line_id = line.id
    with unit_of_work(session_factory, read_only=True) as session:
        rows = session.scalars(
            select(LimitChange).where(LimitChange.credit_line_id == line_id).order_by(LimitChange.id)
        ).all()
        assert [(r.reason_code, r.old_limit, r.new_limit, r.old_status, r.new_status) for r in rows] == [
            ("LINE_OPENED", 0, 10_000_00, "active", "active"),
            ("MANUAL", 10_000_00, 12_000_00, "active", "active"),
            ("FRAUD_CHECK", 12_000_00, 12_000_00, "active", "frozen"),
            ("CLEARED", 12_000_00, 12_000_00, "frozen", "active"),
        ]
        assert [a.action for a in audit_trail(session, "credit_line", line_id)] == [
            "credit_line.line_opened",
            "credit_line.manual",
            "credit_line.fraud_check",
            "credit_line.cleared",
        ]


def test_validation_and_state_errors(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        line = _open(session)
        add_contract(session, line, principal=3_000_00, outstanding_principal=3_000_00)
        customer_id = line.customer_id
        cases = [
            (lambda: _open(session, limit=100_00), ValidationError, "LIMIT_OUT_OF_RANGE"),
            (lambda: _open(session, limit=60_000_00), ValidationError, "LIMIT_OUT_OF_RANGE"),
            (
                lambda: open_credit_line(
                    session,
                    customer_id=customer_id,
                    product_code="quick",
                    credit_limit=1_000_00,
                    pricing_grade="B",
                    business_date=D,
                    actor="s",
                ),
                BusinessRuleError,
                "LINE_ALREADY_OPEN",
            ),
            (
                lambda: open_credit_line(
                    session,
                    customer_id=customer_id,
                    product_code="quick",
                    credit_limit=1_000_00,
                    pricing_grade="Z",
                    business_date=D,
                    actor="s",
                ),
                ValidationError,
                "UNKNOWN_GRADE",
            ),
            (
                lambda: open_credit_line(
                    session,
                    customer_id="cus_missing",
                    product_code="quick",
                    credit_limit=1_000_00,
                    pricing_grade="B",
                    business_date=D,
                    actor="s",
                ),
                NotFoundError,
                "CUSTOMER_NOT_FOUND",
            ),
            (
                lambda: open_credit_line(
                    session,
                    customer_id=customer_id,
                    product_code="nope",
                    credit_limit=1_000_00,
                    pricing_grade="B",
                    business_date=D,
                    actor="s",
                ),
                NotFoundError,
                "UNKNOWN_PRODUCT",
            ),
            (
                lambda: change_limit(
                    session, line.id, new_limit=2_000_00, reason_code="X", business_date=D, actor="s"
                ),
                BusinessRuleError,
                "LIMIT_BELOW_OUTSTANDING",
            ),
            (
                lambda: change_limit(
                    session, line.id, new_limit=5_000_00, reason_code="", business_date=D, actor="s"
                ),
                ValidationError,
                "REASON_REQUIRED",
            ),
            (
                lambda: change_limit(
                    session, line.id, new_limit=5_000_00, reason_code="X", business_date=D, actor=""
                ),
                ValidationError,
                "ACTOR_REQUIRED",
            ),
            (
                lambda: unfreeze_line(session, line.id, reason_code="X", business_date=D, actor="s"),
                BusinessRuleError,
                "LINE_NOT_FROZEN",
            ),
            (
                lambda: close_line(session, line.id, reason_code="X", business_date=D, actor="s"),
                BusinessRuleError,
                "LINE_HAS_OUTSTANDING",
            ),
            (
                lambda: freeze_line(session, "cl_missing", reason_code="X", business_date=D, actor="s"),
                NotFoundError,
                "LINE_NOT_FOUND",
            ),
        ]
        for fn, kind, code in cases:
            with pytest.raises(kind) as info:
                fn()
            assert _code(info) == code  # type: ignore[arg-type]
        # lowering to exactly the outstanding principal is allowed even below the product minimum
        change_limit(
            session, line.id, new_limit=3_000_00, reason_code="OVERDUE_LOWER", business_date=D, actor="s"
        )
        assert available_limit(session, line.id) == 0
        freeze_line(session, line.id, reason_code="X", business_date=D, actor="s")
        with pytest.raises(BusinessRuleError) as again:
            freeze_line(session, line.id, reason_code="X", business_date=D, actor="s")
        assert again.value.code == "LINE_ALREADY_FROZEN"


def test_close_line(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        line = _open(session)
        close_line(session, line.id, reason_code="CUSTOMER_REQUEST", business_date=D, actor="s")
        assert line.status == "closed" and line.credit_limit == 0 and line.closed_on == D
        with pytest.raises(BusinessRuleError) as info:
            change_limit(session, line.id, new_limit=1_000_00, reason_code="X", business_date=D, actor="s")
        assert info.value.code == "LINE_CLOSED"
        # a closed line does not block opening a new one
        again = open_credit_line(
            session,
            customer_id=line.customer_id,
            product_code="quick",
            credit_limit=1_000_00,
            pricing_grade="B",
            business_date=D,
            actor="s",
        )
        assert again.status == "active"
