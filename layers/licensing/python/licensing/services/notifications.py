"""Notifications: the one place that turns a domain event into email to an account's contacts.

Every email is sent once per recipient: a "sending" ledger entry (a once-only claim) is written
before each send, marked "sent" after it and removed when the send fails, so that a redelivered or
duplicated event, or the retry of a half-served one, mails nobody twice; a send whose worker died
midway is taken over by a later retry. (An SES call that times out after SES accepted the mail is
the one case that can mail twice: a duplicate is better than a lost license key.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

from aws_lambda_powertools import Logger

from ..dates import utc_now
from ..mail import Mailer, render
from ..markdown import notes_html
from ..models import Account, Contact, License, LicenseStatus, Product, Release
from ..settings import Settings
from ..signing import Signer
from ..unsubscribe import unsubscribe_token

logger = Logger(service="licensing")

# Long enough to outlive every redelivery (SQS keeps a message at most 14 days) and a DLQ redrive.
SENT_LEDGER_DAYS = 30
# A send still marked "sending" after this long died with its worker (Lambda's timeout is far
# shorter): the retry sends it, rather than leave the recipient without their email.
STALE_SENDING = timedelta(minutes=10)

_TEMPLATES = {
    "LicenseIssued": "license_issued",
    "LicensePending": "payment_pending",
    "PaymentFailed": "payment_failed",
    "PaymentReceived": "payment_received",
    "LicenseRenewed": "license_renewed",
    "SiteLimitReached": "site_limit_reached",
    "LicenseExpiring": "license_expiring",
    "LicenseExpired": "license_expired",
    "ReleaseMail": "release_published",
}
_STATUS_TEMPLATES = {
    "REVOKED": "license_revoked",
    "SUSPENDED": "license_suspended",
    "ACTIVE": "license_reinstated",
}


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


def template_for(event_type: str, detail: Mapping[str, Any]) -> str | None:
    """The email template an event calls for; None when the event sends no email."""
    if event_type == "LicenseStatusChanged":
        return _STATUS_TEMPLATES.get(str(detail.get("status")))
    return _TEMPLATES.get(event_type)


def license_ids(detail: Mapping[str, Any]) -> list[str]:
    """The licenses an event is about: `license_ids` of a purchase, or the one `license_id`."""
    if "license_ids" in detail:
        return [str(license_id) for license_id in detail["license_ids"]]
    return [str(detail["license_id"])] if detail.get("license_id") else []


def dedupe_key(event_type: str, detail: Mapping[str, Any]) -> str:
    """The event's `dedupe_key`, or one derived from what it is about.

    A derived key also carries the new status and end date, so that two real changes of one license
    (suspended, reinstated, suspended again) are told apart; it is hashed to stay a short item key
    whatever the number of licenses.
    """
    given = detail.get("dedupe_key")
    if given:
        return str(given)
    parts = [
        event_type,
        str(detail.get("account_id", "")),
        str(detail.get("product", "")),
        *sorted(license_ids(detail)),
        str(detail.get("status", "")),
        str(detail.get("ends_on", "")),
    ]
    return f"{event_type}:{hashlib.sha256('|'.join(parts).encode()).hexdigest()[:32]}"


def notify(
    event_type: str,
    detail: Mapping[str, Any],
    *,
    store: NotificationStore,
    mailer: Mailer,
    settings: Settings,
    signer: Signer | None = None,
) -> int:
    """Email every contact of the event's account about it, at most once each; returns how many
    emails were sent.

    `detail` carries `account_id`, `product`, `dedupe_key` and the event's own fields (see
    `template_for`). State is read now, from the store: keys, names, dates, the product's name.
    Permanent problems end here with a log line and no email, so that the queue does not retry
    them forever: an event type (or status) that sends no email, a license or account that does not
    exist. Anything else that fails (storage, SES) is raised, after the recipients not yet served
    are released for the retry.
    """
    if event_type == "SignInRequested":
        return _send_signin(detail, store=store, mailer=mailer, settings=settings)
    ids = license_ids(detail)
    log_fields = {"detail_type": event_type, "license_ids": ids}
    template = template_for(event_type, detail)
    if template is None:
        logger.warning("No email for this event; dropped", extra=log_fields)
        return 0
    recipients = store.contact_emails(str(detail["account_id"]))
    if event_type == "ReleaseMail":
        recipients = [
            email for email in recipients if _wants_release_mails(store, email, str(detail["product"]))
        ]
    if not recipients:
        logger.warning("The account has no contacts; no email sent", extra=log_fields)
        return 0
    context = _shared_context(detail, ids, store=store, settings=settings)
    if context is None:
        logger.error(
            "The event names a license or account that does not exist; no email sent", extra=log_fields
        )
        return 0
    if event_type == "LicensePending" and not any(
        license.status is LicenseStatus.PENDING for license in context["licenses"]
    ):
        # Queues do not keep order: the payment arrived first, and its key email says it all.
        logger.info("Payment no longer pending; no email sent", extra=log_fields)
        return 0
    # The job may write EXPIRED in the same run that announces the expired mail (no grace days).
    still_due = (
        (LicenseStatus.ACTIVE,)
        if event_type == "LicenseExpiring"
        else (LicenseStatus.ACTIVE, LicenseStatus.EXPIRED)
    )
    if event_type in ("LicenseExpiring", "LicenseExpired") and any(
        license.ends_on.isoformat() != detail.get("ends_on") or license.status not in still_due
        for license in context["licenses"]
    ):
        # Renewed (or revoked) between the job and this send: the reminder no longer applies.
        logger.info("License changed since the reminder was due; no email sent", extra=log_fields)
        return 0
    key = dedupe_key(event_type, detail)
    sent = 0
    for email in recipients:
        claim = f"mail:{key}:{email}"
        if not _claim_send(store, claim):
            continue
        try:
            personal = _personal_context(
                template, email, store=store, settings=settings, signer=signer, product=detail.get("product")
            )
            message = render(settings.templates_dir, template, [email], context | personal)
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
        sent += 1
    logger.info("Notification sent", extra={**log_fields, "template": template, "emails_sent": sent})
    return sent


SIGNIN_LINK_MINUTES = 15


def _send_signin(
    detail: Mapping[str, Any], *, store: NotificationStore, mailer: Mailer, settings: Settings
) -> int:
    """The portal sign-in link someone asked for at /portal/login: single-use, 15 minutes."""
    email = str(detail["email"])
    claim = f"mail:{dedupe_key('SignInRequested', detail)}:{email}"
    if not _claim_send(store, claim):
        return 0
    try:
        token = store.create_token(email, purpose="signin", lifetime=timedelta(minutes=SIGNIN_LINK_MINUTES))
        contact = store.get_contact(email)
        base = settings.public_base_url.rstrip("/")
        context = {
            "vendor_name": settings.vendor_name,
            "contact_name": contact.name if contact else "",
            "signin_url": f"{base}/portal/auth?{urlencode({'token': token})}",
            "minutes": SIGNIN_LINK_MINUTES,
        }
        mailer.send(render(settings.templates_dir, "signin", [email], context))
    except Exception:
        store.release_claim(claim)
        raise
    store.remember(claim, {"state": "sent", "at": utc_now().isoformat()}, ttl_days=SENT_LEDGER_DAYS)
    return 1


def _claim_send(store: NotificationStore, claim: str) -> bool:
    """The right to send one email: a "sending" entry in the ledger before the send, "sent" after.

    A retry skips what was sent, and takes over a send whose worker died in the middle (an entry
    left "sending" for longer than any worker lives), so that a crash delays an email and never
    loses it.
    """
    now = utc_now()
    if store.claim(claim, ttl_days=SENT_LEDGER_DAYS, detail={"state": "sending", "since": now.isoformat()}):
        return True
    entry = store.get_claim(claim) or {}
    if entry.get("state") != "sending" or not entry.get("since"):
        return False
    if datetime.fromisoformat(str(entry["since"])) > now - STALE_SENDING:
        return False
    return store.take_over_claim(
        claim, expected_since=str(entry["since"]), detail={"state": "sending", "since": now.isoformat()}
    )


def _shared_context(
    detail: Mapping[str, Any], ids: list[str], *, store: NotificationStore, settings: Settings
) -> dict[str, Any] | None:
    """What every recipient's email shows; None when a license or the account is missing."""
    licenses = [store.get_license(license_id) for license_id in ids]
    account = store.get_account(str(detail["account_id"]))
    if account is None or any(license is None for license in licenses):
        return None
    found = [license for license in licenses if license is not None]
    first = found[0] if found else None
    # A failed payment may name no license and, when the checkout did not say, no product either.
    slug = first.product if first else detail.get("product")
    product = store.get_product(slug) if slug else None
    release = store.get_release(str(slug), str(detail["version"])) if slug and detail.get("version") else None
    if detail.get("version") and release is None:
        return None
    portal = f"{settings.public_base_url.rstrip('/')}/portal"
    return {
        "vendor_name": settings.vendor_name,
        "account_name": account.name,
        # A product taken out of the catalogue still gets its customers told, by its slug.
        "product_name": product.name if product else slug,
        "licenses": found,
        "license": first,
        "license_url": f"{portal}/licenses/{first.id}" if first else f"{portal}/",
        "downloads_url": f"{portal}/products/{slug}" if slug else f"{portal}/",
        "previous_ends_on": detail.get("previous_ends_on"),
        "site": detail.get("site"),
        "release": release,
        "notes_html": notes_html(release.notes_markdown) if release else "",
        "days_left": detail.get("days_left"),
        "renew_url": f"{portal}/licenses/{first.id}/renew" if first else f"{portal}/",
        "reason": detail.get("reason") or (first.status_reason if first else None),
        "signin_days": settings.signin_link_days,
    }


def _wants_release_mails(store: NotificationStore, email: str, product: str) -> bool:
    contact = store.get_contact(email)
    return contact is None or product not in contact.release_mail_opt_out


def _personal_context(
    template: str,
    email: str,
    *,
    store: NotificationStore,
    settings: Settings,
    signer: Signer | None,
    product: str | None,
) -> dict[str, Any]:
    contact = store.get_contact(email)
    personal: dict[str, Any] = {"contact_name": contact.name if contact else ""}
    if template == "license_issued":
        # Written only for a recipient who is mailed, so a skipped duplicate leaves no live token.
        token = store.create_token(
            email, purpose="signin", lifetime=timedelta(days=settings.signin_link_days)
        )
        base = settings.public_base_url.rstrip("/")
        personal["signin_url"] = f"{base}/portal/auth?{urlencode({'token': token})}"
    if template == "release_published":
        if signer is None:
            raise ValueError("release mails need the signing key for their unsubscribe links")
        token = unsubscribe_token(signer, email, str(product))
        base = settings.public_base_url.rstrip("/")
        personal["unsubscribe_url"] = f"{base}/unsubscribe?{urlencode({'token': token})}"
    return personal
