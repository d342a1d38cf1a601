"""What settles every open contract of a customer on a date (一次性结清 quote), exact to the fen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from lendcore.core.allocation import payoff_quote as contract_payoff_quote
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.servicing.customers import check_customer, open_contracts
from lendcore.servicing.repository import state_as_of


@dataclass(frozen=True, slots=True)
class ContractPayoff(JsonRecord):
    contract_id: str
    product_code: str
    principal: Fen
    interest: Fen
    penalty: Fen
    fee: Fen
    prepayment_fee: Fen
    total: Fen


@dataclass(frozen=True, slots=True)
class PayoffQuote(JsonRecord):
    customer_id: str
    on: date
    contracts: tuple[ContractPayoff, ...]
    total: Fen


def payoff_quote(session: Session, customer_id: str, on: date) -> PayoffQuote:
    """Paying ``total`` on ``on`` in ``pay-off-all`` mode leaves every contract closed."""
    check_customer(session, customer_id)
    quotes = []
    for c in open_contracts(session, customer_id, lock=False):
        if c.start_date > on:
            continue
        q = contract_payoff_quote(state_as_of(session, c, on), on)
        quotes.append(
            ContractPayoff(
                c.id, c.product_code, q.principal, q.interest, q.penalty, q.fee, q.prepayment_fee, q.total
            )
        )
    return PayoffQuote(customer_id, on, tuple(quotes), sum(q.total for q in quotes))
