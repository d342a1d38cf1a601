"""A customer with personal data, a line and (optionally) a contract, for the privacy tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.allocation import CustomerMode
from lendcore.store.engine import unit_of_work
from tests.origination.helpers import register
from tests.servicing.support import D0, do_draw, do_repay, open_line

AT = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
NAME = "欧阳娜娜"


def customer_with_line(factory: sessionmaker[Session]) -> tuple[str, str]:
    with unit_of_work(factory) as session:
        customer_id = register(session, name=NAME).id
    _, line_id = open_line(factory, limit=2_000_000, customer_id=customer_id)
    return customer_id, line_id


def customer_with_contract(factory: sessionmaker[Session], *, settled: bool = False) -> tuple[str, str]:
    customer_id, line_id = customer_with_line(factory)
    contract_id = do_draw(factory, line_id, 500_000, 3)["contract_id"]
    if settled:
        do_repay(factory, customer_id, None, D0, CustomerMode.PAY_OFF_ALL)
    return customer_id, contract_id


def registered(factory: sessionmaker[Session]) -> str:
    with unit_of_work(factory) as session:
        return register(session, name=NAME).id
