"""Issuing licenses: the one path every sale takes (webhook, staff CLI, importer, demo data)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Protocol

from ..dates import add_months, today
from ..errors import Conflict, InvalidInput
from ..events import Event, LicenseIssued, LicensePending
from ..keys import generate_key, license_id_for_key, lookup_key
from ..models import (
    Account,
    Billing,
    HistoryEntry,
    License,
    LicenseStatus,
    LicenseType,
    Payment,
    Product,
    Site,
)

_KEY_ATTEMPTS = 3
MAX_QUANTITY = 25  # one transaction holds a sale's licenses, history and references


class LicenseWriter(Protocol):
    def create_licenses(
        self,
        licenses: list[License],
        history: list[HistoryEntry],
        refs: list[str],
        *,
        guard: str | None = None,
    ) -> None: ...


class EventPublisher(Protocol):
    def publish(self, events: list[Event]) -> None: ...


def term_end(product: Product, license_type: LicenseType, starts_on: date, months: int | None = None) -> date:
    """A new license's `ends_on`: trials end after the product's trial days; others after `months`
    (default: the product's term), on the same day N months later, clamped (API.md, Dates)."""
    if license_type is LicenseType.TRIAL and months is None:
        return starts_on + timedelta(days=product.trial_days)
    return add_months(starts_on, months or product.term_months)


def license_name(product: Product, account: Account, position: int = 1, quantity: int = 1) -> str:
    name = f"{product.name} — {account.name}"
    return f"{name} ({position} of {quantity})" if quantity > 1 else name


def issue_licenses(
    store: LicenseWriter,
    events: EventPublisher | None,
    *,
    product: Product,
    account: Account,
    actor: str,
    quantity: int = 1,
    license_type: LicenseType = LicenseType.COMMERCIAL,
    status: LicenseStatus = LicenseStatus.ACTIVE,
    starts_on: date | None = None,
    ends_on: date | None = None,
    months: int | None = None,
    max_sites: int | None = None,
    billing: Billing | None = None,
    refs: list[str] | None = None,
    keys: list[str] | None = None,
    name: str | None = None,
    guard: str | None = None,
    auto_renews: bool = False,
    dedupe_key: str | None = None,
    sites: dict[str, Site] | None = None,
    payments: list[Payment] | None = None,
    payment_shares: list[Payment] | None = None,
    action: str = "issued",
    notes: str | None = None,
) -> list[License]:
    """Issue `quantity` licenses of a product to an account and announce them in one event.

    Each gets a fresh key (or the given imported `keys`), a history entry naming `actor`, the
    product's validation settings copied on, and the Stripe `refs` it was bought with; all are
    written in one transaction, with the once-only `guard` claim when given (Conflict if taken).
    The event (`LicenseIssued`, or `LicensePending` for a license awaiting payment) makes the
    notifier email the account's contacts; `events=None` issues silently (imports, demo data).
    An import (`keys` given) brings the license's status, `sites` and `payments` along as they
    were, under the history `action` "imported" with the earlier system's `notes`.
    `payment_shares` gives each license of an order its own payment (its share of the total),
    which its billing's `amount_total` shows too.
    """
    if quantity < 1 or quantity > MAX_QUANTITY:
        raise InvalidInput(f"quantity must be between 1 and {MAX_QUANTITY}")
    if keys is not None and len(keys) != quantity:
        raise InvalidInput("give one key per license")
    if payment_shares is not None and len(payment_shares) != quantity:
        raise InvalidInput("give one payment share per license")
    if product.custom and account.id != product.owner_account_id:
        raise InvalidInput(f"'{product.slug}' is a custom product of another account")
    if status not in (LicenseStatus.ACTIVE, LicenseStatus.PENDING) and keys is None:
        raise InvalidInput("a new license is ACTIVE or PENDING")
    start = starts_on or today()
    end = ends_on or term_end(product, license_type, start, months)
    if end < start:
        raise InvalidInput("a license cannot end before it starts")
    for _ in range(_KEY_ATTEMPTS):
        licenses = []
        for position in range(1, quantity + 1):
            key = lookup_key(keys[position - 1]) if keys is not None else lookup_key(generate_key())
            if key is None:
                raise InvalidInput("the imported key has this system's format but a wrong check character")
            licenses.append(
                License(
                    id=license_id_for_key(key),
                    key=key,
                    name=name or license_name(product, account, position, quantity),
                    product=product.slug,
                    type=license_type,
                    status=status,
                    account_id=account.id,
                    starts_on=start,
                    ends_on=end,
                    billing=_billing_of_share(billing or Billing(), payment_shares, position),
                    max_sites=product.max_sites if max_sites is None else max_sites,
                    grace_days=product.grace_days,
                    on_expiry=product.on_expiry,
                    development_hosts=list(product.development_hosts),
                    custom=product.custom,
                    auto_renews=auto_renews,
                    sites=dict(sites or {}),
                    payments=list(payments or [])
                    + ([payment_shares[position - 1]] if payment_shares else []),
                )
            )
        history = [
            HistoryEntry(
                license_id=license.id,
                actor=actor,
                action=action,
                detail={"status": status.value, "type": license_type.value, "ends_on": end.isoformat()}
                | ({"notes": notes} if notes else {}),
                customer_visible=True,
            )
            for license in licenses
        ]
        try:
            store.create_licenses(licenses, history, refs or [], guard=guard)
        except Conflict:
            if keys is not None or guard is not None:
                raise  # an imported key in use, or this sale was already issued
            continue  # a generated key collided (astronomically unlikely): draw again
        if events is not None:
            events.publish([issued_event(licenses, dedupe_key=dedupe_key)])
        return licenses
    raise Conflict("could not draw unused license keys")


def _billing_of_share(billing: Billing, shares: list[Payment] | None, position: int) -> Billing:
    if not shares or billing.amount_total is None:
        return billing
    return billing.model_copy(update={"amount_total": shares[position - 1].amount})


def issued_event(licenses: list[License], *, dedupe_key: str | None = None) -> LicenseIssued | LicensePending:
    """The event that announces new licenses (one email for all of them)."""
    first = licenses[0]
    model = LicensePending if first.status is LicenseStatus.PENDING else LicenseIssued
    return model(
        license_ids=[license.id for license in licenses],
        account_id=first.account_id,
        product=first.product,
        dedupe_key=dedupe_key or f"{model.detail_type}:{first.id}",
    )
