"""Notifications: the one place that turns a domain event into email to an account's contacts.

Every email is sent once per recipient: a "sending" ledger entry (a once-only claim) is written
before each send, marked "sent" after it and removed when the send fails, so that a redelivered or
duplicated event, or the retry of a half-served one, mails nobody twice; a send whose worker died
midway is taken over by a later retry. (An SES call that times out after SES accepted the mail is
the one case that can mail twice: a duplicate is better than a lost license key.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from .. import catalogue
from ..dates import utc_now
from ..emails import SIGNIN, Email, Subjects, email_for
from ..errors import TransientError
from ..events import Event, ReleaseMail, RemindersDue, SignInRequested, license_ids
from ..mail import Mailer, render
from ..models import Account, Contact, License, Product, Release
from ..sessions import SIGN_IN_PURPOSE
from ..settings import Settings
from ..tokens import TokenKey
from ..unsubscribe import unsubscribe_token
from ..urls import PublicUrls
from .suppression import is_suppressed

logger = Logger(service="licensing")

# Long enough to outlive every redelivery (SQS keeps a message at most 14 days) and a DLQ redrive.
SENT_LEDGER_DAYS = 30
# A send still marked "sending" after this long died with its worker (twice the longest timeout
# of a function that sends mail: no live worker holds one longer): the retry sends it, rather than
# leave the recipient without their email. Shorter than the queues' visibility timeout, so the
# first redelivery of a message whose send is in flight finds it either sent or stale.
STALE_SENDING = timedelta(
    seconds=2 * max(f.timeout_seconds for f in catalogue.FUNCTIONS if catalogue.MAIL_SEND in f.rights)
)


class Claim(Enum):
    """What the ledger says of one email to one recipient."""

    CLAIMED = "claimed"  # ours to send now
    DONE = "done"  # sent already
    IN_FLIGHT = "in flight"  # another worker is sending it (or died doing so, not long ago)


class SendInFlight(TransientError):
    """Some email of this message is being sent by another worker: the message is retried, and then
    finds it sent, or stale and ours to send; acknowledging it now would lose it if that worker died."""


class NotificationStore(Protocol):
    def contact_emails(self, account_id: str) -> list[str]: ...
    def get_contact(self, email: str) -> Contact | None: ...
    def get_account(self, account_id: str) -> Account | None: ...
    def get_license(self, license_id: str) -> License | None: ...
    def get_product(self, slug: str) -> Product | None: ...
    def claim(self, key: str, *, ttl_days: int, detail: dict[str, Any] | None = None) -> bool: ...
    def release_claim(self, key: str) -> None: ...
    def get_claim(self, key: str) -> dict[str, Any] | None: ...
    def remember(self, key: str, detail: dict[str, Any], *, ttl_days: int) -> None: ...
    def take_over_claim(self, key: str, *, expected_since: str, detail: dict[str, Any]) -> bool: ...
    def create_token(self, email: str, *, purpose: str, lifetime: timedelta) -> str: ...
    def get_release(self, product: str, version: str) -> Release | None: ...


def dedupe_key(event: Event) -> str:
    """The event's `dedupe_key`, or one derived from what it is about (messages from before every
    event carried one).

    A derived key also carries the new status and end date, so that two real changes of one license
    (suspended, reinstated, suspended again) are told apart; it is hashed to stay a short item key
    whatever the number of licenses.
    """
    if event.dedupe_key:
        return event.dedupe_key
    detail = event.detail
    parts = [
        event.detail_type,
        str(detail.get("account_id", "")),
        str(detail.get("product", "")),
        *sorted(license_ids(event)),
        str(detail.get("status", "")),
        str(detail.get("ends_on", "")),
    ]
    return f"{event.detail_type}:{hashlib.sha256('|'.join(parts).encode()).hexdigest()[:32]}"


def notify(
    event: Event,
    *,
    store: NotificationStore,
    mailer: Mailer,
    settings: Settings,
    token_key: TokenKey | None = None,
    tally: Callable[[dict[str, int]], None] | None = None,
) -> int:
    """Email every contact of the event's account about it, at most once each; returns how many
    emails were sent.

    The email is the event's declaration in `licensing.emails`. State is read now, from the store:
    keys, names, dates, the product's name. Permanent problems end here with a log line and no
    email, so that the queue does not retry them forever: an event (or status) that sends no email,
    a license or account that does not exist. Anything else that fails (storage, SES) is raised,
    after the recipients not yet served are released for the retry. `tally` hears how many were
    sent and how many had opted out (a release announcement's counters).
    """
    if isinstance(event, SignInRequested):
        return _send_signin(event, store=store, mailer=mailer, settings=settings)
    log_fields = {"detail_type": event.detail_type, "license_ids": license_ids(event)}
    email = email_for(event)
    if email is None:
        logger.warning("No email for this event; dropped", extra=log_fields)
        return 0
    if email.digest and isinstance(event, RemindersDue):
        from .reminders import send_reminders  # it builds on this module's ledger

        return send_reminders(event, email, store=store, mailer=mailer, settings=settings)
    account_id = str(event.detail["account_id"])
    if email.to_staff:
        recipients = [settings.staff_email] if settings.staff_email else []
        if not recipients:
            logger.error("STAFF_EMAIL is not set: staff cannot be told", extra=log_fields)
            return 0
    else:
        recipients = store.contact_emails(account_id)
    if email.release_mail:
        product = str(event.detail["product"])
        listed = len(recipients)
        recipients = [address for address in recipients if _wants_release_mails(store, address, product)]
        if tally is not None:
            tally({"suppressed": listed - len(recipients)})
    if not recipients:
        logger.warning("The account has no contacts; no email sent", extra=log_fields)
        return 0
    subjects = _subjects(event, store=store)
    if subjects is None:
        logger.error(
            "The event names a license or account that does not exist; no email sent", extra=log_fields
        )
        return 0
    if not email.applies(event, subjects):
        logger.info("The email no longer applies (the license changed); not sent", extra=log_fields)
        return 0
    urls = PublicUrls(settings.require("public_base_url"))
    context = _common_context(subjects, settings, urls) | email.context(event, subjects)
    key = dedupe_key(event)
    served: list[str] = []  # filled as each send succeeds, so a failure midway still counts them
    try:
        _send_each(
            email,
            recipients,
            key,
            context,
            served,
            store=store,
            mailer=mailer,
            settings=settings,
            token_key=token_key,
            slug=subjects.slug,
        )
    finally:
        if tally is not None:
            tally({"sent": len(served)})
    sent = len(served)
    logger.info("Notification sent", extra={**log_fields, "template": email.template, "emails_sent": sent})
    return sent


def _send_each(
    email: Email,
    recipients: list[str],
    key: str,
    context: dict[str, Any],
    served: list[str],
    *,
    store: NotificationStore,
    mailer: Mailer,
    settings: Settings,
    token_key: TokenKey | None,
    slug: str | None,
) -> None:
    """Send to each recipient not yet served, ledger first; a failure releases its one claim."""
    in_flight = 0
    for address in recipients:
        if is_suppressed(store, address):
            # A permanent bounce or a complaint: no send, and no "sent" entry that would hide it.
            logger.warning("The address is suppressed; no email sent", extra={"template": email.template})
            continue
        claim = f"mail:{key}:{address}"
        outcome = _claim_send(store, claim)
        if outcome is Claim.IN_FLIGHT:
            in_flight += 1
        if outcome is not Claim.CLAIMED:
            continue
        try:
            personal = _personal_context(
                email, address, store=store, settings=settings, token_key=token_key, product=slug
            )
            message = render(settings.templates_dir, email.template, [address], context | personal)
            if "unsubscribe_url" in personal:
                # RFC 8058: mail clients offer a one-click unsubscribe that POSTs to the link.
                message = replace(
                    message,
                    headers={
                        "List-Unsubscribe": f"<{personal['unsubscribe_url']}>",
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                    },
                )
            mailer.send(message)
        except Exception:
            store.release_claim(claim)
            raise
        store.remember(claim, {"state": "sent", "at": utc_now().isoformat()}, ttl_days=SENT_LEDGER_DAYS)
        served.append(address)
    if in_flight:  # after serving the others: they are not held back by it
        raise SendInFlight(f"{in_flight} email(s) of this message are being sent elsewhere; retry")


SIGNIN_LINK_MINUTES = 15


def _send_signin(
    event: SignInRequested, *, store: NotificationStore, mailer: Mailer, settings: Settings
) -> int:
    """The portal sign-in link someone asked for at /portal/login: single-use, 15 minutes."""
    email = event.email
    contact = store.get_contact(email)
    if contact is None or not contact.account_ids:
        return 0  # not a customer: the portal answered the same, and nothing is sent
    claim = f"mail:{dedupe_key(event)}:{email}"
    outcome = _claim_send(store, claim)
    if outcome is Claim.IN_FLIGHT:
        raise SendInFlight("this sign-in link is being sent elsewhere; retry")
    if outcome is Claim.DONE:
        return 0
    try:
        token = store.create_token(
            email, purpose=SIGN_IN_PURPOSE, lifetime=timedelta(minutes=SIGNIN_LINK_MINUTES)
        )
        context = {
            "vendor_name": settings.vendor_name,
            "contact_name": contact.name if contact else "",
            "signin_url": PublicUrls(settings.require("public_base_url")).auth(token, event.next),
            "minutes": SIGNIN_LINK_MINUTES,
        }
        mailer.send(render(settings.templates_dir, SIGNIN.template, [email], context))
    except Exception:
        store.release_claim(claim)
        raise
    store.remember(claim, {"state": "sent", "at": utc_now().isoformat()}, ttl_days=SENT_LEDGER_DAYS)
    return 1


def _claim_send(store: NotificationStore, claim: str) -> Claim:
    """The right to send one email: a "sending" entry in the ledger before the send, "sent" after.

    A retry skips what was sent, and takes over a send whose worker died in the middle (an entry
    left "sending" for longer than any worker lives); a send still in flight elsewhere is
    IN_FLIGHT, for the caller to retry later (never to acknowledge), so that a crash delays an
    email and never loses it.
    """
    now = utc_now()
    if store.claim(claim, ttl_days=SENT_LEDGER_DAYS, detail={"state": "sending", "since": now.isoformat()}):
        return Claim.CLAIMED
    entry = store.get_claim(claim) or {}
    if entry.get("state") != "sending" or not entry.get("since"):
        return Claim.DONE
    if datetime.fromisoformat(str(entry["since"])) > now - STALE_SENDING:
        return Claim.IN_FLIGHT
    taken = store.take_over_claim(
        claim, expected_since=str(entry["since"]), detail={"state": "sending", "since": now.isoformat()}
    )
    return Claim.CLAIMED if taken else Claim.IN_FLIGHT  # another retry took it over first


def _subjects(event: Event, *, store: NotificationStore) -> Subjects | None:
    """The account, licenses, product and release the event names; None when one is missing."""
    ids = license_ids(event)
    licenses = [store.get_license(license_id) for license_id in ids]
    account = store.get_account(str(event.detail["account_id"]))
    if account is None or any(license is None for license in licenses):
        return None
    found = [license for license in licenses if license is not None]
    # A failed payment may name no license and, when the checkout did not say, no product either.
    slug = found[0].product if found else event.detail.get("product")
    product = store.get_product(str(slug)) if slug else None
    release = None
    if isinstance(event, ReleaseMail):
        release = store.get_release(event.product, event.version)
        if release is None:
            return None
    return Subjects(account=account, licenses=found, product=product, slug=slug, release=release)


def _common_context(subjects: Subjects, settings: Settings, urls: PublicUrls) -> dict[str, Any]:
    """What every email to an account gets; each declaration adds its own fields."""
    first, slug = subjects.license, subjects.slug
    return {
        "vendor_name": settings.vendor_name,
        "account_name": subjects.account.name,
        # A product taken out of the catalogue still gets its customers told, by its slug.
        "product_name": subjects.product.name if subjects.product else slug,
        "licenses": subjects.licenses,
        "license": first,
        "license_url": urls.license_page(first.id) if first else urls.portal_home(),
        "downloads_url": urls.product_page(slug) if slug else urls.portal_home(),
        "renew_url": urls.renew_page(first.id) if first else urls.portal_home(),
        "signin_days": settings.signin_link_days,
    }


def _wants_release_mails(store: NotificationStore, email: str, product: str) -> bool:
    contact = store.get_contact(email)
    return contact is None or product not in contact.release_mail_opt_out


def _personal_context(
    email: Email,
    address: str,
    *,
    store: NotificationStore,
    settings: Settings,
    token_key: TokenKey | None,
    product: str | None,
) -> dict[str, Any]:
    contact = store.get_contact(address)
    personal: dict[str, Any] = {"contact_name": contact.name if contact else ""}
    urls = PublicUrls(settings.require("public_base_url"))
    if email.signin_link:
        # Written only for a recipient who is mailed, so a skipped duplicate leaves no live token.
        token = store.create_token(
            address, purpose=SIGN_IN_PURPOSE, lifetime=timedelta(days=settings.signin_link_days)
        )
        personal["signin_url"] = urls.auth(token)
    if email.release_mail:
        if token_key is None:
            raise ValueError("release mails need the token key for their unsubscribe links")
        personal["unsubscribe_url"] = urls.unsubscribe(unsubscribe_token(token_key, address, str(product)))
    return personal
