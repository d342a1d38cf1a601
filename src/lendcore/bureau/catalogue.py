"""The bureau field catalogue (``fields.toml`` in this package), loaded and validated once, and the
check of one record's segments against it (the project's own schema check: the catalogue is the
schema, so a message file is valid when every record passes :func:`check_record`)."""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any, Final

from lendcore.core.errors import ConfigurationError

KINDS: Final = frozenset({"text", "code", "date", "fen", "count", "status24"})
_STATUS24: Final = re.compile(r"[N1-7C*#/]{24}")
_WHOLE: Final = re.compile(r"0|[1-9][0-9]{0,17}")

#: A record as built: segment tag → field tag → text value.
Segments = dict[str, dict[str, str]]


@dataclass(frozen=True, slots=True)
class Field:
    tag: str
    label: str
    kind: str
    required: bool
    max_length: int | None = None
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Segment:
    tag: str
    label: str
    fields: tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class Catalogue:
    message_tag: str
    record_tag: str
    record_type: str
    segments: tuple[Segment, ...]

    def segment(self, tag: str) -> Segment | None:
        return next((s for s in self.segments if s.tag == tag), None)


def _bad(message: str) -> ConfigurationError:
    return ConfigurationError(message, code="BUREAU_CATALOGUE_INVALID")


def _field(raw: dict[str, Any], segment: str) -> Field:
    kind = raw.get("kind")
    tag = raw.get("tag")
    if not isinstance(tag, str) or not tag or kind not in KINDS:
        raise _bad(f"segment {segment}: field needs a tag and a kind of {sorted(KINDS)}: {raw}")
    values = tuple(str(v) for v in raw.get("values", ()))
    if kind == "code" and not values:
        raise _bad(f"segment {segment}: code field {tag} lists no values")
    max_length = raw.get("max")
    if kind == "text" and not (isinstance(max_length, int) and max_length > 0):
        raise _bad(f"segment {segment}: text field {tag} needs a positive max")
    return Field(
        tag, str(raw.get("label", "")), str(kind), bool(raw.get("required", False)), max_length, values
    )


def parse_catalogue(text: str) -> Catalogue:
    """Parse and validate a catalogue; a bad one raises BUREAU_CATALOGUE_INVALID."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _bad(f"bureau catalogue is not TOML: {error}") from error
    segments: list[Segment] = []
    for raw in data.get("segment", []):
        tag = str(raw.get("tag", ""))
        fields = tuple(_field(f, tag) for f in raw.get("fields", []))
        tags = [f.tag for f in fields]
        if not tag or not fields or len(set(tags)) != len(tags):
            raise _bad(f"segment {tag!r} needs a tag and uniquely tagged fields")
        segments.append(Segment(tag, str(raw.get("label", "")), fields))
    if not segments or len({s.tag for s in segments}) != len(segments):
        raise _bad("bureau catalogue needs uniquely tagged segments")
    try:
        return Catalogue(str(data["message"]), str(data["record"]), str(data["record_type"]), tuple(segments))
    except KeyError as error:
        raise _bad(f"bureau catalogue lacks {error}") from error


@functools.cache
def load_catalogue() -> Catalogue:
    """The catalogue shipped with the package."""
    return parse_catalogue(resources.files("lendcore.bureau").joinpath("fields.toml").read_text("utf-8"))


def _value_problem(field: Field, value: str) -> str | None:
    if field.kind == "text":
        return None if len(value) <= (field.max_length or 0) else f"longer than {field.max_length}"
    if field.kind == "code":
        return None if value in field.values else f"not one of {list(field.values)}"
    if field.kind in ("fen", "count"):
        return None if _WHOLE.fullmatch(value) else "not a non-negative whole number"
    if field.kind == "status24":
        return None if _STATUS24.fullmatch(value) else "not 24 status characters"
    try:  # date
        date.fromisoformat(value)
    except ValueError:
        return "not a YYYY-MM-DD date"
    return None if len(value) == 10 else "not a YYYY-MM-DD date"


def check_record(catalogue: Catalogue, segments: Segments) -> list[str]:
    """Every way ``segments`` departs from the catalogue (empty when the record is valid)."""
    problems: list[str] = []
    for seg_tag, values in segments.items():
        segment = catalogue.segment(seg_tag)
        if segment is None:
            problems.append(f"{seg_tag}: unknown segment")
            continue
        known = {f.tag for f in segment.fields}
        problems.extend(f"{seg_tag}.{tag}: unknown field" for tag in values if tag not in known)
        for field in segment.fields:
            value = values.get(field.tag)
            if value is None:
                if field.required:
                    problems.append(f"{seg_tag}.{field.tag}: required")
                continue
            problem = _value_problem(field, value)
            if problem is not None:
                problems.append(f"{seg_tag}.{field.tag}: {value!r} {problem}")
    if "BsSgmt" not in segments:
        problems.append("BsSgmt: every record has a base segment")
    return problems
