"""The published consent texts shipped with lendcore (``lendcore/data/consent_texts.toml``).

:func:`default_consent_texts` loads and checks them once per process (every text must match its
SHA-256; a version is published once). See :class:`lendcore.core.consent.ConsentTexts`.
"""

from __future__ import annotations

import functools
import tomllib
from datetime import date
from importlib import resources
from typing import Any

from lendcore.core.consent import ConsentKind, ConsentTexts, PublishedText
from lendcore.core.errors import ConfigurationError

RESOURCE = "data/consent_texts.toml"


def parse_consent_texts(document: str) -> ConsentTexts:
    """The registry in a TOML document (``[[text]]`` entries: kind, version, published_on, sha256,
    text); ``INVALID_CONSENT_TEXTS`` / ``CONSENT_TEXT_ALTERED`` on a bad one."""
    try:
        entries: list[dict[str, Any]] = tomllib.loads(document).get("text", [])
        texts = tuple(
            PublishedText(
                kind=ConsentKind(e["kind"]),
                version=str(e["version"]),
                published_on=_date(e["published_on"]),
                sha256=str(e["sha256"]),
                text=str(e["text"]),
            )
            for e in entries
        )
    except (tomllib.TOMLDecodeError, KeyError, ValueError, TypeError) as error:
        raise ConfigurationError(f"invalid consent texts: {error}", code="INVALID_CONSENT_TEXTS") from None
    return ConsentTexts(texts)


def _date(value: Any) -> date:
    if not isinstance(value, date):
        raise ValueError(f"published_on must be a date, got {value!r}")
    return value


@functools.lru_cache(maxsize=1)
def default_consent_texts() -> ConsentTexts:
    """The shipped registry (loaded once)."""
    document = resources.files("lendcore").joinpath(RESOURCE).read_text(encoding="utf-8")
    return parse_consent_texts(document)
