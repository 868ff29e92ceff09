"""The domain events: one model each, its EventBridge detail type declared once, here.

Producers build these models (a misspelt field or event is an error where it is written, not an
event the bus silently drops); the catalogue's queue routing derives from `EVENTS`; the notifier
reads them back with `parse`. An event carries ids and what changed, never a copy of state: the
worker reads the state when it acts.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from .errors import LicensingError


class UnknownEvent(LicensingError):
    """A detail type that no model declares (a message from a newer or older version)."""

    code = "UNKNOWN_EVENT"


class Event(BaseModel):
    """A domain event: `detail_type` names it on the bus; `dedupe_key` makes its email once-only."""

    detail_type: ClassVar[str]
    # Mail a customer waits for (a key, a sign-in link) travels on "transactional"; announcements
    # and reminders on "bulk", so that a blast never holds a key back (DESIGN.md).
    queue: ClassVar[str] = "transactional"

    # Unknown fields from a newer producer are ignored on read, so a rolling deploy drops nothing.
    # Built at first use (defer_build): each function sends or reads a few of these.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True, hide_input_in_errors=True)

    dedupe_key: str | None = None

    @property
    def detail(self) -> dict[str, Any]:
        """The EventBridge detail: the model's fields as JSON values."""
        return self.model_dump(mode="json")


class LicensesAnnounced(Event):
    """New licenses of one sale, announced in one email."""

    license_ids: list[str]
    account_id: str
    product: str


class LicenseIssued(LicensesAnnounced):
    detail_type = "LicenseIssued"


class LicensePending(LicensesAnnounced):
    """Licenses issued before their payment arrived (SEPA, bank transfer)."""

    detail_type = "LicensePending"


class LicensesWithoutContact(LicensesAnnounced):
    """A paid checkout without any email address: its licenses exist, nobody can receive them;
    staff are told so that they attach a contact and resend."""

    detail_type = "LicensesWithoutContact"

    checkout_session: str


class PaymentFailed(Event):
    detail_type = "PaymentFailed"

    license_ids: list[str] = []
    account_id: str
    product: str | None = None


class LicenseEvent(Event):
    """An event about one license."""

    license_id: str
    account_id: str
    product: str


class LicenseRenewed(LicenseEvent):
    detail_type = "LicenseRenewed"

    ends_on: str
    previous_ends_on: str | None = None


class RenewalRequested(LicenseEvent):
    """A customer asked to renew a license whose product has no online renewal price (a custom
    deal): the vendor's staff are mailed, and renew it from the CLI or the console."""

    detail_type = "RenewalRequested"

    requested_by: str


class PaymentReceived(LicenseEvent):
    """A payment outside Stripe recorded by staff (an email sale paid later)."""

    detail_type = "PaymentReceived"


class LicenseStatusChanged(LicenseEvent):
    detail_type = "LicenseStatusChanged"

    status: str
    reason: str | None = None


class SiteLimitReached(LicenseEvent):
    detail_type = "SiteLimitReached"

    site: str


class Reminder(BaseModel):
    """One license due a reminder: `days_left` days before the term that ends on `ends_on`."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True, hide_input_in_errors=True)

    license_id: str
    ends_on: str
    days_left: int


class RemindersDue(Event):
    """The day's reminders of one account (every offset: 30, 7, 1 days), mailed as one reminder
    per contact that lists each license still due (each once per license, term and offset)."""

    detail_type = "RemindersDue"
    queue = "bulk"

    account_id: str
    day: str
    reminders: list[Reminder]


class LicenseExpired(LicenseEvent):
    """The day after `ends_on`: the term is over."""

    detail_type = "LicenseExpired"
    queue = "bulk"

    ends_on: str
    grace_days: int = 0


class ReleasePublished(Event):
    """A new release: the notifier fans it out to one `ReleaseMail` per licensed account, a page of
    the sparse index at a time; `cursor` (the page's start, None for the first) hands it on."""

    detail_type = "ReleasePublished"
    queue = "bulk"

    product: str
    version: str
    cursor: dict[str, str] | None = None
    # One announcement's walk through the list (a re-announcement is a new run).
    run: str = ""


class ReleaseMail(Event):
    """A release announcement to one account's contacts."""

    detail_type = "ReleaseMail"
    queue = "bulk"

    account_id: str
    product: str
    version: str


class SignInRequested(Event):
    """Someone asked for a portal sign-in link at /portal/login."""

    detail_type = "SignInRequested"

    email: str
    next: str | None = None  # the portal page to return to after signing in (already checked)


EVENTS: tuple[type[Event], ...] = (
    LicenseIssued,
    LicensePending,
    LicensesWithoutContact,
    LicenseRenewed,
    LicenseStatusChanged,
    PaymentFailed,
    PaymentReceived,
    SiteLimitReached,
    RemindersDue,
    LicenseExpired,
    ReleasePublished,
    ReleaseMail,
    SignInRequested,
    RenewalRequested,
)

_BY_TYPE: dict[str, type[Event]] = {event.detail_type: event for event in EVENTS}


def detail_types(queue: str) -> tuple[str, ...]:
    """The detail types routed to `queue` (what the catalogue's EventBridge rule matches)."""
    return tuple(event.detail_type for event in EVENTS if event.queue == queue)


def parse(detail_type: str, detail: dict[str, Any]) -> Event:
    """The typed event of an EventBridge message; UnknownEvent for a type nobody declares."""
    model = _BY_TYPE.get(detail_type)
    if model is None:
        raise UnknownEvent(f"no event is declared with the detail type {detail_type!r}")
    return model.model_validate(detail)


def license_ids(event: Event) -> list[str]:
    """The licenses an event is about (for log lines)."""
    if isinstance(event, LicensesAnnounced | PaymentFailed):
        return list(event.license_ids)
    if isinstance(event, RemindersDue):
        return [reminder.license_id for reminder in event.reminders]
    if isinstance(event, LicenseEvent):
        return [event.license_id]
    return []
