"""The story ``lendcore demo`` tells: customers apply, borrow, repay early, go overdue and are cured.

Everything goes through the real use cases: onboarding with encrypted PII, the instant decision with
the shipped scorecard and strategy tables, drawdowns, repayments and the end-of-day close, exactly as
in production. The business dates are fixed (2026), so the output is the same on every run, and they
follow the business-date rules (:mod:`lendcore.servicing.business_day`): the first application
establishes the business date, every operation runs on the open business date, and the daily close
runs for every day in between, one close a day.

The database is ``--database``, else ``LENDCORE_DATABASE_URL``, else ``.lendcore/demo.db`` under the
current directory, replaced on every run (so the API can serve it afterwards: ``lendcore demo`` does).
The story needs a fresh database (``DEMO_NEEDS_FRESH_DATABASE``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.allocation import CustomerMode
from lendcore.core.errors import BusinessRuleError, LendcoreError
from lendcore.core.money import format_fen
from lendcore.core.rates import format_percent
from lendcore.servicing.business_day import enter_business_date, open_business_date
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.models import Customer

if TYPE_CHECKING:
    from lendcore.security.pii import PiiCipher

console = Console(highlight=False, width=max(120, Console().width), soft_wrap=True)

START = date(2026, 3, 1)


APPLIED = date(2026, 2, 20)
CONSENTS_TO_APPLY = ("terms", "privacy", "sensitive_personal_info")


def _id_number(birth: date, seq: int, region: str = "110105") -> str:
    from lendcore.core.identity import id_check_char

    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


def _card_number(seq: int) -> str:
    from lendcore.core.identity import luhn_check_digit

    body = f"622202{seq:012d}"  # an ICBC debit BIN from the shipped BIN table
    return body + luhn_check_digit(body)


@dataclass(frozen=True)
class Applicant:
    name: str
    birth: date
    phone: str
    form: dict[str, Any]


APPLICANTS: Final = (
    Applicant(
        "李伟",
        date(1988, 4, 12),
        "13812345678",
        {
            "requested_amount": 30_000_00,
            "term_months": 12,
            "monthly_income": 25_000_00,
            "account_standing": "salary_or_high",
            "savings": 50_000_00,
            "employment_years": 8,
            "occupation": "skilled",
            "housing": "own",
            "property": "real_estate",
        },
    ),
    Applicant(
        "王芳",
        date(1995, 9, 3),
        "13987654321",
        {
            "requested_amount": 10_000_00,
            "term_months": 3,
            "monthly_income": 12_000_00,
            "account_standing": "low_balance",
            "savings": 5_000_00,
            "employment_years": 3,
            "occupation": "skilled",
            "housing": "rent",
        },
    ),
    Applicant(
        "陈杰",
        date(2001, 1, 20),
        "13700001111",
        {
            "requested_amount": 40_000_00,
            "term_months": 12,
            "monthly_income": 5_000_00,
            "monthly_debt_payments": 2_000_00,
            "account_standing": "overdrawn",
            "employment_years": 0,
            "occupation": "unskilled",
            "housing": "free",
            "property": "none",
            "other_installment_plans": "stores",
            "purpose": "other",
        },
    ),
    Applicant("赵敏", date(2008, 6, 1), "13600002222", {}),  # 17 on the application date
)


class _Demo:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self.n = 0
        self.cipher: PiiCipher | None = None

    def key(self) -> str:
        self.n += 1
        return f"demo-{self.n}"

    def apply(self, seq: int, person: Applicant) -> tuple[str, str] | None:
        """Onboard ``person`` and apply for a quick-loan line; (customer id, line id) if approved."""
        from lendcore.cli.database import pii_cipher
        from lendcore.core.identity import CardInput, OnboardingRequest
        from lendcore.origination.applications import (
            ApplicationRequest,
            Decider,
            apply_for_credit,
            default_form,
        )
        from lendcore.origination.explain import explain_decision
        from lendcore.origination.onboarding import ConsentGrant, customer_view, register_customer
        from lendcore.products import default_catalog
        from lendcore.risk.scorecard import default_scorecard
        from lendcore.risk.strategy import default_strategies
        from lendcore.security.pii import mask_name

        if self.cipher is None:
            from lendcore.origination.blind_index import check_key_ring

            self.cipher = pii_cipher(check=False)  # checked on the demo's own database, below
            with unit_of_work(self.factory, read_only=True) as session:
                check_key_ring(session, self.cipher)
        cipher = self.cipher
        request = OnboardingRequest(
            name=person.name,
            id_number=_id_number(person.birth, seq),
            phone=person.phone,
            cards=(CardInput(_card_number(seq), person.name),),
        )
        consents = tuple(ConsentGrant.parse(f"{kind}:1.0") for kind in CONSENTS_TO_APPLY)
        at = datetime.combine(APPLIED, datetime.min.time(), tzinfo=UTC) + timedelta(hours=2)
        try:
            with unit_of_work(self.factory) as session:
                enter_business_date(session, APPLIED)
                customer = register_customer(
                    session, request, business_date=APPLIED, cipher=cipher, consents=consents, at=at
                )
                view = customer_view(session, customer.id, cipher)
        except LendcoreError as error:
            fields = "; ".join(f"{e['field']}: {e['code']}" for e in error.details.get("errors", []))
            who = mask_name(person.name)
            console.print(f"{who} cannot be onboarded: [red]{fields or error.code}[/] (nothing stored)")
            return None
        console.print(
            f"{view['name']} onboarded as {customer.id}: ID {view['id_number']}, phone {view['phone']}, "
            f"card {view['cards'][0]['number']} ({view['cards'][0]['bank']}); PII stored encrypted"
        )
        with unit_of_work(self.factory) as session:
            enter_business_date(session, APPLIED)
            application = ApplicationRequest(
                customer_id=customer.id,
                product_code="quick",
                form=default_form(**person.form),
                device_id=f"demo-device-{seq}",
                business_date=APPLIED,
                idempotency_key=self.key(),
            )
            decider = Decider(
                scorecard=default_scorecard(),
                strategies=default_strategies(),
                catalog=default_catalog(),
                cipher=cipher,
                clock=lambda: at,
            )
            r = apply_for_credit(session, application, decider=decider).to_json()
            why = explain_decision(session, r["decision_id"])
        costly = sorted(why.get("contributions", []), key=lambda c: c["points"] - c["max_points"])[:2]
        drivers = ", ".join(f"{c['feature']} {c['points']}/{c['max_points']} pts" for c in costly)
        if r["outcome"] == "approved":
            console.print(
                f"  [green]approved[/]: score {r['score']}, grade {r['grade']}, limit "
                f"{format_fen(r['credit_limit'])}, daily rate {format_percent(Decimal(r['daily_rate']), 3)} "
                f"(new customers start low; main drags: {drivers})"
            )
            return customer.id, str(r["credit_line_id"])
        console.print(
            f"  [red]declined[/]: score {r['score']}, grade {r['grade']}: {'; '.join(r['reasons_en'])} "
            f"({'；'.join(r['reasons_zh'])}); retry on or after {r['retry_on']}; main drags: {drivers}"
        )
        return None

    def staff_line(self, cid: str, product: str, limit: int, grade: str, on: date) -> str:
        from lendcore.servicing.lines import open_credit_line

        with unit_of_work(self.factory) as session:
            enter_business_date(session, on)
            line = open_credit_line(
                session,
                customer_id=cid,
                product_code=product,
                credit_limit=limit,
                pricing_grade=grade,
                business_date=on,
                actor="staff:risk-ops",
                reason_code="PREMIUM_OFFER",
            )
        console.print(
            f"risk operations open a {product} line of {format_fen(limit)} (grade {grade}) for {cid} "
            f"on {on}: audited as staff:risk-ops"
        )
        return line.id

    def draw(self, who: str, line: str, amount: int, term: int, on: date, method: str | None = None) -> str:
        from lendcore.core.schedule import Method
        from lendcore.origination.drawdown_check import drawdown_gate
        from lendcore.servicing.draw import DrawRequest, draw

        request = DrawRequest(
            line_id=line,
            amount=amount,
            term=term,
            business_date=on,
            idempotency_key=self.key(),
            method=Method(method) if method else None,
            purpose="shopping",
        )
        with unit_of_work(self.factory) as session:
            enter_business_date(session, on)
            r = draw(session, request, gate=drawdown_gate()).to_json()
        q = r["quote"]
        table = Table(
            title=f"{who} borrows {format_fen(amount)} on {on} ({q['product_code']}, {q['method']})"
        )
        for col in ("#", "due", "principal", "interest", "total"):
            table.add_column(col, justify="right")
        for row in q["schedule"]:
            table.add_row(
                str(row["period"]),
                row["due_date"],
                format_fen(row["principal"]),
                format_fen(row["interest"]),
                format_fen(row["total"]),
            )
        console.print(table)
        from decimal import Decimal

        console.print(
            f"  daily rate {format_percent(Decimal(q['daily_rate']), 3)}, "
            f"APR {format_percent(Decimal(q['apr']))} "
            f"(IRR), total interest {format_fen(q['total_interest'])} → contract {r['contract_id']} "
            f"[green]{r['status']}[/], available limit {format_fen(r['available_limit'])}"
        )
        return str(r["contract_id"])

    def repay(self, who: str, cid: str, amount: int | None, on: date, **kw: Any) -> dict[str, Any]:
        from lendcore.servicing.repay import RepayRequest, repay

        request = RepayRequest(
            customer_id=cid, amount=amount, business_date=on, idempotency_key=self.key(), **kw
        )
        with unit_of_work(self.factory) as session:
            enter_business_date(session, on)
            r = repay(session, request).to_json()
        console.print(
            f"{who} pays {format_fen(r['amount'])} on {on} ({r['mode']}, value date {r['value_date']}):"
        )
        for c in r["contracts"]:
            parts = [
                f"{k} {format_fen(c[k])}"
                for k in (
                    "penalty",
                    "fee",
                    "interest",
                    "principal",
                    "prepaid_principal",
                    "prepayment_fee",
                    "unapplied",
                )
                if c[k]
            ]
            recomputed = ", schedule recomputed" if c["schedule_version"] else ""
            console.print(
                f"  {c['contract_id']}: {', '.join(parts) or 'nothing'} → {c['status']}{recomputed}, "
                f"still owed {format_fen(c['total_outstanding'])}"
            )
        return r

    def open_day(self, day: date) -> None:
        """Run the daily close of every day before ``day``, one close a day, so that ``day`` is the open
        business date."""
        from lendcore.batch.close import close_business_days

        with unit_of_work(self.factory, read_only=True) as session:
            opened = open_business_date(session)
        if opened is None or opened >= day:
            return
        reports = close_business_days(self.factory, day - timedelta(days=1))
        failed = [r for r in reports if not r.ok]
        if failed:
            raise RuntimeError(f"close of {failed[0].business_date} failed: {failed[0].invariants}")
        last = reports[-1]
        console.print(
            f"[dim]daily close {opened} … {last.business_date}: {len(reports)} close(s), invariants ok; "
            f"on {last.business_date}: overdue {last.overdue}, buckets {last.buckets}; "
            f"open business date {day}[/]"
        )

    def payoff(self, customer_id: str, on: date) -> dict[str, Any]:
        from lendcore.queries.payoff import payoff_quote

        with unit_of_work(self.factory, read_only=True) as session:
            enter_business_date(session, on, establish=False)
            return payoff_quote(session, customer_id, on).to_json()

    def status(self, contract_id: str) -> None:
        from lendcore.queries.loans import loan_view

        with unit_of_work(self.factory, read_only=True) as session:
            c = loan_view(session, contract_id)  # what the customer and the back office are shown
            console.print(
                f"  {contract_id}: {c.status}, principal {format_fen(c.balances.principal)}, interest "
                f"{format_fen(c.balances.interest)}, penalty {format_fen(c.balances.penalty)}; "
                f"DPD {c.days_past_due} {c.bucket} ({c.classification})"
            )


def run_demo(factory: sessionmaker[Session]) -> bool:
    """The demo story; returns True if the trial balance is balanced at the end."""
    from lendcore.cli.ledger import trial_balance_table
    from lendcore.queries.payoff import payoff_quote
    from lendcore.servicing.invariants import check_invariants

    d = _Demo(factory)
    console.print(Panel("1. Applying (申请): onboarding, consent, an instant decision", style="bold"))
    decided = [d.apply(seq, person) for seq, person in enumerate(APPLICANTS, start=1)]
    li_applied, wang_applied = decided[0], decided[1]
    if li_applied is None or wang_applied is None:
        raise RuntimeError("the demo applicants 李伟 and 王芳 should be approved by the shipped model")
    (li, li_quick), (wang, wang_quick) = li_applied, wang_applied

    console.print(Panel("2. Borrowing (借款)", style="bold"))
    d.open_day(START)
    li_premium = d.staff_line(li, "premium", 3_000_000, "B", START)
    li_q = d.draw("Li Wei", li_quick, 250_000, 1, START, method="bullet")
    li_p = d.draw("Li Wei", li_premium, 2_400_000, 12, START)
    d.open_day(START + timedelta(days=4))
    wang_q = d.draw("Wang Fang", wang_quick, 300_000, 1, START + timedelta(days=4), method="bullet")

    console.print(Panel("3. Repaying early (提前还款)", style="bold"))
    d.open_day(START + timedelta(days=15))
    d.repay("Li Wei", li, 150_000, START + timedelta(days=15))  # by amount: the quick loan first
    d.repay(
        "Li Wei", li, 500_000, START + timedelta(days=15), mode=CustomerMode.BY_CONTRACT, contract_ids=(li_p,)
    )  # by contract: prepays the premium loan (1 % fee), schedule recomputed

    console.print(Panel("4. Going overdue (逾期) and being cured", style="bold"))
    due = date(2026, 4, 5)
    d.open_day(due + timedelta(days=10))
    console.print(f"Wang Fang's loan was due {due}; ten days later (as of the last close):")
    d.status(wang_q)
    quote = d.payoff(wang, due + timedelta(days=10))
    console.print(f"  payoff quote on {due + timedelta(days=10)}: {format_fen(quote['total'])}")
    d.repay("Wang Fang", wang, quote["total"], due + timedelta(days=10))
    d.status(wang_q)

    console.print(Panel("5. Paid late by the channel, not by the customer (invariant 6)", style="bold"))
    console.print("Li Wei's quick loan fell due 2026-04-01; the close ran, DPD counted:")
    d.status(li_q)
    started = date(2026, 3, 31)
    with unit_of_work(factory, read_only=True) as session:
        q = next(
            c for c in payoff_quote(session, li, started).to_json()["contracts"] if c["contract_id"] == li_q
        )
    console.print(
        f"  but Li Wei had started a payment of {format_fen(q['total'])} on {started}, confirmed today:"
    )
    d.repay(
        "Li Wei",
        li,
        q["total"],
        due + timedelta(days=10),
        value_date=started,
        mode=CustomerMode.BY_CONTRACT,
        contract_ids=[li_q],
    )
    d.status(li_q)

    console.print(Panel("6. Paying off everything (一次性还清)", style="bold"))
    on = date(2026, 5, 20)
    d.open_day(on)
    quote = d.payoff(li, on)
    for c in quote["contracts"]:
        console.print(
            f"  {c['contract_id']}: principal {format_fen(c['principal'])}, "
            f"interest {format_fen(c['interest'])}, "
            f"penalty {format_fen(c['penalty'])}, prepayment fee {format_fen(c['prepayment_fee'])} = "
            f"{format_fen(c['total'])}"
        )
    d.repay("Li Wei", li, quote["total"], on, mode=CustomerMode.PAY_OFF_ALL)
    d.status(li_p)

    console.print(Panel("7. The books", style="bold"))
    d.open_day(on + timedelta(days=1))  # the close of the last day
    with unit_of_work(factory, read_only=True) as session:
        report = check_invariants(session, replay_contracts=True)
    tb = report.trial_balance
    console.print(trial_balance_table(tb))
    verdict = "[green]balanced[/]" if tb.balanced else "[red]NOT balanced[/]"
    checks = "[green]ok[/]" if report.ok else f"[red]{report.to_dict()}[/]"
    console.print(
        f"{verdict}; sub-ledger = general ledger, cash in = allocated + unapplied, "
        f"replay = stored state: {checks}"
    )
    return tb.balanced and report.ok


def _check_fresh(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory, read_only=True) as session:
        opened = open_business_date(session)
        customer = session.scalar(select(Customer.id).limit(1))
    if opened is not None or customer is not None:
        raise BusinessRuleError(
            "the demo tells a dated story from 2026-02-20 and needs a fresh database; this one is in use"
            + (f" (open business date {opened})" if opened else "")
            + ": pass --database with a new one, or unset LENDCORE_DATABASE_URL for a temporary one",
            code="DEMO_NEEDS_FRESH_DATABASE",
        )


def _story(url: str) -> bool:
    from lendcore.store.migrate import upgrade_database
    from lendcore.store.settings import mask_url

    console.print(f"database: {mask_url(url)}")
    upgrade_database(url)
    engine = create_engine(url)
    try:
        factory = create_session_factory(engine)
        _check_fresh(factory)
        return run_demo(factory)
    finally:
        engine.dispose()


#: The demo's own database when none is configured: kept after the story (the API serves it), replaced
#: by the next run. Relative to the current directory; git-ignored.
DEMO_DATABASE: Final = Path(".lendcore") / "demo.db"


def demo_database_url(database_url: str | None) -> str:
    """The database the story runs on: ``database_url``, else ``LENDCORE_DATABASE_URL``, else a fresh
    :data:`DEMO_DATABASE` (an earlier run's file is removed first)."""
    url = database_url or os.environ.get("LENDCORE_DATABASE_URL") or None
    if url is not None:
        return url
    path = DEMO_DATABASE.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal")):
        stale.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def run(url: str) -> bool:
    """Run the story on ``url`` (see :func:`demo_database_url`)."""
    started = time.perf_counter()
    try:
        return _story(url)
    finally:
        console.print(f"[dim]demo finished in {time.perf_counter() - started:.1f} s[/]")
