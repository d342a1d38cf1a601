"""``lendcore customer``, ``apply``, ``decision``, ``review``, ``limits``: origination from the shell.

The shell reads the clock (the business date is the store's open business date, which ``--date`` must
match, see :mod:`lendcore.cli.database`; the instant for consents and decisions) and the configuration
(database URL, PII keys), opens one unit of work per command, calls one use case and renders the
result. Every PII field it prints is masked. A rejected request prints one line (``error: … [CODE]``)
and exits with status 2.
"""

from __future__ import annotations

import time
import uuid
from enum import StrEnum
from typing import Annotated, Any

import typer

from lendcore.cli import database
from lendcore.core.errors import LendcoreError, ValidationError
from lendcore.core.money import format_fen, parse_amount
from lendcore.risk.features import (
    AccountStanding,
    Housing,
    LoanPurpose,
    MaritalStatus,
    Occupation,
    OtherInstallments,
    PropertyKind,
)

#: This module's commands (composed into the ``lendcore`` app by :mod:`lendcore.cli.main`).
commands = typer.Typer()

customer_app = typer.Typer(
    name="customer", help="Customers: register (onboarding), show.", no_args_is_help=True
)
decision_app = typer.Typer(
    name="decision", help="Stored credit decisions: explain, replay.", no_args_is_help=True
)
review_app = typer.Typer(
    name="review",
    help="Human review of decisions (PIPL Art. 24): request, list, propose, resolve.",
    no_args_is_help=True,
)
limits_app = typer.Typer(name="limits", help="Credit-limit jobs: reevaluate.", no_args_is_help=True)
commands.add_typer(customer_app)
commands.add_typer(decision_app)
commands.add_typer(review_app)
commands.add_typer(limits_app)


# --- customer -----------------------------------------------------------------------------------------
@customer_app.command("register")
def customer_register(
    name: Annotated[str, typer.Option("--name", help="Full name (as on the ID).")],
    id_number: Annotated[str, typer.Option("--id-number", help="18-digit resident ID number.")],
    phone: Annotated[str, typer.Option("--phone", help="Mainland mobile number.")],
    card: Annotated[
        list[str], typer.Option("--card", help="Debit card number in the customer's name (repeat).")
    ],
    consent: Annotated[
        list[str] | None,
        typer.Option(
            "--consent",
            help="KIND[:VERSION] (repeat): terms, privacy, sensitive_personal_info, credit_bureau_query, "
            "funding_partner_sharing.",
        ),
    ] = None,
    card_holder: Annotated[
        str | None, typer.Option("--card-holder", help="Cardholder name (default: --name).")
    ] = None,
    business_date: database.DateOption = None,
    as_json: database.JsonOption = False,
) -> None:
    """Register a customer: validate every field, encrypt PII, bind cards, record consents."""
    from lendcore.core.identity import CardInput, OnboardingRequest
    from lendcore.origination.onboarding import ConsentGrant, customer_view, register_customer

    def body() -> dict[str, Any]:
        on = database.business_date(business_date)
        grants = tuple(ConsentGrant.parse(c) for c in consent or ())
        request = OnboardingRequest(
            name, id_number, phone, tuple(CardInput(c, card_holder or name) for c in card)
        )
        cipher = database.pii_cipher()
        with database.open_session(business_date=on) as session:
            customer = register_customer(
                session, request, business_date=on, cipher=cipher, consents=grants, at=database.now()
            )
            return customer_view(session, customer.id, cipher)

    def checked() -> dict[str, Any]:
        try:
            return body()
        except ValidationError as error:  # list every bad field (codes only, no values) on one line
            if error.code != "ONBOARDING_INVALID":
                raise
            raise ValidationError(_onboarding_errors(error), code=error.code) from None

    view = database.run(checked)
    if as_json:
        database.echo_json(view)
        return
    typer.echo(f"customer {view['id']}: {view['name']} ID {view['id_number']} phone {view['phone']}")
    for c in view["cards"]:
        typer.echo(f"  card {c['id']}: {c['number']} {c['bank']}{' (default)' if c['is_default'] else ''}")
    for c in view["consents"]:
        typer.echo(f"  consent {c['kind']} v{c['text_version']}")


def _onboarding_errors(error: LendcoreError) -> str:
    errors = error.details.get("errors") if error.details else None
    if not errors:
        return error.message
    return "; ".join(f"{e['field']}: {e['code']}" for e in errors)


@customer_app.command("show")
def customer_show(customer_id: Annotated[str, typer.Argument(help="Customer id (cus_…).")]) -> None:
    """Show a customer (masked)."""
    from lendcore.origination.onboarding import customer_view

    def body() -> dict[str, Any]:
        with database.open_session(read_only=True) as session:
            return customer_view(session, customer_id, database.pii_cipher())

    database.echo_json(database.run(body))


