"""The customer app (``/app``): sign in by phone and one-time code, apply, borrow, repay.

Every page calls the same use cases and read models as the API (no HTTP in between). A refused
request renders the form again with the error's message, nothing written (the use cases check
first). Money-moving forms carry an idempotency key minted when the confirming page was rendered,
so a double submit replays the first result. The repayment preview is the ``repay`` use case itself,
run in a transaction that is rolled back: what it shows is exactly what paying would allocate.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from lendcore.api.ratelimit import limiter_of
from lendcore.api.state import AppState, StateDep
from lendcore.auth.otp import request_code, verify_code
from lendcore.auth.principal import Principal
from lendcore.core.consent import REQUIRED_TO_APPLY, ConsentKind
from lendcore.core.errors import LendcoreError, NotFoundError
from lendcore.core.identity import normalize_phone
from lendcore.core.money import parse_amount
from lendcore.origination.applications import ApplicationRequest, Decider, apply_for_credit, default_form
from lendcore.origination.consent_texts import default_consent_texts
from lendcore.origination.onboarding import ConsentGrantRequest, grant_consent
from lendcore.products import default_catalog
from lendcore.risk.scorecard import default_scorecard
from lendcore.risk.strategy import default_strategies
from lendcore.servicing.business_day import enter_open_business_date
from lendcore.web.common import (
    PRODUCT,
    Csrf,
    customer_of,
    signed_in_page,
    to_login,
)
from lendcore.web.customer_data import summary
from lendcore.web.i18n import LANGS
from lendcore.web.render import HERE, page
from lendcore.web.session import (
    LANG_COOKIE,
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    csrf_token,
    new_pre_session,
    set_cookie,
)

router = APIRouter(prefix="/app", include_in_schema=False)
#: The static files served (vendored Chart.js: pinned 4.4.7 from the npm registry, MIT, licence beside it).
STATIC: Final = {
    "app.css": "text/css",
    "dashboard.js": "text/javascript",
    "chart-4.4.7.umd.min.js": "text/javascript",
    "chart.js-LICENSE.md": "text/plain",
}
YEAR: Final = 365 * 24 * 3600


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC:
        raise NotFoundError("no such file", code="NOT_FOUND")
    return FileResponse(Path(HERE, "static", name), media_type=STATIC[name])


def language_return_path(next_path: str) -> str:
    """Where the language toggle goes back to: the page it was on, in the customer app or the back
    office, and nowhere else (a local path only: no scheme, no ``//`` host, no backslash)."""
    first = next_path.split("/", 2)[1] if next_path.startswith("/") else ""
    local = "//" not in next_path and "\\" not in next_path and ":" not in next_path.split("?", 1)[0]
    return next_path if local and first.split("?", 1)[0] in ("app", "office") else "/app"


@router.get("/lang/{language}")
def switch_language(language: str, next: str = "/app") -> RedirectResponse:
    response = RedirectResponse(language_return_path(next), status_code=303)
    response.set_cookie(LANG_COOKIE, language if language in LANGS else "zh", max_age=YEAR, samesite="strict")
    return response


@router.get("/login")
def login_page(request: Request, state: StateDep, registered: bool = False) -> Response:
    pre = request.cookies.get(PRE_SESSION_COOKIE) or new_pre_session()
    response = page(
        state, request, "login.html", "login_title", csrf=csrf_token(state, pre), sent=False, phone="",
        registered=registered,
    )  # fmt: skip
    set_cookie(request, response, PRE_SESSION_COOKIE, pre, max_age=3600)
    return response


@router.post("/login")
def login(
    request: Request,
    state: StateDep,
    csrf: Csrf,
    phone: Annotated[str, Form(max_length=32)],
    code: Annotated[str | None, Form(max_length=6)] = None,
) -> Response:
    check_csrf(state, request, csrf, signing_in=True)
    pre_csrf = csrf_token(state, request.cookies.get(PRE_SESSION_COOKIE, ""))
    try:
        if not code:
            key = state.cipher.blind_index("phone", normalize_phone(phone))
            limiter_of(request).check("otp_request:phone", key)
            with state.database.write() as session:
                request_code(
                    session,
                    cipher=state.cipher,
                    sender=state.otp_sender,
                    policy=state.otp_policy,
                    phone=phone,
                    now=state.clock(),
                )
            return page(state, request, "login.html", "login_title", csrf=pre_csrf, sent=True, phone=phone)
        customer_id = verify_code(
            state.database.session_factory,
            cipher=state.cipher,
            policy=state.otp_policy,
            phone=phone,
            code=code,
            now=state.clock(),
        )
    except LendcoreError as error:
        return page(
            state,
            request,
            "login.html",
            "login_title",
            csrf=pre_csrf,
            sent=bool(code),
            phone=phone,
            error=error.message,
        )
    token = state.access_tokens.issue(Principal("customer", customer_id), state.clock())
    response = RedirectResponse("/app", status_code=303)
    set_cookie(
        request, response, SESSION_COOKIE, token, max_age=int(state.settings.access_token_ttl.total_seconds())
    )
    return response


@router.post("/logout")
def logout(request: Request, state: StateDep, csrf: Csrf) -> Response:
    check_csrf(state, request, csrf)
    response = to_login()
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("")
def home(request: Request, state: StateDep) -> Response:
    customer_id = customer_of(state, request)
    with state.database.read() as session:
        s = summary(session, customer_id)
    return signed_in_page(
        state,
        request,
        "home.html",
        "home_title",
        credit_limit=s.credit_limit,
        available=s.available,
        contracts=s.contracts,
        next_due=s.next_due,
        overdue=s.overdue,
    )


# --- apply ---------------------------------------------------------------------------------------------
def _apply_form(state: AppState, request: Request, error: str | None = None, **form: object) -> Response:
    values = {"requested_amount": "3000", "term_months": 6, "monthly_income": "12000", **form}
    terms = default_catalog().get(PRODUCT).terms
    required = [k.value for k in REQUIRED_TO_APPLY]
    return signed_in_page(
        state,
        request,
        "apply.html",
        "apply_title",
        form=values,
        terms=terms,
        required_consents=required,
        error=error,
    )


@router.get("/apply")
def apply_page(request: Request, state: StateDep) -> Response:
    customer_of(state, request)
    return _apply_form(state, request)


@router.post("/apply")
def apply(
    request: Request,
    state: StateDep,
    csrf: Csrf,
    requested_amount: Annotated[str, Form(max_length=32)],
    term_months: Annotated[str, Form(max_length=4)],
    monthly_income: Annotated[str, Form(max_length=32)],
    consent_terms: Annotated[str | None, Form(max_length=1)] = None,
    consent_privacy: Annotated[str | None, Form(max_length=1)] = None,
    consent_sensitive_personal_info: Annotated[str | None, Form(max_length=1)] = None,
    consent_credit_bureau_query: Annotated[str | None, Form(max_length=1)] = None,
) -> Response:
    """Grant the consents ticked (each its own record; 征信授权 optional), then decide."""
    customer_id = customer_of(state, request)
    check_csrf(state, request, csrf)
    fields = {
        "requested_amount": requested_amount,
        "term_months": term_months,
        "monthly_income": monthly_income,
    }
    ticked = {
        ConsentKind.TERMS: consent_terms,
        ConsentKind.PRIVACY: consent_privacy,
        ConsentKind.SENSITIVE_PERSONAL_INFO: consent_sensitive_personal_info,
        ConsentKind.CREDIT_BUREAU_QUERY: consent_credit_bureau_query,
    }
    granted = [kind for kind, value in ticked.items() if value == "1"]
    missing = [kind.value for kind in REQUIRED_TO_APPLY if kind not in granted]
    if missing:
        return _apply_form(state, request, error=f"CONSENT_REQUIRED: {', '.join(missing)}", **fields)
    return _decide(state, request, customer_id, fields, granted)


def _decide(
    state: AppState, request: Request, customer_id: str, fields: dict[str, str], granted: list[ConsentKind]
) -> Response:
    texts = default_consent_texts()
    now = state.clock()
    try:
        form = default_form(
            requested_amount=parse_amount(fields["requested_amount"], allow_zero=False),
            term_months=int(fields["term_months"]) if fields["term_months"].isdigit() else 0,
            monthly_income=parse_amount(fields["monthly_income"]),
        )
        with state.database.write() as session:
            on = enter_open_business_date(session, today=state.clock().date())
            for kind in granted:
                grant_consent(
                    session, ConsentGrantRequest(customer_id, kind, texts.latest(kind).version), at=now
                )
            decider = Decider(
                scorecard=default_scorecard(),
                strategies=default_strategies(),
                catalog=default_catalog(),
                cipher=state.cipher,
                clock=state.clock,
            )
            result = apply_for_credit(
                session,
                ApplicationRequest(customer_id, PRODUCT, form, on, f"web-apply-{uuid.uuid4()}"),
                decider=decider,
            )
    except LendcoreError as error:
        return _apply_form(state, request, error=error.message, **fields)
    return signed_in_page(state, request, "decision.html", "decision_title", r=result)
