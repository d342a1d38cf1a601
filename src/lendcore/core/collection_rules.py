"""Collection (催收) contact rules, judged at contact time. Pure: the moment is an argument.

- Only the debtor is contacted (no relatives, colleagues or other third parties).
- No contact between 22:00 and 08:00 Asia/Shanghai (the start is refused, 08:00 is allowed) unless
  the debtor agreed to be contacted then.
- At most 3 *connected* calls per debtor per Shanghai calendar day: the 4th call is refused; SMS and
  letters do not count against it, unanswered calls neither.

Every attempt is logged by the caller, a refused one with its reason code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from lendcore.core.errors import ValidationError

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")
QUIET_FROM: Final = time(22, 0)
QUIET_UNTIL: Final = time(8, 0)
MAX_CONNECTED_CALLS_PER_DAY: Final = 3


class Channel(StrEnum):
    CALL = "call"
    SMS = "sms"
    LETTER = "letter"


class Refusal(StrEnum):
    """Why an attempt was refused (stored with the attempt)."""

    QUIET_HOURS = "QUIET_HOURS"
    CALL_LIMIT = "CALL_LIMIT"
    NOT_DEBTOR = "NOT_DEBTOR"


@dataclass(frozen=True, slots=True)
class ContactAttempt:
    debtor_id: str
    channel: Channel
    at: datetime  # timezone-aware
    to_debtor: bool = True
    quiet_hours_agreed: bool = False


def local_time(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValidationError("contact time must carry a time zone", code="NAIVE_TIMESTAMP")
    return at.astimezone(SHANGHAI)


def in_quiet_hours(at: datetime) -> bool:
    clock = local_time(at).time()
    return clock >= QUIET_FROM or clock < QUIET_UNTIL


def judge(attempt: ContactAttempt, connected_calls_today: int) -> Refusal | None:
    """None when the attempt may go ahead, else why not. ``connected_calls_today``: the debtor's
    connected calls already logged on the Shanghai day of ``attempt.at``."""
    if not attempt.to_debtor:
        return Refusal.NOT_DEBTOR
    if in_quiet_hours(attempt.at) and not attempt.quiet_hours_agreed:
        return Refusal.QUIET_HOURS
    if attempt.channel is Channel.CALL and connected_calls_today >= MAX_CONNECTED_CALLS_PER_DAY:
        return Refusal.CALL_LIMIT
    return None


class QueueBucket(StrEnum):
    M1 = "M1"  # DPD 1–30
    M2 = "M2"  # 31–60
    M3_PLUS = "M3+"  # over 60


def queue_bucket(dpd: int) -> QueueBucket | None:
    """The collection queue of a contract by DPD (None when not overdue)."""
    if dpd <= 0:
        return None
    if dpd <= 30:
        return QueueBucket.M1
    return QueueBucket.M2 if dpd <= 60 else QueueBucket.M3_PLUS
