"""The fault specification of the channel simulator (``--faults``), parsed and validated.

A spec is comma-separated ``name=value`` pairs; every name is optional::

    latency=0.05 | latency=0.01-0.2     seconds added to every answer (a range: uniform, seeded)
    hang=P            a submit is accepted (the payment exists) but never answered: held hang_for s
    hang_for=S        default 300
    slow=P            a submit is accepted and answered only after slow_for s (past a client timeout)
    slow_for=S        default 10
    settle_after=S    seconds from acceptance to the final state (default 0)
    callback_delay=S  seconds from the final state to its callback (default 0)
    lost_callback=P   the final callback is never sent (query or statement must find the outcome)
    duplicate_callback=P  the final callback is sent twice
    out_of_order=P    a stale "processing" callback is sent after the final one
    late_success=P    the payment stays processing (no callback) for late_after s, then succeeds
    late_after=S      default 900
    wrong_amount=P    the final callback carries the amount plus wrong_amount_by fen (default 100)
    false_failure=P   an inbound payment that succeeds is reported failed (SYSTEM_ERROR) by its
                      callbacks and queries; its statement row says it succeeded (the money was taken)
    insufficient_funds=P  card_frozen=P  limit_exceeded=P  bank_maintenance=P
                      the payment fails with that code (their sum at most 1)
    outage=A-B[+C-D…] windows, in seconds since the simulator started, when every call fails
    outage_mode=fail|hang   fail: 503 BANK_MAINTENANCE (default); hang: held hang_for s
    statement_missing=P    a finished payment is left out of the statement
    statement_mismatch=P   a statement row carries the amount plus one fen
    statement_extra=N      N rows the channel never received are added to each statement

P is a probability in [0, 1]; S seconds ≥ 0. A bad spec raises ``ValidationError``
``FAULT_SPEC_INVALID`` naming the pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Final

from lendcore.core.errors import ValidationError

CODE: Final = "FAULT_SPEC_INVALID"

#: The failure faults, by spec name → channel failure code.
FAILURE_FAULTS: Final = {
    "insufficient_funds": "INSUFFICIENT_FUNDS",
    "card_frozen": "CARD_FROZEN",
    "limit_exceeded": "LIMIT_EXCEEDED",
    "bank_maintenance": "BANK_MAINTENANCE",
}
_PROBABILITIES: Final = frozenset(
    {
        "hang",
        "slow",
        "lost_callback",
        "duplicate_callback",
        "out_of_order",
        "late_success",
        "wrong_amount",
        "false_failure",
        "statement_missing",
        "statement_mismatch",
        *FAILURE_FAULTS,
    }
)
_SECONDS: Final = frozenset({"hang_for", "slow_for", "settle_after", "callback_delay", "late_after"})
MAX_SECONDS: Final = 86_400.0


@dataclass(frozen=True, slots=True)
class FaultSpec:
    latency: tuple[float, float] = (0.0, 0.0)
    hang: float = 0.0
    hang_for: float = 300.0
    slow: float = 0.0
    slow_for: float = 10.0
    settle_after: float = 0.0
    callback_delay: float = 0.0
    lost_callback: float = 0.0
    duplicate_callback: float = 0.0
    out_of_order: float = 0.0
    late_success: float = 0.0
    late_after: float = 900.0
    wrong_amount: float = 0.0
    wrong_amount_by: int = 100
    false_failure: float = 0.0
    insufficient_funds: float = 0.0
    card_frozen: float = 0.0
    limit_exceeded: float = 0.0
    bank_maintenance: float = 0.0
    outages: tuple[tuple[float, float], ...] = ()
    outage_mode: str = "fail"
    statement_missing: float = 0.0
    statement_mismatch: float = 0.0
    statement_extra: int = 0
    text: str = field(default="", compare=False)

    def failure_weights(self) -> list[tuple[str, float]]:
        return [(code, getattr(self, name)) for name, code in FAILURE_FAULTS.items()]

    def in_outage(self, seconds_since_start: float) -> bool:
        return any(start <= seconds_since_start < end for start, end in self.outages)


NO_FAULTS: Final = FaultSpec()
_NAMES: Final = {f.name for f in fields(FaultSpec)} - {"outages", "text"} | {"outage"}


def _invalid(pair: str, why: str) -> ValidationError:
    return ValidationError(f"fault spec {pair!r}: {why}", code=CODE, pair=pair)


def _number(pair: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _invalid(pair, f"{text!r} is not a number") from None
    if not 0 <= value <= MAX_SECONDS or value != value:  # NaN is not equal to itself
        raise _invalid(pair, f"{text!r} is out of range 0..{MAX_SECONDS:g}")
    return value


def _range(pair: str, text: str) -> tuple[float, float]:
    low, sep, high = text.partition("-")
    start = _number(pair, low)
    end = _number(pair, high) if sep else start
    if end < start:
        raise _invalid(pair, "the range ends before it starts")
    return start, end


def parse_faults(spec: str | None) -> FaultSpec:
    """Parse a ``--faults`` spec (empty or None: no faults)."""
    if spec is None or not spec.strip():
        return NO_FAULTS
    values: dict[str, object] = {}
    for raw in spec.split(","):
        pair = raw.strip()
        name, sep, text = pair.partition("=")
        name = name.strip()
        text = text.strip()
        if not sep or not name or not text:
            raise _invalid(pair, "expected name=value")
        if name not in _NAMES:
            raise _invalid(pair, f"unknown fault {name!r} (known: {', '.join(sorted(_NAMES))})")
        if name in values or (name == "outage" and "outages" in values):
            raise _invalid(pair, f"{name} is given twice")
        values.update(_value(pair, name, text))
    failure_total = sum(float(str(values.get(name, 0.0))) for name in FAILURE_FAULTS)
    if failure_total > 1.0 + 1e-9:
        raise ValidationError(f"the failure probabilities add up to {failure_total:g} > 1", code=CODE)
    return FaultSpec(**values, text=spec)  # type: ignore[arg-type]


def _value(pair: str, name: str, text: str) -> dict[str, object]:
    if name in _PROBABILITIES:
        value = _number(pair, text)
        if value > 1:
            raise _invalid(pair, "a probability must be within 0..1")
        return {name: value}
    if name in _SECONDS:
        return {name: _number(pair, text)}
    if name == "latency":
        return {"latency": _range(pair, text)}
    if name == "outage":
        return {"outages": tuple(sorted(_range(pair, window) for window in text.split("+")))}
    if name == "outage_mode":
        if text not in ("fail", "hang"):
            raise _invalid(pair, "outage_mode is fail or hang")
        return {name: text}
    # wrong_amount_by, statement_extra: whole numbers
    if not text.isdigit() or int(text) > 1_000_000:
        raise _invalid(pair, f"{text!r} is not a whole number 0..1000000")
    return {name: int(text)}
