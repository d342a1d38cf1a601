"""The API's conventions as reusable pydantic types: request models, money, ids, dates.

* :class:`ApiModel`: the base of every request body. Unknown fields are refused (``extra="forbid"``,
  field code ``UNKNOWN_FIELD``).
* Money **in** a request is an integer number of fen (``"amount": 123456`` is ¥1,234.56):
  :data:`PositiveFen` (1 … ``MAX_AMOUNT``, refused with ``AMOUNT_NOT_POSITIVE`` / ``AMOUNT_TOO_LARGE``
  like every use case refuses it) or :data:`NonNegativeFen`. Strict: ``"100"``, ``100.0`` and
  ``true`` are not amounts. Money **in** a response is a :class:`Money` object,
  ``{"fen": 123456, "display": "¥1,234.56"}``: the integer to compute with, the text to show.
* Ids are opaque prefixed strings (``cus_…``): ``Annotated[str, IdOf("cus")]`` checks them with
  :func:`lendcore.store.ids.check_id` (``INVALID_ID``) and documents the pattern;
  :data:`CustomerId`, :data:`LineId`, :data:`ContractId`, :data:`PaymentId` are ready-made.
* Dates are ISO 8601 calendar dates, ``"2026-03-20"`` (:data:`IsoDate`, ``INVALID_DATE``).

A lendcore check that refuses a value becomes a field error whose ``code`` is the refusal's code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler, WithJsonSchema
from pydantic.functional_validators import PlainValidator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from lendcore.core.calendar import parse_date
from lendcore.core.errors import LendcoreError, ValidationError
from lendcore.core.money import MAX_AMOUNT, Fen, check_fen, format_fen, too_large
from lendcore.store.ids import check_id


class ApiModel(BaseModel):
    """Base of request bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


def as_field_error(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``check`` with a :class:`LendcoreError` turned into a pydantic error of the same code."""

    def validate(value: Any) -> Any:
        try:
            return check(value)
        except LendcoreError as error:
            raise PydanticCustomError(error.code, error.message) from None

    return validate


# --- money ----------------------------------------------------------------------------------------
def _positive_fen(value: Any) -> Fen:
    return check_fen(value)


def _non_negative_fen(value: Any) -> Fen:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("amount must be a whole number of fen, zero or more", code="INVALID_AMOUNT")
    if value > MAX_AMOUNT:
        raise too_large(value, MAX_AMOUNT)
    return value


def _fen_schema(minimum: int, description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "maximum": MAX_AMOUNT, "description": description}


PositiveFen = Annotated[
    int,
    PlainValidator(as_field_error(_positive_fen)),
    WithJsonSchema(_fen_schema(1, "an amount in fen (¥1.00 = 100), 1 to 10,000,000,000")),
]
NonNegativeFen = Annotated[
    int,
    PlainValidator(as_field_error(_non_negative_fen)),
    WithJsonSchema(_fen_schema(0, "an amount in fen (¥1.00 = 100), 0 to 10,000,000,000")),
]


class Money(BaseModel):
    """An amount in a response: integer fen and its display text."""

    fen: int
    display: str

    @classmethod
    def of(cls, fen: Fen) -> Money:
        return cls(fen=fen, display=format_fen(fen))


# --- ids ------------------------------------------------------------------------------------------
_CROCKFORD: Final = "[0-9A-HJKMNP-TV-Z]"


@dataclass(frozen=True, slots=True)
class IdOf:
    """pydantic metadata: ``Annotated[str, IdOf("ln")]`` is a well-formed ``ln_…`` id."""

    prefix: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        prefix = self.prefix
        return core_schema.no_info_plain_validator_function(
            as_field_error(lambda value: check_id(value, prefix)),
            serialization=core_schema.to_string_ser_schema(),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": f"^{re.escape(self.prefix)}_{_CROCKFORD}{{26}}$",
            "examples": [f"{self.prefix}_01JF{'0' * 22}"],
        }


CustomerId = Annotated[str, IdOf("cus")]
LineId = Annotated[str, IdOf("cl")]
ContractId = Annotated[str, IdOf("ln")]
PaymentId = Annotated[str, IdOf("pay")]
StaffUserId = Annotated[str, IdOf("stf")]
ProposalId = Annotated[str, IdOf("apv")]


# --- dates ----------------------------------------------------------------------------------------
_ISO_DATE: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValidationError("a date must look like 2026-03-20", code="INVALID_DATE")
    return parse_date(value)


@dataclass(frozen=True, slots=True)
class _IsoDateSchema:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            as_field_error(_iso_date),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda value: value.isoformat(), when_used="json"
            ),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "format": "date", "examples": ["2026-03-20"]}


IsoDate = Annotated[date, _IsoDateSchema()]


# --- installments ---------------------------------------------------------------------------------
class InstallmentRef(BaseModel):
    """What every per-installment answer starts with (a contract's installment, what a repayment paid
    on one): which installment, by its number and due date. The contracts' and the
    repayments' per-installment answers extend this one model rather than each declaring it."""

    period: int
    due_date: date
