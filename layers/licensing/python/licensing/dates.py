"""Calendar rules of the contract: UTC days, terms of N months clamped to the month's end; and the
one clock every part of the system reads (`utc_now`, `today`).

The local dev server may move that clock to another day (`licensing dev clock`, API.md section 5)
so that a license's year passes in minutes; it is the only caller of `set_local_day`. In Lambda
nothing sets it, and the clock is the real one.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

# The local dev server's moved day, as an offset from the real one (the time of day keeps running).
_local_offset: timedelta | None = None


def add_months(day: date, months: int) -> date:
    """The same day N months later, clamped to that month's last day (2027-01-31 + 1 = 2027-02-28)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def utc_now() -> datetime:
    real = datetime.now(UTC)
    return real + _local_offset if _local_offset is not None else real


def set_local_day(day: date | None) -> None:
    """Move this process's clock to `day` (the real time of day on it), or back with None. For the
    local dev server only: every handler it runs in-process then acts on that day."""
    global _local_offset  # one process-wide clock, on purpose
    _local_offset = None if day is None else timedelta(days=(day - datetime.now(UTC).date()).days)


def local_day_moved() -> bool:
    return _local_offset is not None


def today() -> date:
    return utc_now().date()


def iso_timestamp(moment: datetime) -> str:
    """UTC ISO 8601 with a Z and whole seconds, as the contract writes timestamps."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
