"""What a person fills in to propose each kind (:mod:`.kinds`): the payload's parameters as data, so
one generic form (the back office's ``/office/propose/{kind}``) serves every kind.

A :class:`PayloadField` is a payload key with its type: ``fen`` (an amount, typed in yuan on a page),
``count`` (a whole number), ``choice`` (one of ``choices``), ``date`` (ISO 8601, as a date input
sends it) or ``text``;
``required`` says whether it may be left empty (then it is sent as null, which each kind's
``check_payload`` reads as its default: a waiver of everything, the decision's own grade). The kind's
``check_payload`` stays the one judge of a payload: this module only says what to ask. A kind not
listed here (one added without a form) is proposed with its payload as a
JSON object (:data:`JSON_FIELD`).

:func:`payload_of` turns what was typed (form names ``p_<field>``) into the payload: amounts typed in
yuan become fen (:func:`lendcore.core.money.parse_amount`: ``INVALID_AMOUNT``, ``NEGATIVE_AMOUNT``,
``ZERO_AMOUNT``), an optional field left empty is null, a required one left empty is left out (so the
kind refuses it naming the field). :func:`describe` says a payload in words for the approvals queue.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from lendcore.core.errors import ValidationError
from lendcore.core.money import format_fen, parse_amount
from lendcore.core.restructure import RestructureKind
from lendcore.core.transactions import WaiverKind
from lendcore.origination.decision_override import OUTCOMES

FieldType = Literal["fen", "count", "choice", "text", "date", "json"]
#: Form names of payload fields carry this prefix (beside target_id, reason and the CSRF token).
PREFIX: Final = "p_"


@dataclass(frozen=True, slots=True)
class PayloadField:
    name: str
    type: FieldType
    required: bool = True
    choices: tuple[str, ...] = ()


#: The whole payload as one JSON object, for a kind without a declared form.
JSON_FIELD: Final = PayloadField("payload", "json", required=False)

FORMS: Final[Mapping[str, tuple[PayloadField, ...]]] = {
    "waive": (
        PayloadField("kind", "choice", choices=tuple(k.value for k in WaiverKind)),
        PayloadField("amount", "fen", required=False),
    ),
    "write-off": (),
    "payment-reversal": (),
    "limit-override": (PayloadField("new_limit", "fen"),),
    "line-freeze": (),
    "line-close": (),
    "lender-fault": (
        PayloadField("starts_on", "date"),
        PayloadField("ends_on", "date", required=False),
        PayloadField("contract_id", "text", required=False),
    ),
    "hardship-plan": (
        PayloadField("kind", "choice", choices=tuple(k.value for k in RestructureKind)),
        PayloadField("periods", "count"),
    ),
    "decision-override": (
        PayloadField("outcome", "choice", choices=OUTCOMES),
        PayloadField("credit_limit", "fen", required=False),
        PayloadField("grade", "text", required=False),
    ),
    "channel-suspense": (
        PayloadField("action", "choice", choices=("apply", "return")),
        PayloadField("contract_id", "text", required=False),
        PayloadField("reference", "text", required=False),
    ),
}


def form_of(kind: str) -> tuple[PayloadField, ...]:
    """The fields to ask for ``kind`` (:data:`JSON_FIELD` alone for a kind without a form)."""
    return FORMS.get(kind, (JSON_FIELD,))


def _value(field: PayloadField, text: str) -> Any:
    """The payload value of one field as typed (see the module docstring)."""
    if field.type == "fen":
        return parse_amount(text, allow_zero=False)
    if field.type == "count":
        if not text.isascii() or not text.isdigit():
            raise ValidationError(
                f"{field.name} is a whole number", code="INVALID_PROPOSAL_PAYLOAD", field=field.name
            )
        return int(text)
    if field.type == "json":
        try:
            value = json.loads(text or "{}")
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise ValidationError(
                "the payload must be a JSON object", code="INVALID_PROPOSAL_PAYLOAD", field="payload"
            )
        return value
    return text


def payload_of(fields: tuple[PayloadField, ...], values: dict[str, str]) -> dict[str, Any]:
    """The payload of a form's ``values`` (module docstring)."""
    payload: dict[str, Any] = {}
    for field in fields:
        text = values.get(PREFIX + field.name, "").strip()
        if field.type == "json":
            payload.update(_value(field, text))
        elif text:
            payload[field.name] = _value(field, text)
        elif not field.required:
            payload[field.name] = None
    return payload


def describe(kind: str, payload: dict[str, Any]) -> str:
    """A proposal's payload in words for the queue: each field's value, amounts as money."""
    fields = {f.name: f for f in form_of(kind)}
    parts = []
    for name, value in payload.items():
        field = fields.get(name)
        if value is None:
            continue
        shown = (
            format_fen(value)
            if field is not None and field.type == "fen" and isinstance(value, int)
            else value
        )
        parts.append(f"{name}: {shown}")
    return " · ".join(parts)
