"""What staff change on a license: its status, its end date, its sites, its billing, and its mail
sent again. Every change goes through the lifecycle's rules, writes the license's history with
the staff member's name, and announces what the customer must hear; a refused change writes
nothing."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any, Protocol

from ..errors import Conflict, InvalidInput, NotFound, TransitionRefused
from ..events import Event, LicenseStatusChanged, PaymentReceived
from ..lifecycle import Action, transition
from ..models import HistoryEntry, License, LicenseStatus, PaymentStatus, Site
from ..sites import is_development_host, normalize_site
from ..urls import web_link
from .issuing import issued_event
from .updating import update_license

STAFF_DAILY_CAP = 10_000  # staff are not held to the extensions' daily activation cap

_DONE = {Action.SUSPEND: "suspended", Action.REINSTATE: "reinstated", Action.REVOKE: "revoked"}


class Publisher(Protocol):
    def publish(self, events: list[Event]) -> None: ...


def _entry(license: License, actor: str, action: str, *, visible: bool = True, **detail: Any) -> HistoryEntry:
    return HistoryEntry(
        license_id=license.id,
        actor=actor,
        action=action,
        detail={k: v for k, v in detail.items() if v is not None},
        customer_visible=visible,
    )


def change_status(
    store: Any, events: Publisher, license_id: str, action: Action, *, actor: str, reason: str | None = None
) -> License:
    """Suspend, reinstate or revoke a license as the lifecycle allows (reinstating a REVOKED
    license is refused: revocation is final); the customer is mailed the change."""
    if action not in _DONE:
        raise InvalidInput(f"staff cannot {action.value.lower()} a license this way")

    def change(license: License) -> tuple[License, list[HistoryEntry]]:
        status = transition(license.status, action)
        changed = license.model_copy(
            update={
                "status": status,
                "status_reason": None if status is LicenseStatus.ACTIVE else reason,
                "status_cause": f"staff:{action.value.lower()}",
            }
        )
        return changed, [_entry(license, actor, _DONE[action], reason=reason)]

    _, saved = update_license(store, license_id, change)
    events.publish(
        [
            LicenseStatusChanged(
                license_id=saved.id,
                account_id=saved.account_id,
                product=saved.product,
                status=saved.status.value,
                reason=reason,
                dedupe_key=f"LicenseStatusChanged:{saved.id}:staff:{saved.revision}",
            )
        ]
    )
    return saved


def extend(
    store: Any,
    license_id: str,
    *,
    actor: str,
    today: date,
    ends_on: date | None = None,
    days: int | None = None,
) -> License:
    """Move a license's end date (a goodwill extension, a corrected deal): to `ends_on`, or by
    `days`. An end date before the start is refused, as is a REVOKED license; an EXPIRED license
    whose new term reaches today is ACTIVE again."""
    if (ends_on is None) == (days is None):
        raise InvalidInput("give an end date or a number of days")

    def change(license: License) -> tuple[License, list[HistoryEntry]]:
        if license.status is LicenseStatus.REVOKED:
            raise TransitionRefused("a REVOKED license cannot be extended: revocation is final")
        new_end = ends_on if ends_on is not None else license.ends_on + timedelta(days=days or 0)
        if new_end < license.starts_on:
            raise InvalidInput(f"the end date {new_end} is before the license's start ({license.starts_on})")
        status: LicenseStatus = license.status
        if status is LicenseStatus.EXPIRED and new_end + timedelta(days=license.grace_days) >= today:
            status = transition(status, Action.RENEW)
        changed = license.model_copy(update={"ends_on": new_end, "status": status})
        entry = _entry(
            license,
            actor,
            "extended",
            previous_ends_on=license.ends_on.isoformat(),
            ends_on=new_end.isoformat(),
        )
        return changed, [entry]

    return update_license(store, license_id, change)[1]


def resend(store: Any, events: Publisher, license: License, *, actor: str) -> None:
    """The license mail again, with a fresh portal sign-in link (a new dedupe key, so the notifier
    sends it even though the first one went out)."""
    if license.status is LicenseStatus.REVOKED:
        raise TransitionRefused("a REVOKED license is not mailed again")
    if not store.contact_emails(license.account_id):
        raise InvalidInput("the account has no contact to mail: add one with accounts contacts add")
    nonce = secrets.token_hex(6)
    event = issued_event([license], dedupe_key=f"LicenseIssued:{license.id}:resend:{nonce}")
    store.add_history(_entry(license, actor, "license mail resent", visible=False))
    events.publish([event])


def add_site(store: Any, license: License, raw_site: str, *, actor: str, today: date) -> License:
    """Activate a site for the customer (the site limit holds; the daily cap does not apply)."""
    host = normalize_site(raw_site)
    if license.status is LicenseStatus.REVOKED:
        raise TransitionRefused("a REVOKED license takes no sites")
    if host in license.sites:
        raise Conflict(f"{host} is already activated on this license")
    counted = not is_development_host(host, license.development_hosts)
    if counted and license.sites_used >= license.max_sites:
        raise Conflict(f"the license's site limit ({license.max_sites}) is reached: remove a site first")
    site = Site(host=host, counted=counted)
    try:
        store.add_site(
            license,
            site,
            _entry(license, actor, "site activated", site=host),
            today=today,
            daily_cap=STAFF_DAILY_CAP,
        )
    except Conflict:
        raise Conflict("the license changed meanwhile (a site was activated): try again") from None
    return store.require_license(license.id)


def remove_site(store: Any, license: License, raw_site: str, *, actor: str) -> License:
    """Deactivate a site: its slot is free again."""
    host = normalize_site(raw_site)
    if host not in license.sites:
        raise NotFound(f"{host} is not activated on this license")
    try:
        store.remove_site(license, host, _entry(license, actor, "site deactivated", site=host))
    except Conflict:
        raise NotFound(f"{host} is not activated on this license") from None
    return store.require_license(license.id)


def update_billing(
    store: Any,
    events: Publisher,
    license_id: str,
    *,
    actor: str,
    today: date,
    payment_status: PaymentStatus | None = None,
    invoice_url: str | None = None,
    paid_on: date | None = None,
) -> License:
    """Record what happened to an email sale's payment (status, invoice, the day it was paid). A
    payment that becomes paid activates a PENDING license and mails the customer."""
    invoice_url = web_link(invoice_url)
    if payment_status is None and invoice_url is None and paid_on is None:
        raise InvalidInput("give --payment-status, --invoice-url or --paid-on")
    if paid_on is not None and paid_on > today:
        raise InvalidInput(f"the payment day {paid_on} is in the future")
    if payment_status not in (None, PaymentStatus.PAID, PaymentStatus.PENDING):
        raise InvalidInput("staff set a payment to paid or pending (refunds come from Stripe)")
    became_paid = False

    def change(license: License) -> tuple[License, list[HistoryEntry]]:
        nonlocal became_paid
        was_paid = license.billing.payment_status in (PaymentStatus.PAID, PaymentStatus.FREE)
        status = payment_status or license.billing.payment_status
        paid = status is PaymentStatus.PAID
        if paid_on is not None and not paid:
            raise InvalidInput("a payment day is given only for a paid payment (--payment-status paid)")
        billing = license.billing.model_copy(
            update={
                "payment_status": status,
                "invoice_url": invoice_url or license.billing.invoice_url,
                "paid_on": (paid_on or license.billing.paid_on or today) if paid else None,
            }
        )
        payments = [
            payment.model_copy(update={"status": PaymentStatus.PAID, "paid_on": paid_on or today})
            if paid and payment.status is PaymentStatus.PENDING
            else payment
            for payment in license.payments
        ]
        license_status = license.status
        if paid and license.status is LicenseStatus.PENDING:
            license_status = transition(license.status, Action.CONFIRM_PAYMENT)
        became_paid = paid and not was_paid
        changed = license.model_copy(
            update={"billing": billing, "payments": payments, "status": license_status}
        )
        if changed == license:
            raise InvalidInput("nothing to change: the billing already says so")
        entry = _entry(
            license,
            actor,
            "payment received" if became_paid else "billing updated",
            payment_status=status.value,
            invoice_url=invoice_url,
            paid_on=billing.paid_on.isoformat() if billing.paid_on else None,
        )
        return changed, [entry]

    before, saved = update_license(store, license_id, change)
    if before.status is LicenseStatus.PENDING and saved.status is LicenseStatus.ACTIVE:
        # The pending mail promised the key once the payment arrives.
        events.publish([issued_event([saved])])
    elif became_paid:
        events.publish(
            [
                PaymentReceived(
                    license_id=saved.id,
                    account_id=saved.account_id,
                    product=saved.product,
                    dedupe_key=f"PaymentReceived:{saved.id}:{saved.revision}",
                )
            ]
        )
    return saved
