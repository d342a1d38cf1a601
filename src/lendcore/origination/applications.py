"""Apply for a credit line (申请): gather the context from the database, decide, store, open the line.

:func:`apply_for_credit` is one use case in the caller's unit of work, idempotent by key
(:func:`lendcore.store.idempotency.run_idempotent`, scope ``apply``): a retry with the same key and
the same request returns the stored response and creates nothing. Steps:

1. form valid (:func:`parse_form`: every field checked first, each with its own code,
   ``INVALID_<FIELD>``), customer active, product known, term offered by the product
   (``TERM_NOT_ALLOWED``), amount within the product's bounds (``AMOUNT_OUT_OF_RANGE``);
2. consent gating: terms, privacy and sensitive personal information must be active now
   (``CONSENT_REQUIRED``, nothing stored). The credit-bureau step is *skipped* without 征信授权; with
   it, ``bureau_authorised=True`` only feeds the strategy's uplift. lendcore has no bureau connection,
   so no bureau data is fetched or invented in either case;
3. :class:`~lendcore.risk.rules.ApplicationContext` from the database: prior applications of the same
   person (ID hash) in the last 183 days with their outcomes and reason codes (declines do not count
   against the half-year limit; the 30-day cooldown runs from the last counted decline), velocity by
   device / phone / ID hash in the rules' window, blacklist hits (ID, phone, every bound card,
   device), current days past due with us, active and repaid contracts;
4. price from the product catalog (the product's tenor bands × grade adjustments become the
   strategy's :class:`~lendcore.risk.strategy.PriceBand` rows; APR cap = the product's cost cap);
5. :func:`lendcore.risk.decision.decide`; the application, the decision (record for replay, score
   contributions, champion/challenger) and an audit record are written together; on approval a credit
   line is opened (:func:`lendcore.servicing.lines.open_credit_line`).

A decline carries ``retry_on`` (when to try again) and never counts against later applications.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendcore.core.consent import REQUIRED_TO_APPLY, ConsentKind, has_consent, require_consents
from lendcore.core.errors import BusinessRuleError, NotFoundError, ValidationError
from lendcore.core.identity import parse_resident_id
from lendcore.core.money import Fen, format_fen
from lendcore.core.rates import to_ppm
from lendcore.core.records import JsonRecord
from lendcore.origination.blacklist import blacklist_hits
from lendcore.origination.blind_index import ensure_key_ring, identity_hashes
from lendcore.origination.onboarding import F_DEVICE, F_ID, consent_records
from lendcore.products.catalog import Catalog, Product
from lendcore.risk.decision import (
    Decision,
    DecisionConfig,
    Scorer,
    decide,
    from_jsonable,
    to_jsonable,
    to_record,
)
from lendcore.risk.features import (
    MONEY_FIELDS,
    Application,
    FeatureConfig,
    FieldError,
    enum_error,
    field_code,
    form_error,
    range_errors,
)
from lendcore.risk.rules import (
    ApplicationContext,
    PriorApplication,
    PriorOutcome,
    RulesConfig,
)
from lendcore.risk.strategy import PriceBand, StrategySet
from lendcore.security.pii import PiiCipher
from lendcore.servicing.lines import open_credit_line
from lendcore.servicing.restrictions import Processing, require_processing_allowed
from lendcore.store.audit import record_audit
from lendcore.store.idempotency import idempotent
from lendcore.store.ids import new_id
from lendcore.store.models import Contract, CreditLine, Customer
from lendcore.store.models_origination import CreditApplication, CreditDecision, LimitChange

SYSTEM_ACTOR: Final = "system:origination"
IDEMPOTENCY_SCOPE: Final = "apply"
#: Form fields the applicant fills in (everything of :class:`Application` but the ids).
FORM_FIELDS: Final = tuple(
    f.name for f in fields(Application) if f.name not in ("application_id", "product_code")
)
#: Reason codes of limit changes that mean the customer was overdue with us.
OVERDUE_REASONS: Final = frozenset({"OVERDUE_FREEZE", "OVERDUE_LOWER"})


def strategy_pricing(product: Product) -> tuple[PriceBand, ...]:
    """The product's pricing table (tenor bands × grade adjustments, clamped) as strategy price bands."""
    bands = sorted(product.pricing.bands, key=lambda b: b.max_term)
    return tuple(
        PriceBand(band.max_term, product.pricing.daily_rate(band.max_term, grade), grade)
        for grade in product.pricing.grades
        for band in bands
    )


