"""Every email, declared once: the event that sends it, its template (three files in
`templates/email/`: `NAME.subject.txt`, `NAME.txt`, `NAME.html`), whether it still applies when it
is sent, and what its template needs beyond what every email gets.

Adding an email is one declaration here and three template files; a test fails when an event has
no email (unless it is worker-only) or a template has no declaration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import events as ev
from .models import Account, License, LicenseStatus, LicenseType, PaymentStatus, Product, Release


@dataclass(frozen=True)
class Subjects:
    """What an email is about, read from the store when it is sent (events carry ids only)."""

    account: Account
    licenses: list[License]
    product: Product | None
    slug: str | None
    release: Release | None = None

    @property
    def license(self) -> License | None:
        return self.licenses[0] if self.licenses else None


def _always(event: Any, subjects: Subjects) -> bool:
    return True


def _nothing(event: Any, subjects: Subjects) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Email:
    template: str
    event: type[ev.Event]
    # Chooses among the emails of one event (a status change sends one of three).
    when: Callable[[Any], bool] = field(default=lambda event: True)
    # Whether the email still applies when the worker sends it (queues do not keep order).
    applies: Callable[[Any, Subjects], bool] = _always
    context: Callable[[Any, Subjects], dict[str, Any]] = _nothing
    # Release mail: sent only to contacts who did not opt out, with a one-click unsubscribe link.
    release_mail: bool = False
    # Carries a personal portal sign-in link, valid for SIGNIN_LINK_DAYS.
    signin_link: bool = False
    # Goes to the vendor's staff (STAFF_EMAIL), not to the account's contacts.
    to_staff: bool = False
    # Lists several items (the day's reminders of an account, `services.reminders`): `applies` is
    # asked of each item and its license alone, and an item is listed once per recipient.
    digest: bool = False


def _still_pending(event: ev.LicensePending, subjects: Subjects) -> bool:
    # The payment may arrive first: its key email says it all.
    return any(license.status is LicenseStatus.PENDING for license in subjects.licenses)


def _term_unchanged(*still_due: LicenseStatus) -> Callable[[Any, Subjects], bool]:
    """The "ended" mail applies while the license still ends on the announced day in one of the
    statuses (not renewed, revoked or suspended between the job and the send)."""

    def applies(event: ev.LicenseExpired, subjects: Subjects) -> bool:
        return all(
            license.ends_on.isoformat() == event.ends_on and license.status in still_due
            for license in subjects.licenses
        )

    return applies


def _still_due(reminder: ev.Reminder, subjects: Subjects) -> bool:
    """A listed reminder applies while its license is active, not renewing itself, and still ends on
    the announced day (not renewed, revoked or suspended between the job and the send)."""
    return all(
        license.status is LicenseStatus.ACTIVE
        and not license.auto_renews
        and license.ends_on.isoformat() == reminder.ends_on
        for license in subjects.licenses
    )


def _status(status: LicenseStatus) -> Callable[[Any], bool]:
    return lambda event: event.status == status.value


def _reason(event: ev.LicenseStatusChanged, subjects: Subjects) -> dict[str, Any]:
    license = subjects.license
    return {"reason": event.reason or (license.status_reason if license else None)}


def _release_notes(event: ev.ReleaseMail, subjects: Subjects) -> dict[str, Any]:
    from .markdown import notes_html, notes_text

    release = subjects.release
    notes = release.notes_markdown if release else ""
    return {"release": release, "notes_html": notes_html(notes), "notes_text": notes_text(notes)}


def _sale(event: Any, subjects: Subjects) -> dict[str, Any]:
    """What the sale was, so that the key mail says it: a purchase, a custom deal, a trial, a
    free license, or a purchase whose payment is still open (with its invoice link)."""
    license = subjects.license
    if license is None:
        return {"sale": "purchase", "invoice_url": None}
    billing = license.billing
    if license.type is LicenseType.TRIAL:
        sale = "trial"
    elif billing.payment_status is PaymentStatus.PENDING:
        sale = "pending"
    elif license.type is LicenseType.CUSTOM:
        sale = "custom"
    elif billing.payment_status is PaymentStatus.FREE or billing.method == "free":
        sale = "free"
    else:
        sale = "purchase"
    return {"sale": sale, "invoice_url": billing.invoice_url, "payment_method": billing.method}


EMAILS: tuple[Email, ...] = (
    Email("license_issued", ev.LicenseIssued, signin_link=True, context=_sale),
    Email("payment_pending", ev.LicensePending, applies=_still_pending, context=_sale),
    Email(
        "staff_license_without_contact",
        ev.LicensesWithoutContact,
        to_staff=True,
        context=lambda event, subjects: {"checkout_session": event.checkout_session},
    ),
    Email("payment_failed", ev.PaymentFailed),
    Email("payment_received", ev.PaymentReceived),
    Email(
        "license_renewed",
        ev.LicenseRenewed,
        context=lambda event, subjects: {"previous_ends_on": event.previous_ends_on},
    ),
    Email("license_revoked", ev.LicenseStatusChanged, when=_status(LicenseStatus.REVOKED), context=_reason),
    Email(
        "license_suspended", ev.LicenseStatusChanged, when=_status(LicenseStatus.SUSPENDED), context=_reason
    ),
    Email("license_reinstated", ev.LicenseStatusChanged, when=_status(LicenseStatus.ACTIVE)),
    Email("site_limit_reached", ev.SiteLimitReached, context=lambda event, subjects: {"site": event.site}),
    Email("license_expiring", ev.RemindersDue, applies=_still_due, digest=True),
    Email(
        "license_expired",
        ev.LicenseExpired,
        # The job may write EXPIRED in the same run that announces this mail (no grace days).
        applies=_term_unchanged(LicenseStatus.ACTIVE, LicenseStatus.EXPIRED),
    ),
    Email("release_published", ev.ReleaseMail, context=_release_notes, release_mail=True),
    Email(
        "renewal_requested",
        ev.RenewalRequested,
        to_staff=True,
        context=lambda event, subjects: {"requested_by": event.requested_by},
    ),
)

# The sign-in link goes to whoever asked for it, not to an account's contacts.
SIGNIN = Email("signin", ev.SignInRequested)

# Events a worker acts on without an email of their own.
WORKER_EVENTS: tuple[type[ev.Event], ...] = (ev.ReleasePublished,)


def email_for(event: ev.Event) -> Email | None:
    """The email an event calls for; None when it sends none (e.g. a status without a mail)."""
    for email in EMAILS:
        if isinstance(event, email.event) and email.when(event):
            return email
    return None


def templates() -> set[str]:
    return {email.template for email in (*EMAILS, SIGNIN)}
