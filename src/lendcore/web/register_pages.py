"""Customer registration (开户, ``/app/register``): the consents one by one, each with its published
text and version, then phone, name, resident ID number and a debit card; then sign in by one-time code.

The page grants exactly the consents ticked; :func:`lendcore.origination.onboarding.register_customer`
enforces the rest: the ID number and the card are sensitive personal information and are not even
looked at without the separate consent to process them (PIPL Art. 28-29, ``SENSITIVE_CONSENT_REQUIRED``),
every bad field is reported at once (``ONBOARDING_INVALID``), duplicates are refused, and a refused
registration writes nothing. The form comes back with what was typed, except the ID and card numbers
(sensitive: they are typed again rather than echoed into the page).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from lendcore.api.ratelimit import rate_limit
from lendcore.api.state import AppState, StateDep
from lendcore.core.consent import ConsentKind
from lendcore.core.errors import LendcoreError
from lendcore.core.identity import CardInput, OnboardingRequest
from lendcore.origination.consent_texts import default_consent_texts
from lendcore.origination.onboarding import ConsentGrant, register_customer
from lendcore.web.common import Csrf, business_date
from lendcore.web.render import page
from lendcore.web.session import PRE_SESSION_COOKIE, check_csrf, csrf_token, new_pre_session, set_cookie

router = APIRouter(prefix="/app", include_in_schema=False)
#: The consents registration offers, in the order shown (the sensitive-info one last, before the ID).
REGISTRATION_CONSENTS: Final = (
    ConsentKind.TERMS,
    ConsentKind.PRIVACY,
    ConsentKind.SENSITIVE_PERSONAL_INFO,
)
Ticked = Annotated[str | None, Form(max_length=1)]


def _form(state: AppState, request: Request, **context: Any) -> Response:
    pre = request.cookies.get(PRE_SESSION_COOKIE) or new_pre_session()
    texts = default_consent_texts()
    consents = [texts.latest(kind) for kind in REGISTRATION_CONSENTS]
    values: dict[str, Any] = {"phone": "", "name": "", "ticked": frozenset()}
    values.update(context)
    csrf = csrf_token(state, pre)
    response = page(state, request, "register.html", "register_title", csrf=csrf, consents=consents, **values)
    set_cookie(request, response, PRE_SESSION_COOKIE, pre, max_age=3600)
    return response


@router.get("/register")
def register_page(request: Request, state: StateDep) -> Response:
    return _form(state, request)


def _message(error: LendcoreError) -> str:
    """The refusal as shown: every bad field's code for ``ONBOARDING_INVALID`` (no values echoed)."""
    errors = error.details.get("errors") if error.details else None
    fields = "; ".join(f"{e['field']}: {e['code']}" for e in errors) if errors else ""
    return f"{error.message} ({error.code}{': ' + fields if fields else ''})"


@router.post("/register", dependencies=[Depends(rate_limit("registration"))])
def register(
    request: Request,
    state: StateDep,
    csrf: Csrf,
    phone: Annotated[str, Form(max_length=32)],
    name: Annotated[str, Form(max_length=64)],
    id_number: Annotated[str, Form(max_length=32)],
    card_number: Annotated[str, Form(max_length=32)],
    consent_terms: Ticked = None,
    consent_privacy: Ticked = None,
    consent_sensitive_personal_info: Ticked = None,
) -> Response:
    """Register with the consents ticked (each its own record, at the published version shown)."""
    check_csrf(state, request, csrf, signing_in=True)
    boxes = {
        ConsentKind.TERMS: consent_terms,
        ConsentKind.PRIVACY: consent_privacy,
        ConsentKind.SENSITIVE_PERSONAL_INFO: consent_sensitive_personal_info,
    }
    texts = default_consent_texts()
    grants = tuple(ConsentGrant(k, texts.latest(k).version) for k, box in boxes.items() if box)
    onboarding = OnboardingRequest(name, id_number, phone, (CardInput(card_number, name),))
    try:
        with state.database.write() as session:
            register_customer(
                session,
                onboarding,
                business_date=business_date(state, session),
                cipher=state.cipher,
                consents=grants,
                at=state.clock(),
            )
    except LendcoreError as error:
        ticked = frozenset(g.kind.value for g in grants)
        return _form(state, request, error=_message(error), phone=phone, name=name, ticked=ticked)
    return RedirectResponse("/app/login?registered=1", status_code=303)