def parse_form(form: Mapping[str, Any], *, application_id: str, product_code: str) -> Application:
    """The application form (JSON-like: amounts in fen, enums by value) as an :class:`Application`.

    Every bad field is reported at once, each with its own code: ``INVALID_<FIELD>`` for a value of the
    wrong type, not one of the field's allowed values (listed in the message) or outside its range
    (:data:`~lendcore.risk.features.FIELD_BOUNDS`: income and debts 0–¥10,000,000 a month, savings
    0–¥100,000,000, employment 0–60 years …), ``FIELD_REQUIRED``, ``UNKNOWN_FIELD``. One bad field
    raises its own code, several ``INVALID_FORM``; ``details["errors"]`` lists every one."""
    if not isinstance(form, Mapping):
        raise ValidationError("the application form must be an object", code="INVALID_FORM", errors=[])
    hints = typing.get_type_hints(Application)
    errors: list[FieldError] = []
    values: dict[str, Any] = {"application_id": application_id, "product_code": product_code}
    for key in form:
        if key not in FORM_FIELDS:
            errors.append(FieldError(str(key)[:40], "UNKNOWN_FIELD", "not a form field"))
    for f in fields(Application):
        if f.name not in FORM_FIELDS:
            continue
        if f.name not in form:
            if f.default is MISSING and f.default_factory is MISSING:
                errors.append(FieldError(f.name, "FIELD_REQUIRED", "required"))
            continue
        try:
            values[f.name] = _field_value(f.name, hints[f.name], form[f.name])
        except _BadFieldError as bad:
            errors.append(bad.error)
    errors.extend(range_errors(values))
    if errors:
        raise form_error(errors)
    return Application(**values)


class _BadFieldError(Exception):
    def __init__(self, error: FieldError) -> None:
        super().__init__(error.message)
        self.error = error


def _field_value(name: str, tp: Any, raw: Any) -> Any:
    """``raw`` converted to the field's type, or :class:`_BadFieldError` naming what is wrong."""
    args = typing.get_args(tp)
    optional = type(None) in args
    base = next((a for a in args if a is not type(None)), tp) if args else tp
    if raw is None:
        if optional:
            return None
        raise _BadFieldError(FieldError(name, field_code(name), "must be given (not null)"))
    if isinstance(base, type) and issubclass(base, StrEnum):
        if not isinstance(raw, str) or raw not in {m.value for m in base}:
            raise _BadFieldError(enum_error(name, base, raw))
        return base(raw)
    if base is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise _BadFieldError(FieldError(name, field_code(name), "must be an integer" + _unit(name)))
        return raw
    try:
        return from_jsonable(tp, raw)
    except (TypeError, ValueError, KeyError):
        raise _BadFieldError(FieldError(name, field_code(name), "invalid value")) from None


def _unit(name: str) -> str:
    return " (fen)" if name in MONEY_FIELDS else ""


# --- context from the database ------------------------------------------------------------------------
def _dates(
    session: Session, column: Any, value: str | Sequence[str] | None, since: date, until: date
) -> tuple[date, ...]:
    """Application dates where ``column`` is ``value`` (or any of several: a value under every key)."""
    values = () if value is None else (value,) if isinstance(value, str) else tuple(value)
    if not values:
        return ()
    rows = session.scalars(
        select(CreditApplication.applied_on).where(
            column.in_(values), CreditApplication.applied_on > since, CreditApplication.applied_on <= until
        )
    ).all()
    return tuple(sorted(rows))


