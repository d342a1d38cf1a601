"""Opaque prefixed identifiers: ``cus_…``, ``cl_…``, ``ln_…``, ``txn_…``, ``je_…``, ``pay_…``.

An id is the prefix, an underscore and 26 characters of Crockford base32: 48 bits of milliseconds
since the epoch followed by 82 random bits (the ULID layout). Ids sort roughly by creation time, which
keeps B-tree inserts local, reveal nothing else, and are unguessable.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Final

from lendcore.core.errors import ValidationError

_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BODY_LENGTH: Final = 26
_PREFIX_RE: Final = re.compile(r"^[a-z][a-z0-9]{0,7}$")
_ID_RE: Final = re.compile(rf"^(?P<prefix>[a-z][a-z0-9]{{0,7}})_(?P<body>[{_ALPHABET}]{{{_BODY_LENGTH}}})$")

#: Longest id: 8-character prefix + "_" + 26 characters. Id columns are ``String(ID_LENGTH)``.
ID_LENGTH: Final = 35

#: Prefixes in use (documentation; ``new_id`` accepts any well-formed prefix).
PREFIXES: Final = {
    "cus": "customer",
    "card": "bank card",
    "cl": "credit line",
    "app": "application",
    "ln": "contract (loan)",
    "txn": "loan transaction",
    "je": "journal entry",
    "pay": "payment",
    "apv": "maker-checker proposal",
    "oacc": "official repayment account",
}


def new_id(prefix: str) -> str:
    """A new identifier such as ``cus_01J9ZQ3V8M5W7K2N4P6R8T0X1Y``."""
    if not _PREFIX_RE.match(prefix):
        raise ValueError(f"invalid id prefix {prefix!r}")
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    chars = []
    for _ in range(_BODY_LENGTH):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return f"{prefix}_{''.join(reversed(chars))}"


def check_id(value: str, prefix: str) -> str:
    """Return ``value`` if it is a well-formed id with ``prefix``; else ``ValidationError`` ``INVALID_ID``."""
    match = _ID_RE.match(value) if isinstance(value, str) else None
    if match is None or match["prefix"] != prefix:
        raise ValidationError(f"not a valid {prefix}_ identifier: {value!r}", code="INVALID_ID", value=value)
    return value
