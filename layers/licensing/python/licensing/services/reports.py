"""Reports staff read to plan their week."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ..errors import InvalidInput
from ..models import License, LicenseStatus


def expiring(store: Any, *, today: date, days: int) -> list[License]:
    """ACTIVE licenses whose term ends within `days` days from today (one query per day on the
    sparse `ends` index), soonest first; self-renewing subscriptions are included and marked."""
    if not 0 <= days <= 366:
        raise InvalidInput("--days is between 0 and 366")
    found: list[License] = []
    for offset in range(days + 1):
        day = today + timedelta(days=offset)
        found += [lic for lic in store.licenses_ending_on(day) if lic.status is LicenseStatus.ACTIVE]
    return sorted(found, key=lambda lic: (lic.ends_on, lic.id))