def build_context(
    session: Session,
    customer: Customer,
    *,
    business_date: date,
    cipher: PiiCipher,
    device_hash: str | None,
    bureau_authorised: bool,
    rules: RulesConfig,
    device_hashes: Sequence[str] = (),
    fraud_flags: Iterable[str] = (),
    phone_real_name_verified: bool = False,
    has_credits_elsewhere: bool | None = None,
) -> ApplicationContext:
    """Everything the rules and features need, read from the database as of ``business_date``.

    Reads only rows that exist before this application is stored (velocity lists hold *other*
    applications)."""
    id_valid, birth, sex = False, customer.birth_date, None
    if customer.id_number_ciphertext is not None:
        # A ciphertext that does not decrypt is a key-configuration fault: it propagates (the
        # application is refused with PII_DECRYPT_FAILED and nothing is stored), it is never turned
        # into a credit decline against the customer.
        id_number = cipher.decrypt(F_ID, customer.id_number_ciphertext)
        try:
            rid = parse_resident_id(id_number, business_date=business_date)
            id_valid, birth, sex = True, rid.birth_date, rid.sex
        except ValidationError:
            id_valid = False
    # prior applications by the same person (ID hash, else the customer id) in the period
    period_start = business_date - timedelta(days=max(rules.application_period_days, rules.cooldown_days))
    same_person = (
        CreditApplication.id_number_hash == customer.id_number_hash
        if customer.id_number_hash
        else CreditApplication.customer_id == customer.id
    )
    prior_rows = session.execute(
        select(CreditApplication, CreditDecision)
        .outerjoin(CreditDecision, CreditDecision.application_id == CreditApplication.id)
        .where(same_person, CreditApplication.applied_on > period_start)
        .order_by(CreditApplication.applied_on, CreditApplication.id)
    ).all()
    priors = tuple(
        PriorApplication(
            applied_on=app.applied_on,
            outcome=PriorOutcome(app.status if app.status in ("approved", "declined") else "pending"),
            decided_on=None if dec is None else dec.business_date,
            reason_codes=() if dec is None else tuple(dec.reason_codes),
        )
        for app, dec in prior_rows
        if app.applied_on <= business_date
    )
    window_start = business_date - timedelta(days=rules.velocity_window_days)
    # the device under every blind-index key: its id is never stored, so old hashes keep their key
    devices = tuple(device_hashes) or ((device_hash,) if device_hash else ())
    device_dates = _dates(session, CreditApplication.device_id_hash, devices, window_start, business_date)
    phone_dates = _dates(
        session, CreditApplication.phone_hash, customer.phone_hash, window_start, business_date
    )
    id_dates = _dates(
        session, CreditApplication.id_number_hash, customer.id_number_hash, window_start, business_date
    )
    # ID, phone, cards and device under every blind-index key: entries of any key still hit
    hits = blacklist_hits(session, identity_hashes(session, cipher, customer, devices))
    # our own history
    contracts = session.execute(
        select(Contract.status, Contract.days_past_due).where(Contract.customer_id == customer.id)
    ).all()
    current_dpd = max((dpd for status, dpd in contracts if status in ("active", "written-off")), default=0)
    active = sum(1 for status, _ in contracts if status == "active")
    repaid = sum(1 for status, _ in contracts if status == "closed")
    written_off = any(status == "written-off" for status, _ in contracts)
    overdue_seen = session.scalar(
        select(func.count(LimitChange.id))
        .join(CreditLine, CreditLine.id == LimitChange.credit_line_id)
        .where(CreditLine.customer_id == customer.id, LimitChange.reason_code.in_(OVERDUE_REASONS))
    )
    ever_dpd = max(current_dpd, 1 if (overdue_seen or written_off) else 0)
    has_line = session.scalar(select(func.count(CreditLine.id)).where(CreditLine.customer_id == customer.id))
    return ApplicationContext(
        business_date=business_date,
        id_valid=id_valid,
        birth_date=birth,
        sex=sex,
        blacklist_hits=hits,
        fraud_flags=frozenset(fraud_flags),
        existing_overdue_days=current_dpd,
        device_application_dates=device_dates,
        phone_application_dates=phone_dates,
        id_application_dates=id_dates,
        prior_applications=priors,
        is_new_customer=not has_line and not contracts,
        active_contracts_with_us=active,
        repaid_contracts_with_us=repaid,
        max_days_past_due_ever_with_us=ever_dpd,
        has_credits_elsewhere=has_credits_elsewhere,
        phone_real_name_verified=phone_real_name_verified,
        bureau_authorised=bureau_authorised,
    )


# --- the use case -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ApplicationRequest(JsonRecord):
    """A credit-line application: the applicant, the product, the form (see :func:`parse_form`)."""

    customer_id: str
    product_code: str
    form: dict[str, Any]
    business_date: date
    idempotency_key: str
    device_id: str | None = None
    fraud_flags: tuple[str, ...] = ()
    phone_real_name_verified: bool = False
    has_credits_elsewhere: bool | None = None


@dataclass(frozen=True, slots=True)
class Decider:
    """What an application is decided with: the models, tables, catalog, keys and clock (collaborators
    of the use case, not part of the request)."""

    scorecard: Scorer
    strategies: StrategySet
    catalog: Catalog
    cipher: PiiCipher
    clock: Callable[[], datetime]
    perf_counter: Callable[[], float] | None = None
    rules: RulesConfig = field(default_factory=RulesConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)


