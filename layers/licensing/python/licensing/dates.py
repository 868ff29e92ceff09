"""Calendar rules of the contract: UTC days, terms of N months clamped to the month's end."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime


def add_months(day: date, months: int) -> date:
    """The same day N months later, clamped to that month's last day (2027-01-31 + 1 = 2027-02-28)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def utc_now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return utc_now().date()


def iso_timestamp(moment: datetime) -> str:
    """UTC ISO 8601 with a Z and whole seconds, as the contract writes timestamps."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
