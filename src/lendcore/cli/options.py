"""The flags the money-moving commands share, and how their values are read.

``--date`` is the business date (it must be the store's open business date:
:mod:`lendcore.servicing.business_day`), ``--key`` an idempotency key (a fresh one is generated and
shown if omitted: repeating a command with the same key returns the first result and changes
nothing), ``--json`` prints JSON with amounts in fen; amounts are typed in yuan (``1234.56``).
"""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from lendcore.cli.output import notice
from lendcore.core.errors import ValidationError
from lendcore.core.money import parse_amount

DateOpt = Annotated[
    str | None,
    typer.Option("--date", help="Business date: must be the open business date (the default)."),
]
KeyOpt = Annotated[str | None, typer.Option("--key", help="Idempotency key (default: a new one).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (amounts in fen).")]


def idempotency_key(value: str | None) -> str:
    """``--key`` as given, or a new key, shown on stderr so the command can be repeated safely."""
    if value is not None:
        return value
    generated = f"cli-{uuid.uuid4().hex}"
    notice(f"idempotency key: {generated}")  # shown unless the request is refused
    return generated


def yuan(text: str, flag: str = "--amount") -> int:
    """A positive amount in yuan, as fen; an empty ``flag`` value is refused as missing."""
    return parse_amount(text, allow_zero=False) if text else _missing(flag)


def _missing(flag: str) -> int:
    raise ValidationError(f"{flag} is required", code="INVALID_ARGUMENT")