@dataclass(frozen=True, slots=True)
class ApplicationResult(JsonRecord):
    application_id: str
    decision_id: str
    outcome: str
    credit_line_id: str | None
    credit_limit: Fen | None
    daily_rate: Decimal | None
    apr: Decimal | None
    grade: str | None
    score: int | None
    reason_codes: tuple[str, ...]
    reasons_zh: tuple[str, ...]
    reasons_en: tuple[str, ...]
    retry_on: date | None
    business_date: date
    challenger: dict[str, Any] | None


@idempotent(IDEMPOTENCY_SCOPE, ApplicationResult)
def apply_for_credit(session: Session, request: ApplicationRequest, *, decider: Decider) -> ApplicationResult:
    """Decide a credit-line application and store it (see the module docstring). The same result on a
    retry with the same key."""
    device_hashes = decider.cipher.blind_indexes(F_DEVICE, request.device_id) if request.device_id else ()
    return _apply(
        session,
        customer_id=request.customer_id,
        product_code=request.product_code,
        form=request.form,
        device_hashes=device_hashes,
        business_date=request.business_date,
        idempotency_key=request.idempotency_key,
        scorecard=decider.scorecard,
        strategies=decider.strategies,
        catalog=decider.catalog,
        cipher=decider.cipher,
        clock=decider.clock,
        perf_counter=decider.perf_counter,
        rules=decider.rules,
        features=decider.features,
        fraud_flags=frozenset(request.fraud_flags),
        phone_real_name_verified=request.phone_real_name_verified,
        has_credits_elsewhere=request.has_credits_elsewhere,
    )


def _apply(
    session: Session,
    *,
    customer_id: str,
    product_code: str,
    form: Mapping[str, Any],
    device_hashes: Sequence[str],
    business_date: date,
    idempotency_key: str,
    scorecard: Scorer,
    strategies: StrategySet,
    catalog: Catalog,
    cipher: PiiCipher,
    clock: Callable[[], datetime],
    perf_counter: Callable[[], float] | None,
    rules: RulesConfig,
    features: FeatureConfig,
    fraud_flags: frozenset[str],
    phone_real_name_verified: bool,
    has_credits_elsewhere: bool | None,
) -> ApplicationResult:
    application_id = new_id("app")
    application = parse_form(form, application_id=application_id, product_code=product_code)
    ensure_key_ring(session, cipher)  # the device hash is stored under the active key
    device_hash = device_hashes[0] if device_hashes else None
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFoundError(f"customer {customer_id} not found", code="CUSTOMER_NOT_FOUND")
    require_processing_allowed(session, customer_id, Processing.APPLICATION)
    if customer.status != "active":
        raise BusinessRuleError("the customer is not active", code="CUSTOMER_NOT_ACTIVE")
    product = catalog.get(product_code)
    if application.term_months not in product.terms:
        raise ValidationError(
            f"term {application.term_months} is not offered; terms: {', '.join(map(str, product.terms))}",
            code="TERM_NOT_ALLOWED",
        )
    if not product.min_amount <= application.requested_amount <= product.max_amount:
        raise ValidationError(
            f"requested amount {format_fen(application.requested_amount)} is outside the product's range "
            f"{format_fen(product.min_amount)}–{format_fen(product.max_amount)}",
            code="AMOUNT_OUT_OF_RANGE",
            minimum=product.min_amount,
            maximum=product.max_amount,
        )
    open_line = session.scalar(
        select(CreditLine.id).where(
            CreditLine.customer_id == customer_id,
            CreditLine.product_code == product_code,
            CreditLine.status.in_(("active", "frozen")),
        )
    )
    if open_line is not None:
        raise BusinessRuleError(
            "the customer already has a credit line for this product",
            code="LINE_ALREADY_OPEN",
            line_id=open_line,
        )
    now = clock()
    consents = consent_records(session, customer_id)
    require_consents(consents, now, REQUIRED_TO_APPLY)
    # 征信授权: without it the bureau step is skipped (not faked); with it, only the uplift input.
    bureau_authorised = has_consent(consents, ConsentKind.CREDIT_BUREAU_QUERY, now)
    context = build_context(
        session,
        customer,
        business_date=business_date,
        cipher=cipher,
        device_hash=device_hash,
        device_hashes=device_hashes,
        bureau_authorised=bureau_authorised,
        rules=rules,
        fraud_flags=fraud_flags,
        phone_real_name_verified=phone_real_name_verified,
        has_credits_elsewhere=has_credits_elsewhere,
    )
    config = DecisionConfig(
        rules=rules, features=features, pricing=strategy_pricing(product), apr_cap=product.cost_cap
    )
    decision = decide(application, context, scorecard, strategies, config, perf_counter=perf_counter)
    contributions = _contributions(scorecard, decision)
    row = CreditApplication(
        id=application_id,
        customer_id=customer_id,
        product_code=product_code,
        requested_amount=application.requested_amount,
        term=application.term_months,
        device_id_hash=device_hash,
        device_hash_key_id=cipher.hash_key_id if device_hash else None,
        phone_hash=customer.phone_hash,
        id_number_hash=customer.id_number_hash,
        hash_key_id=customer.hash_key_id,
        form=to_jsonable(application),
        status=decision.outcome.value,
        applied_on=business_date,
        idempotency_key=idempotency_key,
    )
    session.add(row)
    session.flush()
    stored = CreditDecision(
        application_id=application_id,
        outcome=decision.outcome.value,
        grade=decision.grade,
        score=decision.score,
        credit_limit=decision.limit,
        daily_rate_ppm=None if decision.daily_rate is None else to_ppm(decision.daily_rate),
        reason_codes=list(decision.reason_codes),
        retry_on=decision.retry_on,
        model_id=decision.model_id,
        model_version=decision.model_version,
        strategy_id=decision.strategy_id,
        strategy_version=decision.strategy_version,
        record=to_record(decision, application, context, config),
        contributions=contributions,
        challenger=None if decision.challenger is None else to_jsonable(decision.challenger),
        decided_at=now,
        business_date=business_date,
    )
    session.add(stored)
    session.flush()
    line_id: str | None = None
    if decision.approved and decision.limit is not None and decision.grade is not None:
        line = open_credit_line(
            session,
            customer_id=customer_id,
            product_code=product_code,
            credit_limit=decision.limit,
            pricing_grade=decision.grade,
            business_date=business_date,
            actor=SYSTEM_ACTOR,
            details={"decision_id": stored.id},
            catalog=catalog,
        )
        line_id = line.id
        stored.credit_line_id = line_id
        session.flush()
    record_audit(
        session,
        actor=SYSTEM_ACTOR,
        action="application.decided",
        target_type="application",
        target_id=application_id,
        details={
            "decision_id": stored.id,
            "outcome": decision.outcome.value,
            "reason_codes": list(decision.reason_codes),
            "credit_line_id": line_id,
            "bureau_authorised": bureau_authorised,
        },
        at=now,
    )
    return decision_response(stored, decision, application_id)


