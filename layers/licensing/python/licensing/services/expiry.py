"""The daily lifecycle job: reminders before a license ends, the "expired" mail the day after, and
the EXPIRED status written down once the grace period is over.

Expiry is computed at read time everywhere else; this job only writes it down and sends emails.
It reads only what is due: one query per day on the sparse `ends` index (reminders, expiry mail)
and one on the sparse `lapse` index (status). A day's reminders (every offset) are announced as
one `RemindersDue` per account, so that each contact gets one reminder mail that day listing every
license due; the notifier lists each license once per term and offset however often the job runs
(`services.reminders`). A day the job missed is caught up on its next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from ..errors import NotFound, TransientError
from ..events import Event, LicenseExpired, Reminder, RemindersDue
from ..lifecycle import Action, grace_ends_on, transition
from ..models import HistoryEntry, License, LicenseStatus
from .licenses import Change, LicenseWriter, update_license

logger = Logger(service="licensing")

ACTOR = "lifecycle job"
DEFAULT_REMINDER_DAYS = (30, 7, 1)
CATCH_UP_DAYS = 14  # a job that stopped for longer than this resumes from today
# Licenses listed in one reminder mail at most: keeps the event below EventBridge's 256 KB entry and
# the mail readable; an account with more due on one day gets a mail per this many.
MAX_REMINDERS_PER_MAIL = 100
_LAST_RUN = "job:expiry:last-day"


class ExpiryStore(LicenseWriter, Protocol):
    def licenses_ending_on(self, day: date) -> Any: ...
    def licenses_lapsing_on(self, day: date) -> Any: ...
    def get_claim(self, key: str) -> dict[str, Any] | None: ...
    def remember(self, key: str, detail: dict[str, Any], *, ttl_days: int) -> None: ...


class Publisher(Protocol):
    def publish(self, events: list[Event]) -> None: ...


@dataclass
class ExpiryReport:
    days: list[str] = field(default_factory=list)
    reminders: int = 0  # licenses due a reminder
    reminder_accounts: int = 0  # accounts mailed about them (one reminder mail per contact and day)
    expired_mails: int = 0
    expired: int = 0
    licenses_read: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "reminders": self.reminders,
            "reminder_accounts": self.reminder_accounts,
            "expired_mails": self.expired_mails,
            "expired": self.expired,
            "licenses_read": self.licenses_read,
        }


def run_expiry(
    store: ExpiryStore,
    events: Publisher,
    *,
    today: date,
    reminder_days: tuple[int, ...] = DEFAULT_REMINDER_DAYS,
) -> ExpiryReport:
    """Run the job for `today`, and for the days since its last run that it missed."""
    last = store.get_claim(_LAST_RUN)
    first = today
    if last and last.get("day"):
        following = date.fromisoformat(str(last["day"])) + timedelta(days=1)
        first = max(min(following, today), today - timedelta(days=CATCH_UP_DAYS))
    report = ExpiryReport()
    day = first
    while day <= today:
        _run_day(store, events, day, reminder_days, report)
        store.remember(_LAST_RUN, {"day": day.isoformat()}, ttl_days=3650)
        day += timedelta(days=1)
    logger.info("expiry job ran", extra=report.as_dict())
    return report


def _run_day(
    store: ExpiryStore, events: Publisher, day: date, reminder_days: tuple[int, ...], report: ExpiryReport
) -> None:
    report.days.append(day.isoformat())
    announcements: list[Event] = []
    due: dict[str, list[Reminder]] = {}  # account id -> its licenses due a reminder today
    for offset in reminder_days:
        for license in store.licenses_ending_on(day + timedelta(days=offset)):
            report.licenses_read += 1
            if license.status is LicenseStatus.ACTIVE and not license.auto_renews:
                due.setdefault(license.account_id, []).append(
                    Reminder(license_id=license.id, ends_on=license.ends_on.isoformat(), days_left=offset)
                )
                report.reminders += 1
    for account_id, reminders in due.items():
        report.reminder_accounts += 1
        for start in range(0, len(reminders), MAX_REMINDERS_PER_MAIL):
            chunk = reminders[start : start + MAX_REMINDERS_PER_MAIL]
            announcements.append(RemindersDue(account_id=account_id, day=day.isoformat(), reminders=chunk))
    for license in store.licenses_ending_on(day - timedelta(days=1)):
        report.licenses_read += 1
        if license.status is LicenseStatus.ACTIVE and not license.auto_renews:
            announcements.append(_expired(license))
            report.expired_mails += 1
    if announcements:
        events.publish(announcements)
    for license in store.licenses_lapsing_on(day):
        report.licenses_read += 1
        if _write_expired(store, license.id, day):
            report.expired += 1


def _expired(license: License) -> Event:
    term = license.ends_on.isoformat()
    return LicenseExpired(
        license_id=license.id,
        account_id=license.account_id,
        product=license.product,
        ends_on=term,
        grace_days=license.grace_days,
        # Once per license and term, whatever the number of runs (":None" is the key's old offset
        # part, kept so that a mail sent before an upgrade is not sent again).
        dedupe_key=f"{LicenseExpired.detail_type}:{license.id}:{term}:None",
    )


def _write_expired(store: ExpiryStore, license_id: str, day: date) -> bool:
    """Write EXPIRED on a license whose grace ended before `day`, unless it changed meanwhile."""

    def expire(license: License) -> Change | None:
        if license.status is not LicenseStatus.ACTIVE or grace_ends_on(license) >= day:
            return None  # renewed, revoked or suspended since the index was read
        expired = license.model_copy(update={"status": transition(license.status, Action.EXPIRE)})
        entry = HistoryEntry(
            license_id=license.id,
            actor=ACTOR,
            action="expired",
            detail={"ends_on": license.ends_on.isoformat(), "grace_days": license.grace_days},
            customer_visible=True,
        )
        return Change(expired, [entry])

    try:
        updated = update_license(
            store,
            license_id,
            expire,
            attempts=3,
            exhausted=TransientError("a lapsing license kept changing; the next run writes it"),
        )
    except NotFound:
        return False  # deleted since the index was read
    return updated is not None
