"""Funding partners: shares at drawdown (consent, lender's minimum, concentration), each partner's
ledger kept equal to its share of the general ledger through repayments, the daily statement."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.allocation import CustomerMode
from lendcore.core.consent import ConsentKind
from lendcore.core.errors import BusinessRuleError, LendcoreError
from lendcore.core.funding import SETTLEMENT, Share
from lendcore.origination.drawdown_check import drawdown_gate
from lendcore.origination.onboarding import (
    ConsentGrantRequest,
    ConsentRevocation,
    grant_consent,
    revoke_consent,
)
from lendcore.servicing.draw import DrawRequest, draw
from lendcore.servicing.invariants import check_invariants
from lendcore.servicing.partner_checks import partner_ledger_mismatches, unsynced_entries
from lendcore.servicing.partner_statement import partner_statement
from lendcore.servicing.partners import (
    partner_exposure,
    register_partner,
    sync_partner_ledgers,
)
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Posting
from lendcore.store.models_privacy import ContractFunding, PartnerPosting
from tests.servicing.support import (
    D0,
    RELAXED,
    assert_invariants,
    do_repay,
    key,
    new_customer,
    open_line,
    snapshot,
)

AT = datetime(2026, 2, 1, tzinfo=UTC)


def do_draw(
    factory: sessionmaker[Session],
    line: str,
    amount: int,
    term: int,
    on: date = D0,
    *,
    funding: tuple[Share, ...],
) -> dict[str, Any]:
    request = DrawRequest(line, amount, term, on, key("draw"), funding=funding)
    with unit_of_work(factory) as session:
        return draw(session, request, gate=drawdown_gate(RELAXED)).to_json()


def _partner(factory: sessionmaker[Session], name: str = "Bank A", limit: int = 10_000_000) -> str:
    with unit_of_work(factory) as session:
        return register_partner(session, name=name, concentration_limit=limit, actor="ops", at=AT).id


def _customer_line(factory: sessionmaker[Session], *consented: str) -> tuple[str, str]:
    with unit_of_work(factory) as session:
        customer = new_customer(session)
        for scope in consented:
            grant_consent(
                session,
                ConsentGrantRequest(customer, ConsentKind.FUNDING_PARTNER_SHARING, "1.0", scope),
                at=AT,
            )
    return open_line(factory, limit=5_000_000, customer_id=customer)


def _partner_totals(factory: sessionmaker[Session], partner: str) -> dict[tuple[str, str], int]:
    with unit_of_work(factory, read_only=True) as session:
        rows = session.execute(
            select(
                PartnerPosting.account_code, func.sum(PartnerPosting.debit), func.sum(PartnerPosting.credit)
            )
            .where(PartnerPosting.partner_id == partner)
            .group_by(PartnerPosting.account_code)
        ).all()
    return {(code, "dr"): int(d) for code, d, _ in rows} | {(code, "cr"): int(c) for code, _, c in rows}


def test_a_consented_partner_funds_its_share_on_its_own_accounts(
    session_factory: sessionmaker[Session],
) -> None:
    partner = _partner(session_factory)
    _, line = _customer_line(session_factory, partner)
    drawn = do_draw(session_factory, line, 1_000_001, 3, funding=(Share(partner, 4_000),))
    assert drawn["funding"] == [{"partner_id": partner, "share_bp": 4_000}]
    totals = _partner_totals(session_factory, partner)
    assert totals[("1303.01", "dr")] == 400_000  # floor(40 % of 1,000,001): the lender keeps the fen
    assert totals[(SETTLEMENT, "cr")] == 400_000
    with unit_of_work(session_factory, read_only=True) as session:
        assert partner_exposure(session, partner) == 400_000
    assert assert_invariants(session_factory).partner_mismatches == ()


def test_without_the_separate_consent_the_contract_is_all_the_lenders(
    session_factory: sessionmaker[Session],
) -> None:
    partner = _partner(session_factory)
    _, line = _customer_line(session_factory)  # no funding_partner_sharing consent
    drawn = do_draw(session_factory, line, 1_000_000, 3, funding=(Share(partner, 4_000),))
    assert drawn["status"] == "disbursed" and drawn["funding"] == []
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(ContractFunding)) == 0
        assert session.scalar(select(func.count()).select_from(PartnerPosting)) == 0


def test_a_consent_scoped_to_another_partner_does_not_count(session_factory: sessionmaker[Session]) -> None:
    a, b = _partner(session_factory, "Bank A"), _partner(session_factory, "Bank B")
    _, line = _customer_line(session_factory, b)
    drawn = do_draw(session_factory, line, 1_000_000, 3, funding=(Share(a, 3_000), Share(b, 3_000)))
    assert drawn["funding"] == [{"partner_id": b, "share_bp": 3_000}]


@pytest.mark.parametrize(
    ("shares", "code"),
    [
        ((("A", 7_001),), "LENDER_SHARE_TOO_LOW"),
        ((("A", 4_000), ("B", 3_001)), "LENDER_SHARE_TOO_LOW"),
        ((("A", 0),), "FUNDING_SHARES_INVALID"),
        ((("A", 1_000), ("A", 1_000)), "FUNDING_SHARES_INVALID"),
        ((("nope", 1_000),), "PARTNER_NOT_FOUND"),
    ],
)
def test_bad_funding_is_refused_and_nothing_is_written(
    session_factory: sessionmaker[Session], shares: tuple[tuple[str, int], ...], code: str
) -> None:
    ids = {
        "A": _partner(session_factory, "Bank A"),
        "B": _partner(session_factory, "Bank B"),
        "nope": "fp_nope",
    }
    _, line = _customer_line(session_factory, "")
    before = snapshot(session_factory)
    with pytest.raises(LendcoreError) as error:
        do_draw(session_factory, line, 1_000_000, 3, funding=tuple(Share(ids[p], bp) for p, bp in shares))
    assert error.value.code == code
    assert snapshot(session_factory) == before


def test_the_lenders_minimum_share_is_configuration(session_factory: sessionmaker[Session]) -> None:
    partner = _partner(session_factory)
    _, line = _customer_line(session_factory, "")
    request = DrawRequest(line, 1_000_000, 3, D0, key("draw"), funding=(Share(partner, 6_000),))
    with unit_of_work(session_factory) as session, pytest.raises(BusinessRuleError) as error:
        draw(session, request, gate=drawdown_gate(RELAXED), lender_min_share_bp=5_000)
    assert error.value.code == "LENDER_SHARE_TOO_LOW"
    with unit_of_work(session_factory) as session:
        drawn = draw(session, request, gate=drawdown_gate(RELAXED), lender_min_share_bp=4_000)
    assert drawn.funding == (Share(partner, 6_000),)


def test_the_concentration_limit_is_checked_at_drawdown(session_factory: sessionmaker[Session]) -> None:
    partner = _partner(session_factory, limit=500_000)
    _, line = _customer_line(session_factory, "")
    do_draw(session_factory, line, 1_000_000, 3, funding=(Share(partner, 3_000),))  # 300,000 funded
    before = snapshot(session_factory)
    with pytest.raises(BusinessRuleError) as error:
        do_draw(session_factory, line, 700_000, 3, funding=(Share(partner, 3_000),))  # +210,000 > 500,000
    assert error.value.code == "PARTNER_CONCENTRATION_EXCEEDED"
    assert error.value.details["exposure"] == 300_000
    assert snapshot(session_factory) == before
    do_draw(
        session_factory, line, 600_000, 3, funding=(Share(partner, 3_000),)
    )  # +180,000: exactly the limit


def test_repayments_split_to_the_fen_and_a_settled_contract_leaves_the_partner_nothing_out(
    session_factory: sessionmaker[Session],
) -> None:
    a, b = _partner(session_factory, "Bank A"), _partner(session_factory, "Bank B")
    customer, line = _customer_line(session_factory, "")
    do_draw(session_factory, line, 1_000_003, 6, funding=(Share(a, 3_333), Share(b, 2_500)))
    for amount in (100_001, 7, 33_333):
        do_repay(session_factory, customer, amount, D0)
    with unit_of_work(session_factory) as session:
        assert sync_partner_ledgers(session) > 0
        assert unsynced_entries(session) == 0 and partner_ledger_mismatches(session) == ()
    do_repay(session_factory, customer, None, D0, CustomerMode.PAY_OFF_ALL)
    with unit_of_work(session_factory) as session:
        sync_partner_ledgers(session)
        statement = partner_statement(session, a, D0)
        gl_principal_repaid = session.scalar(
            select(func.sum(Posting.credit)).where(Posting.account_code == "1303.01")
        )
    (line_a,) = statement.contracts
    assert line_a.principal_outstanding == 0
    principal = next(x for x in statement.accounts if x.account == "1303.01")
    assert (principal.closing, principal.credits) == (0, (1_000_003 * 3_333) // 10_000)
    assert gl_principal_repaid == 1_000_003
    assert assert_invariants(session_factory).partner_mismatches == ()


def test_the_statement_names_the_customer_only_while_the_consent_holds(
    session_factory: sessionmaker[Session],
) -> None:
    partner = _partner(session_factory)
    customer, line = _customer_line(session_factory, partner)
    do_draw(session_factory, line, 1_000_000, 3, funding=(Share(partner, 5_000),))
    with unit_of_work(session_factory) as session:
        assert partner_statement(session, partner, D0).contracts[0].customer_id == customer
        revoke_consent(
            session, ConsentRevocation(customer, ConsentKind.FUNDING_PARTNER_SHARING), at=AT.replace(month=3)
        )
    with unit_of_work(session_factory) as session:
        shown = partner_statement(session, partner, date(2026, 3, 2))
    assert shown.contracts[0].customer_id is None and shown.contracts[0].principal_outstanding == 500_000
    # revoked: the next drawdown is the lender's alone
    assert (
        do_draw(session_factory, line, 100_000, 3, date(2026, 3, 2), funding=(Share(partner, 5_000),))[
            "funding"
        ]
        == []
    )


def test_a_tampered_partner_posting_is_reported_by_the_invariant_check(
    session_factory: sessionmaker[Session],
) -> None:
    partner = _partner(session_factory)
    _, line = _customer_line(session_factory, "")
    do_draw(session_factory, line, 1_000_000, 3, funding=(Share(partner, 5_000),))
    with unit_of_work(session_factory) as session:
        row = session.scalars(select(PartnerPosting).where(PartnerPosting.account_code == "1303.01")).one()
        row.debit += 1
    with unit_of_work(session_factory, read_only=True) as session:
        report = check_invariants(session)
    assert not report.ok and report.partner_mismatches


def test_parallel_drawdowns_never_push_a_partner_over_its_limit(postgres_database_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from lendcore.store.engine import create_engine, create_session_factory

    n = 8
    engine = create_engine(postgres_database_url, pool_size=n + 2)
    factory = create_session_factory(engine)
    try:
        partner = _partner(factory, limit=450_000)
        lines = [
            _customer_line(factory, "")[1] for _ in range(n)
        ]  # one line each: only the partner is shared

        def one(i: int) -> str:
            try:
                return str(do_draw(factory, lines[i], 300_000, 3, funding=(Share(partner, 5_000),))["status"])
            except LendcoreError as error:
                return error.code

        with ThreadPoolExecutor(n) as pool:
            outcomes = list(pool.map(one, range(n)))
        assert sorted(outcomes) == ["PARTNER_CONCENTRATION_EXCEEDED"] * 5 + ["disbursed"] * 3
        with unit_of_work(factory, read_only=True) as session:
            assert partner_exposure(session, partner) == 450_000
        assert_invariants(factory)
    finally:
        engine.dispose()


def test_the_daily_close_books_the_partners_ledgers_and_checks_them(
    session_factory: sessionmaker[Session],
) -> None:
    from datetime import timedelta

    from lendcore.batch.close import run_daily_close

    partner = _partner(session_factory)
    customer, line = _customer_line(session_factory, "")
    do_draw(session_factory, line, 1_000_000, 3, funding=(Share(partner, 5_000),))
    do_repay(session_factory, customer, 50_000, D0)  # booked outside the close: the mirror lags
    with unit_of_work(session_factory, read_only=True) as session:
        assert unsynced_entries(session) == 1
        assert check_invariants(session).partner_mismatches == ()  # a lag is not a fault
    for day in range(1, 4):
        report = run_daily_close(session_factory, D0 + timedelta(days=day))
        assert report.invariants["partner_mismatches"] == []
    with unit_of_work(session_factory, read_only=True) as session:
        assert unsynced_entries(session) == 0
    interest = _partner_totals(session_factory, partner).get(("6011.01", "cr"), 0)
    assert interest > 0  # the partner earns its share of the interest accrued by the close
