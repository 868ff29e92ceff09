"""Reports staff read to plan their week."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from ..errors import InvalidInput
from ..models import Contact, License, LicenseStatus
from ..paging import PAGE_SIZE, Page, scope_of, walk


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


def versions(store: Any, product: str, *, today: date, days: int) -> list[dict[str, Any]]:
    """Which extension and host versions the product's sites run: the activated sites of its ACTIVE
    licenses (the sparse `active` index, paged) seen within `days` days, counted per (version, host
    version), most sites first. A site that never sent a version counts under None."""
    if not 1 <= days <= 366:
        raise InvalidInput("--days is between 1 and 366")
    since = today - timedelta(days=days - 1)
    counts: Counter[tuple[str | None, str | None]] = Counter()
    for license in store.active_licenses(product):
        for site in license.sites.values():
            if site.last_seen_on is not None and site.last_seen_on >= since:
                counts[(site.version, site.host_version)] += 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], str(item[0][0]), str(item[0][1])))
    return [
        {"version": version, "host_version": host_version, "sites": sites}
        for (version, host_version), sites in ordered
    ]


def suppressed(queries: Any, *, after: str | None = None, page_size: int = PAGE_SIZE) -> Page[Contact]:
    """Contacts whose mail is suppressed (a permanent bounce, a complaint), the latest first: a page
    of the sparse index over suppressed contacts, one Query (`queries` is StaffQueries)."""
    part = queries.suppressed_contacts()
    return walk(
        queries.query_page,
        [part],
        queries.contact,
        scope=scope_of("suppressed"),
        after=after,
        page_size=page_size,
    )


def suppressed_count(queries: Any) -> int:
    """How many contacts are suppressed (a COUNT query on the same index: no item comes back)."""
    return int(queries.count(queries.suppressed_contacts()))
