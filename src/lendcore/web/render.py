"""Rendering: the Jinja2 environment (autoescaped), the pages' Content-Security-Policy, helpers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from lendcore.api.state import AppState
from lendcore.core.money import format_fen
from lendcore.core.rates import format_percent
from lendcore.web.i18n import translate
from lendcore.web.session import lang, request_csrf_token

HERE: Final = Path(__file__).parent
#: Pages load only our own stylesheet (and scripts, when there are any); forms post only to us.
PAGE_CSP: Final = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)


def money(amount: int | None) -> str:
    return "—" if amount is None else format_fen(amount)


def percent(rate: Decimal | str | None, places: int) -> str:
    return "—" if rate is None else format_percent(Decimal(rate), places)


def page(
    state: AppState,
    request: Request,
    template: str,
    title_key: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` in the request's language, with the CSRF token for its forms."""
    language = lang(request)
    values: dict[str, Any] = {
        "lang": language,
        "t": lambda key: translate(language, key),
        "money": money,
        "percent": percent,
        "title": translate(language, title_key),
        "csrf": request_csrf_token(state, request),
        "path": request.url.path,
        "signed_in": False,
        "error": None,
    }
    values.update(context)
    html = _env.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers={"Content-Security-Policy": PAGE_CSP})