# --- apply --------------------------------------------------------------------------------------------
def _one_of(kind: type[StrEnum]) -> str:
    return "one of: " + ", ".join(m.value for m in kind)


#: The form field behind each option of ``apply`` (the use case's errors name fields; we show options).
APPLY_OPTIONS = {
    "requested_amount": "--amount",
    "term_months": "--term",
    "monthly_income": "--income",
    "monthly_debt_payments": "--debts",
    "purpose": "--purpose",
    "account_standing": "--account-standing",
    "savings": "--savings",
    "employment_years": "--employment-years",
    "occupation": "--occupation",
    "housing": "--housing",
    "property": "--property",
    "other_installment_plans": "--other-installments",
    "years_at_address": "--years-at-address",
    "dependents": "--dependents",
    "marital_status": "--marital-status",
}


def _form_amount(text: str, field: str) -> int:
    """Yuan text → fen; a malformed or oversized amount is the field's own error (INVALID_<FIELD>)."""
    try:
        return parse_amount(text, allow_negative=True)
    except ValidationError as error:
        raise ValidationError(
            f"{APPLY_OPTIONS[field]}: {error.message}", code=f"INVALID_{field.upper()}"
        ) from None


def _with_options(error: ValidationError) -> ValidationError:
    """The form error with each field shown as its option (``--employment-years: must be …``)."""
    errors = error.details.get("errors") if error.details else None
    if not errors:
        return error
    message = "; ".join(f"{APPLY_OPTIONS.get(e['field'], e['field'])}: {e['message']}" for e in errors)
    return ValidationError(message, code=error.code, errors=errors)


@commands.command("apply")
def apply_command(
    customer: Annotated[str, typer.Option("--customer", help="Customer id (cus_…).")],
    amount: Annotated[str, typer.Option("--amount", help="Requested limit in yuan, e.g. 3000.")],
    term: Annotated[int, typer.Option("--term", help="Term in months.")],
    income: Annotated[str, typer.Option("--income", help="Monthly income in yuan.")],
    product: Annotated[str, typer.Option("--product", help="Product code.")] = "quick",
    purpose: Annotated[
        str, typer.Option("--purpose", help=f"Loan purpose, {_one_of(LoanPurpose)}.")
    ] = "other",
    debts: Annotated[str, typer.Option("--debts", help="Monthly debt payments in yuan.")] = "0",
    account_standing: Annotated[
        str | None, typer.Option("--account-standing", help=f"Current account, {_one_of(AccountStanding)}.")
    ] = None,
    savings: Annotated[str | None, typer.Option("--savings", help="Savings in yuan.")] = None,
    employment_years: Annotated[
        int | None, typer.Option("--employment-years", help="Years with the current employer (0-60).")
    ] = None,
    occupation: Annotated[
        str | None, typer.Option("--occupation", help=_one_of(Occupation).capitalize() + ".")
    ] = None,
    housing: Annotated[
        str | None, typer.Option("--housing", help=_one_of(Housing).capitalize() + ".")
    ] = None,
    property_kind: Annotated[
        str | None, typer.Option("--property", help=_one_of(PropertyKind).capitalize() + ".")
    ] = None,
    other_installments: Annotated[
        str | None,
        typer.Option("--other-installments", help=_one_of(OtherInstallments).capitalize() + "."),
    ] = None,
    years_at_address: Annotated[
        int | None, typer.Option("--years-at-address", help="Years at the current address (0-100).")
    ] = None,
    dependents: Annotated[
        int | None, typer.Option("--dependents", help="People the applicant supports (0-20).")
    ] = None,
    marital_status: Annotated[
        str | None, typer.Option("--marital-status", help=_one_of(MaritalStatus).capitalize() + ".")
    ] = None,
    device: Annotated[str | None, typer.Option("--device", help="Device id (hashed before use).")] = None,
    key: Annotated[
        str | None, typer.Option("--key", help="Idempotency key (default: a new random key).")
    ] = None,
    business_date: database.DateOption = None,
    as_json: database.JsonOption = False,
) -> None:
    """Apply for a credit line: decide in one step and open the line on approval."""
    from lendcore.origination.applications import ApplicationRequest, Decider, apply_for_credit
    from lendcore.products.catalog import default_catalog
    from lendcore.risk.scorecard import default_scorecard
    from lendcore.risk.strategy import default_strategies

    def body() -> dict[str, Any]:
        on = database.business_date(business_date)
        form: dict[str, Any] = {
            "requested_amount": _form_amount(amount, "requested_amount"),
            "term_months": term,
            "purpose": purpose,
            "monthly_income": _form_amount(income, "monthly_income"),
            "monthly_debt_payments": _form_amount(debts, "monthly_debt_payments"),
        }
        optional = {
            "account_standing": account_standing,
            "savings": None if savings is None else _form_amount(savings, "savings"),
            "employment_years": employment_years,
            "occupation": occupation,
            "housing": housing,
            "property": property_kind,
            "other_installment_plans": other_installments,
            "years_at_address": years_at_address,
            "dependents": dependents,
            "marital_status": marital_status,
        }
        form.update({k: v for k, v in optional.items() if v is not None})
        with database.open_session(business_date=on) as session:
            request = ApplicationRequest(
                customer_id=customer,
                product_code=product,
                form=form,
                device_id=device,
                business_date=on,
                idempotency_key=key or f"cli-{uuid.uuid4()}",
            )
            decider = Decider(
                scorecard=default_scorecard(),
                strategies=default_strategies(),
                catalog=default_catalog(),
                cipher=database.pii_cipher(),
                clock=database.now,
                perf_counter=time.perf_counter,
            )
            return apply_for_credit(session, request, decider=decider).to_json()

    def checked() -> dict[str, Any]:
        try:
            return body()
        except ValidationError as error:
            raise _with_options(error) from None

    result = database.run(checked)
    if as_json:
        database.echo_json(result)
        return
    typer.echo(
        f"application {result['application_id']}  decision {result['decision_id']}: {result['outcome']}"
    )
    if result["outcome"] == "approved":
        typer.echo(
            f"  credit line {result['credit_line_id']}: limit {format_fen(result['credit_limit'])}, "
            f"grade {result['grade']}, daily rate {result['daily_rate']}"
        )
    else:
        typer.echo(f"  reasons: {'; '.join(result['reasons_zh'])} ({', '.join(result['reason_codes'])})")
        typer.echo(f"  retry on: {result['retry_on'] or '-'}")