def _contributions(scorecard: Scorer, decision: Decision) -> list[dict[str, Any]] | None:
    """Per-feature points of the score (recomputed from the decision's features), when scored."""
    if decision.score is None:
        return None
    result = scorecard.score(decision.features)
    items = getattr(result, "contributions", None)
    if not items:
        return None
    return [to_jsonable(c) for c in items]


def decision_response(stored: CreditDecision, decision: Decision, application_id: str) -> ApplicationResult:
    return ApplicationResult(
        application_id=application_id,
        decision_id=stored.id,
        outcome=decision.outcome.value,
        credit_line_id=stored.credit_line_id,
        credit_limit=decision.limit,
        daily_rate=decision.daily_rate,
        apr=decision.apr,
        grade=decision.grade,
        score=decision.score,
        reason_codes=tuple(decision.reason_codes),
        reasons_zh=tuple(decision.reasons("zh")),
        reasons_en=tuple(decision.reasons("en")),
        retry_on=decision.retry_on,
        business_date=decision.business_date,
        challenger=None if decision.challenger is None else to_jsonable(decision.challenger),
    )


def default_form(**overrides: Any) -> dict[str, Any]:
    """A minimal valid form (for demos and tests): 3,000 yuan over 6 months, income 12,000 yuan."""
    form: dict[str, Any] = {
        "requested_amount": 3_000_00,
        "term_months": 6,
        "purpose": "electronics",
        "monthly_income": 12_000_00,
        "monthly_debt_payments": 0,
    }
    form.update(overrides)
    return form


__all__ = [
    "FORM_FIELDS",
    "ApplicationRequest",
    "ApplicationResult",
    "Decider",
    "apply_for_credit",
    "build_context",
    "decision_response",
    "default_form",
    "parse_form",
    "strategy_pricing",
]
