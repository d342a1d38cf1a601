"""No use case stores an amount above the cap (MAX_AMOUNT), whoever calls it: the CLI parses yuan
within the cap, and a library caller handing fen straight to a use case is refused the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import ValidationError
from lendcore.core.loan import WaiverKind
from lendcore.core.money import MAX_AMOUNT
from lendcore.servicing.drawdown_quote import quote_drawdown
from lendcore.servicing.waive import WaiveRequest, waive
from lendcore.servicing.writeoff import RecoverRequest, recover
from lendcore.store.engine import unit_of_work
from tests.servicing.support import D0, do_draw, do_repay, key, open_line, snapshot

#: The largest value a BIGINT column holds: the amount that made `ledger trial-balance` overflow.
BIGINT_MAX = 2**63 - 1


def _world(factory: sessionmaker[Session]) -> tuple[str, str, str]:
    cid, line = open_line(factory)
    contract_id = do_draw(factory, line, 100_000, 3)["contract_id"]
    return cid, line, contract_id


def _use_cases(
    cid: str, line: str, contract_id: str
) -> dict[str, Callable[[sessionmaker[Session], int], Any]]:
    def waive_it(factory: sessionmaker[Session], amount: int) -> Any:
        with unit_of_work(factory) as session:
            return waive(
                session,
                WaiveRequest(
                    contract_id=contract_id,
                    kind=WaiverKind.INTEREST,
                    reason="r",
                    actor="a",
                    business_date=D0,
                    idempotency_key=key("w"),
                    amount=amount,
                ),
            )

    def recover_it(factory: sessionmaker[Session], amount: int) -> Any:
        with unit_of_work(factory) as session:
            return recover(
                session,
                RecoverRequest(
                    contract_id=contract_id, amount=amount, business_date=D0, idempotency_key=key("rc")
                ),
            ).to_json()

    return {
        "repay": lambda f, amount: do_repay(f, cid, amount, D0),
        "draw": lambda f, amount: do_draw(f, line, amount, 3),
        "waive": waive_it,
        "recover": recover_it,
    }


@pytest.mark.parametrize("amount", [MAX_AMOUNT + 1, BIGINT_MAX, BIGINT_MAX + 1, 10**30])
def test_every_use_case_taking_fen_refuses_an_amount_above_the_cap_and_writes_nothing(
    session_factory: sessionmaker[Session], amount: int
) -> None:
    world = _world(session_factory)
    before = snapshot(session_factory)
    for name, use_case in _use_cases(*world).items():
        with pytest.raises(ValidationError) as caught:
            use_case(session_factory, amount)
        assert caught.value.code == "AMOUNT_TOO_LARGE", name
    assert snapshot(session_factory) == before


@settings(max_examples=40)
@given(st.integers(MAX_AMOUNT + 1, 10**40))
def test_a_drawdown_quote_refuses_any_amount_above_the_cap(amount: int) -> None:
    with pytest.raises(ValidationError) as caught:
        quote_drawdown("quick", amount=amount, term=3, grade="C", start=D0)
    assert caught.value.code == "AMOUNT_TOO_LARGE"