# --- decision -----------------------------------------------------------------------------------------
@decision_app.command("explain")
def decision_explain(
    decision_id: Annotated[str, typer.Argument(help="Decision id (dec_…).")],
    as_json: database.JsonOption = False,
) -> None:
    """Explain a stored decision: inputs, features, score points, rule hits, reasons, versions."""
    from lendcore.origination.explain import explain_decision

    def body() -> dict[str, Any]:
        with database.open_session(read_only=True) as session:
            return explain_decision(session, decision_id)

    data = database.run(body)
    if as_json:
        database.echo_json(data)
        return
    typer.echo(f"decision {data['decision_id']} ({data['business_date']}): {data['outcome']}")
    typer.echo(f"  application {data['application_id']}, product {data['product_code']}")
    typer.echo(f"  score {data['score']}  grade {data['grade']}  PD {data['probability_bad']}")
    if data["credit_limit"] is not None:
        typer.echo(
            f"  limit {format_fen(data['credit_limit'])}  daily rate {data['daily_rate']}  APR {data['apr']}"
        )
    for hit in data["rule_hits"]:
        typer.echo(f"  rule hit {hit['code']}: {hit['detail']} (retry on {hit['retry_on'] or '-'})")
    for zh, en in zip(data["reasons"]["zh"], data["reasons"]["en"], strict=True):
        typer.echo(f"  reason: {zh} / {en}")
    if data["retry_on"]:
        typer.echo(f"  retry on {data['retry_on']}")
    for c in data["contributions"][:5]:
        typer.echo(f"  {c['feature']} = {c['value']!s} → {c['points']} points (best {c['max_points']})")
    v = data["versions"]
    typer.echo(
        f"  model {v['model_id']} {v['model_version']}, strategy {v['strategy_id']} {v['strategy_version']}"
    )
    timings = ", ".join(f"{k} {float(t):.3f} ms" for k, t in data["timings_ms"].items())
    typer.echo(f"  timings: {timings or '-'}")


@decision_app.command("replay")
def decision_replay(decision_id: Annotated[str, typer.Argument(help="Decision id (dec_…).")]) -> None:
    """Recompute a stored decision from its record and compare; exit 1 if it differs."""
    from lendcore.origination.explain import replay_decision
    from lendcore.risk.scorecard import default_scorecard
    from lendcore.risk.strategy import default_strategies

    def body() -> tuple[Any, Any, bool]:
        with database.open_session(read_only=True) as session:
            return replay_decision(session, decision_id, default_scorecard(), default_strategies())

    stored, replayed, same = database.run(body)
    typer.echo(
        f"stored {stored.outcome.value} (limit {stored.limit}, grade {stored.grade}); "
        f"replayed {replayed.outcome.value} (limit {replayed.limit}, grade {replayed.grade}): "
        f"{'same' if same else 'DIFFERENT'}"
    )
    if not same:
        raise typer.Exit(1)


