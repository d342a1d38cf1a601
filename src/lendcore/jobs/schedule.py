"""Schedule specs for timed jobs, and the instants they name (pure; time zone Asia/Shanghai unless
told otherwise; China has no daylight saving time, but the arithmetic goes through ``zoneinfo`` all
the same).

Two forms:

* ``every <n><s|m|h>`` (``every 30s``, ``every 5m``, ``every 1h``): instants at local midnight plus
  whole multiples of the interval, every day (1 s to 24 h). Anchored, so every process computes the
  same instants.
* five cron fields ``minute hour day-of-month month day-of-week`` (``30 9,15 * * *``: 09:30 and 15:30):
  ``*``, ``a``, ``a-b``, lists ``a,b``, steps ``*/n`` and ``a-b/n``; day of week 0-7 (0 and 7 are Sunday,
  1 Monday). As in cron, when both day fields are restricted a day matching either runs.

:func:`instants` lists the instants in ``(after, until]`` (UTC in, UTC out). A bad spec raises
``ValidationError`` ``INVALID_SCHEDULE``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from lendcore.core.errors import ValidationError

BUSINESS_TZ: Final = ZoneInfo("Asia/Shanghai")
CODE: Final = "INVALID_SCHEDULE"
_EVERY: Final = re.compile(r"^every\s+(\d{1,6})\s*([smh])$")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600}
#: name, low, high
_FIELDS: Final = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)


@dataclass(frozen=True, slots=True)
class Every:
    interval: timedelta


@dataclass(frozen=True, slots=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday … 6 = Saturday (7 folded onto 0)
    days_restricted: bool
    weekdays_restricted: bool

    def runs_on(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        on_day = day.day in self.days
        on_weekday = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return on_day or on_weekday
        return on_day and on_weekday


Spec = Every | Cron


def _invalid(text: str, why: str) -> ValidationError:
    return ValidationError(f"schedule {text!r}: {why}", code=CODE)


def _field(text: str, part: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for item in part.split(","):
        body, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise _invalid(text, f"bad step in the {name} field: {item!r}")
            step = int(step_text)
        if body == "*":
            start, end = low, high
        else:
            first, dash, last = body.partition("-")
            if not first.isdigit() or (dash and not last.isdigit()):
                raise _invalid(text, f"bad {name} field: {item!r}")
            start, end = int(first), int(last) if dash else int(first)
            if step_text and not dash:
                end = high
        if not low <= start <= end <= high:
            raise _invalid(text, f"the {name} field {item!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_schedule(text: str) -> Spec:
    spec = " ".join(text.split()).lower()
    every = _EVERY.match(spec)
    if every:
        seconds = int(every.group(1)) * _UNITS[every.group(2)]
        if not 1 <= seconds <= 86_400:
            raise _invalid(text, "an interval is 1 s to 24 h")
        return Every(timedelta(seconds=seconds))
    parts = spec.split(" ")
    if len(parts) != 5:
        raise _invalid(text, "expected 'every <n>s|m|h' or five cron fields")
    fields = [_field(text, part, *info) for part, info in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in fields[4])
    return Cron(fields[0], fields[1], fields[2], fields[3], weekdays, parts[2] != "*", parts[4] != "*")


def _local_days(after: datetime, until: datetime, tz: ZoneInfo) -> list[date]:
    first, last = after.astimezone(tz).date(), until.astimezone(tz).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def instants(spec: Spec, after: datetime, until: datetime, tz: ZoneInfo = BUSINESS_TZ) -> list[datetime]:
    """The instants of ``spec`` in ``(after, until]``, ascending, as aware datetimes in ``after``'s zone."""
    if after.tzinfo is None or until.tzinfo is None:
        raise ValueError("instants needs aware datetimes")
    if until <= after:
        return []
    found: list[datetime] = []
    for day in _local_days(after, until, tz):
        midnight = datetime.combine(day, time(0), tz)
        if isinstance(spec, Every):
            steps = range(0, 86_400, int(spec.interval.total_seconds()))
            candidates = [midnight + timedelta(seconds=s) for s in steps]
        elif spec.runs_on(day):
            candidates = [
                datetime.combine(day, time(h, m), tz)
                for h in sorted(spec.hours)
                for m in sorted(spec.minutes)
            ]
        else:
            candidates = []
        found.extend(c.astimezone(after.tzinfo) for c in candidates if after < c <= until)
    return found
