"""The reminder mail: one per contact and day, listing every license of the account that is due a
reminder that day (the lifecycle job's `RemindersDue`), each with its product, end date, days left,
what the end of the term costs for that product, and its own renew link.

Each listed license is once-only per recipient, term and offset: it has its own ledger entry
("sending" before the send, "sent" after, released when the send fails), under the key the
per-license reminder had before, so that an upgrade on a reminder day reminds nobody twice. A
redelivered event or a re-run job therefore lists nothing twice; a license renewed, revoked or
deleted by send time is left out (the declaration's `applies`), and a mail with nothing left to list
is not sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from ..dates import utc_now
from ..emails import Email, Subjects
from ..events import Reminder, RemindersDue, license_ids
from ..mail import Mailer, render
from ..models import Account, License, Product
from ..settings import Settings
from ..urls import PublicUrls
from .notifications import SENT_LEDGER_DAYS, Claim, NotificationStore, SendInFlight, _claim_send
from .suppression import is_suppressed

logger = Logger(service="licensing")

# The ledger keys of the per-license reminder event (`LicenseExpiring`) this mail replaced.
_LEDGER = "LicenseExpiring"


def ledger_key(reminder: Reminder) -> str:
    """Once per license, term and offset, whatever the number of runs or deliveries."""
    return f"{_LEDGER}:{reminder.license_id}:{reminder.ends_on}:{reminder.days_left}"


@dataclass(frozen=True)
class Listed:
    """One license in the mail, with what its lines say."""

    reminder: Reminder
    license: License
    product_name: str
    renew_url: str
    license_url: str

    @property
    def days_left(self) -> int:
        return self.reminder.days_left


def send_reminders(
    event: RemindersDue, email: Email, *, store: NotificationStore, mailer: Mailer, settings: Settings
) -> int:
    """Mail each contact of the account one reminder listing every license still due and not yet
    reminded to them at that offset; returns how many mails were sent."""
    log_fields = {"detail_type": event.detail_type, "license_ids": license_ids(event)}
    account = store.get_account(event.account_id)
    if account is None:
        logger.error("The event names an account that does not exist; no email sent", extra=log_fields)
        return 0
    recipients = store.contact_emails(event.account_id)
    if not recipients:
        logger.warning("The account has no contacts; no email sent", extra=log_fields)
        return 0
    due = _still_due(event, email, account, store=store, settings=settings)
    if not due:
        logger.info("No listed license is due a reminder any more; not sent", extra=log_fields)
        return 0
    sent = in_flight = 0
    for address in recipients:
        if is_suppressed(store, address):
            # A permanent bounce or a complaint: no send, and no "sent" entry that would hide it.
            logger.warning("The address is suppressed; no email sent", extra={"template": email.template})
            continue
        mailed, busy = _send_one(email, address, due, account, store=store, mailer=mailer, settings=settings)
        sent, in_flight = sent + mailed, in_flight + busy
    logger.info(
        "Notification sent",
        extra={**log_fields, "template": email.template, "emails_sent": sent, "listed": len(due)},
    )
    if in_flight:  # after serving the others; the message comes back for what another worker sends
        raise SendInFlight(f"reminders to {in_flight} contact(s) are being sent elsewhere; retry")
    return sent


def _still_due(
    event: RemindersDue, email: Email, account: Account, *, store: NotificationStore, settings: Settings
) -> list[Listed]:
    """The event's licenses that still exist and are still due, soonest end first."""
    urls = PublicUrls(settings.require("public_base_url"))
    products: dict[str, Product | None] = {}
    due: list[Listed] = []
    for reminder in event.reminders:
        license = store.get_license(reminder.license_id)
        if license is None:
            continue  # deleted since the job read it
        if license.product not in products:
            products[license.product] = store.get_product(license.product)
        product = products[license.product]
        subjects = Subjects(account=account, licenses=[license], product=product, slug=license.product)
        if not email.applies(reminder, subjects):
            continue
        due.append(
            Listed(
                reminder=reminder,
                license=license,
                # A product taken out of the catalogue is still named, by its slug.
                product_name=product.name if product else license.product,
                renew_url=urls.renew_page(license.id),
                license_url=urls.license_page(license.id),
            )
        )
    return sorted(due, key=lambda item: (item.reminder.ends_on, item.product_name, item.license.name))


def _send_one(
    email: Email,
    address: str,
    due: list[Listed],
    account: Account,
    *,
    store: NotificationStore,
    mailer: Mailer,
    settings: Settings,
) -> tuple[int, int]:
    """The mail to one contact, listing what it was not yet reminded of: (1 if sent, else 0; 1 if
    some of it is being sent by another worker, else 0)."""
    claimed: list[tuple[str, Listed]] = []
    in_flight = 0
    for item in due:
        claim = f"mail:{ledger_key(item.reminder)}:{address}"
        # The same license at one offset twice in an event is claimed, and listed, once.
        outcome = _claim_send(store, claim)
        if outcome is Claim.CLAIMED:
            claimed.append((claim, item))
        in_flight = in_flight or int(outcome is Claim.IN_FLIGHT)
    if not claimed:
        return 0, in_flight
    try:
        contact = store.get_contact(address)
        context: dict[str, Any] = {
            "vendor_name": settings.vendor_name,
            "account_name": account.name,
            "contact_name": contact.name if contact else "",
            "reminders": [item for _, item in claimed],
        }
        mailer.send(render(settings.templates_dir, email.template, [address], context))
    except Exception:
        for claim, _ in claimed:
            store.release_claim(claim)
        raise
    done = {"state": "sent", "at": utc_now().isoformat()}
    for claim, _ in claimed:
        store.remember(claim, done, ttl_days=SENT_LEDGER_DAYS)
    return 1, in_flight