# --- review -------------------------------------------------------------------------------------------
class ReviewStatus(StrEnum):
    """What ``review list --status`` selects (``open`` = queued or proposed)."""

    QUEUED = "queued"
    PROPOSED = "proposed"
    OPEN = "open"
    CONFIRMED = "confirmed"
    OVERRIDDEN = "overridden"
    ALL = "all"


class ReviewAction(StrEnum):
    CONFIRM = "confirm"
    OVERRIDE = "override"


@review_app.command("request")
def review_request(
    decision_id: Annotated[str, typer.Argument(help="Decision id (dec_…).")],
    by: Annotated[str, typer.Option("--by", help="Who asks (customer id or staff id).")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Ask for human review of an automated decision."""
    from lendcore.origination.review import ReviewAsk, request_review

    def body() -> str:
        with database.open_session() as session:
            request = ReviewAsk(decision_id, requested_by=by, reason=reason)
            return request_review(session, request, at=database.now()).id

    typer.echo(f"review {database.run(body)} queued")


@review_app.command("list")
def review_list(
    status: Annotated[ReviewStatus, typer.Option("--status", help="Which reviews.")] = ReviewStatus.OPEN,
    as_json: database.JsonOption = False,
) -> None:
    """The review queue (oldest first)."""
    from lendcore.origination.review import list_reviews, review_row

    def body() -> list[dict[str, Any]]:
        with database.open_session(read_only=True) as session:
            selected = None if status is ReviewStatus.ALL else status.value
            return [review_row(r) for r in list_reviews(session, status=selected)]

    rows = database.run(body)
    if as_json:
        database.echo_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['id']}  {r['status']:<10} decision {r['decision_id']}  requested {r['requested_at']}")
    if not rows:
        typer.echo("no reviews")


@review_app.command("propose")
def review_propose(
    review_id: Annotated[str, typer.Argument(help="Review id (rvw_…).")],
    staff: Annotated[str, typer.Option("--staff", help="Staff id of the maker.")],
    limit: Annotated[str, typer.Option("--limit", help="Proposed credit limit in yuan.")],
    grade: Annotated[
        str | None, typer.Option("--grade", help="Pricing grade (default: the decision's).")
    ] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
) -> None:
    """Maker: propose an override (limit, grade); another staff member resolves it."""
    from lendcore.origination.review import ProposeOverride, propose_override

    def body() -> str:
        fen = parse_amount(limit, allow_zero=False)
        with database.open_session() as session:
            request = ProposeOverride(review_id, staff=staff, credit_limit=fen, grade=grade, note=note)
            propose_override(session, request, at=database.now())
        return review_id

    typer.echo(f"review {database.run(body)}: override proposed")


@review_app.command("resolve")
def review_resolve(
    review_id: Annotated[str, typer.Argument(help="Review id (rvw_…).")],
    staff: Annotated[str, typer.Option("--staff", help="Staff id (the checker for an override).")],
    action: Annotated[
        ReviewAction, typer.Option("--action", help="Confirm the decision, or apply the proposed override.")
    ],
    note: Annotated[str | None, typer.Option("--note")] = None,
    business_date: database.DateOption = None,
) -> None:
    """Confirm the automated decision, or apply the proposed override (maker-checker)."""
    from lendcore.origination.review import ResolveReview, resolve_review

    def body() -> tuple[str, str | None]:
        on = database.business_date(business_date)
        with database.open_session(business_date=on) as session:
            request = ResolveReview(review_id, staff=staff, action=action.value, business_date=on, note=note)
            r = resolve_review(session, request, at=database.now())
            return r.status, r.credit_line_id

    status, line_id = database.run(body)
    typer.echo(f"review {review_id}: {status}" + (f" (credit line {line_id})" if line_id else ""))


# --- limits -------------------------------------------------------------------------------------------
@limits_app.command("reevaluate")
def limits_reevaluate(
    business_date: database.DateOption = None, as_json: database.JsonOption = False
) -> None:
    """Raise, lower or freeze limits from repayment behaviour (once per business date)."""
    from lendcore.origination.limits import reevaluate_limits

    def body() -> dict[str, Any]:
        on = database.business_date(business_date)
        with database.open_session(business_date=on) as session:
            return reevaluate_limits(session, on).to_json()

    summary = database.run(body)
    if as_json:
        database.echo_json(summary)
        return
    if summary["already_ran"]:
        typer.echo(f"limits already re-evaluated for {summary['business_date']}")
    typer.echo(f"{summary['business_date']}: {summary['lines']} line(s), {len(summary['changes'])} change(s)")
    for c in summary["changes"]:
        typer.echo(
            f"  {c['line_id']}: {c['reason_code']} {format_fen(c['old_limit'])} → "
            f"{format_fen(c['new_limit'])} ({c['old_status']} → {c['new_status']})"
        )
