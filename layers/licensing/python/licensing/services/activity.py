"""Licenses issued and renewed lately: the console's overview and `licensing reports activity`.

The rule: a license is issued when a history entry says it was made (`issued`: a sale or staff;
`imported`: moved from the earlier system) and renewed for each history entry `renewed` (Stripe, or
a payment recorded by staff); which actions count is `keys.ACTIVITY_KINDS`, where the entries get
their gsi2 keys. Those keys put each such entry in a partition per kind and month, sorted by time,
so that the last N days are one Query per month (two for 30 days) from a lowest sort key, newest
first, and the count is a COUNT query per month: nothing else is read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ..errors import InvalidInput
from ..models import HistoryEntry, License
from ..paging import PAGE_SIZE, Page, Part, scope_of, walk

KINDS = ("issued", "renewed")
MAX_DAYS = 366


@dataclass(frozen=True)
class Activity:
    """One license issued or renewed: the history entry that says so, and the license as it is now."""

    entry: HistoryEntry
    license: License


def _since(today: date, days: int) -> date:
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"the days are between 1 and {MAX_DAYS}")
    return today - timedelta(days=days)


def _parts(queries: Any, kind: str, since: date, today: date) -> list[Part]:
    """The month partitions from today's back to the one `since` falls in, newest first."""
    if kind not in KINDS:
        raise InvalidInput(f"no activity {kind!r} (one of {', '.join(KINDS)})")
    months: list[date] = []
    month = today.replace(day=1)
    while month >= since.replace(day=1):
        months.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    return [queries.activity(kind, month, since) for month in months]


def activity_page(
    queries: Any,
    kind: str,
    *,
    today: date,
    days: int = 30,
    after: str | None = None,
    page_size: int = PAGE_SIZE,
) -> Page[Activity]:
    """A page of the licenses issued (or renewed) in the last `days` days, the latest first: one
    Query of the entries (more only where a month ends) and one BatchGetItem of their licenses.
    A cursor continues only the same list on the same day (else BadCursor: start again); `queries`
    is StaffQueries."""
    since = _since(today, days)
    parts = _parts(queries, kind, since, today)
    scope = scope_of("activity", kind, since.isoformat(), today.isoformat())
    entries = walk(
        queries.query_page, parts, queries.history_entry, scope=scope, after=after, page_size=page_size
    )
    licenses = queries.licenses_by_id([entry.license_id for entry in entries.items])
    # A license is never deleted (erasure keeps it), so every entry has its license.
    found = [
        Activity(entry, licenses[entry.license_id]) for entry in entries.items if entry.license_id in licenses
    ]
    return Page(found, entries.next, entries.read)


def activity_count(queries: Any, kind: str, *, today: date, days: int = 30) -> int:
    """How many licenses were issued (or renewals made) in the last `days` days: a COUNT query per
    month partition, no item read."""
    since = _since(today, days)
    return sum(int(queries.count(part)) for part in _parts(queries, kind, since, today))
