"""The renewal rule (DESIGN.md, License lifecycle), and renewals paid outside Stripe.

A renewal extends the end date by the term from the later of today and the current end date, and
moves ACTIVE, grace or EXPIRED to ACTIVE; a SUSPENDED license gets the paid time and keeps its
pause. Stripe renewals (`services/purchases/renewals.py`) apply the same rule: the end date from
`lifecycle.renewal_end`, the status from `renewed_status` here."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from .. import lifecycle
from ..errors import InvalidInput, TransitionRefused
from ..events import Event, LicenseRenewed
from ..lifecycle import Action, transition
from ..models import HistoryEntry, License, LicenseStatus, Payment, PaymentStatus, Product
from ..urls import web_link
from .updating import update_license


class Publisher(Protocol):
    def publish(self, events: list[Event]) -> None: ...


def renewal_end(license: License, *, today: date, months: int) -> date:
    """The end date a renewal of `months` gives: counted from the later of today and the end date."""
    return lifecycle.renewal_end(license.ends_on, today, months)


def renewed_status(license: License) -> LicenseStatus:
    """The status after a renewal: ACTIVE from ACTIVE or EXPIRED; a paused (SUSPENDED) or PENDING
    license keeps its status. A REVOKED license cannot be renewed (TransitionRefused)."""
    if license.status is LicenseStatus.REVOKED:
        transition(license.status, Action.RENEW)  # raises: revocation is final
    try:
        return transition(license.status, Action.RENEW)
    except TransitionRefused:
        return license.status


def money(amount: str | None) -> int | None:
    """'49.00' or '49' as cents (4900); None stays None."""
    if amount is None:
        return None
    try:
        value = Decimal(amount.strip().replace(",", "."))
    except InvalidOperation:
        raise InvalidInput(f"not an amount: {amount!r} (e.g. 49.00)") from None
    if value < 0 or value != value.quantize(Decimal("0.01")):
        raise InvalidInput(f"not an amount: {amount!r} (e.g. 49.00)")
    return int(value * 100)


def renew_manually(
    store: Any,
    events: Publisher,
    license_id: str,
    *,
    product: Product | None,
    today: date,
    actor: str,
    months: int | None = None,
    method: str = "invoice",
    payment_status: PaymentStatus = PaymentStatus.PAID,
    invoice_url: str | None = None,
    amount: int | None = None,
    currency: str | None = None,
) -> License:
    """A renewal paid outside Stripe (bank transfer, invoice, a custom deal's yearly order): the
    renewal rule, a payment on the license, the history entry and the LicenseRenewed mail, as a
    Stripe renewal has. Refused for a REVOKED license, with nothing changed."""
    invoice_url = web_link(invoice_url)
    term = months or (product.term_months if product else 12)
    if not 1 <= term <= 120:
        raise InvalidInput("a renewal is 1 to 120 months")
    if currency is not None and len(currency) != 3:
        raise InvalidInput(f"not a currency code: {currency!r} (e.g. eur)")
    default_currency = product.renewal_price.currency if product and product.renewal_price else "eur"

    def change(license: License) -> tuple[License, list[HistoryEntry]]:
        status = renewed_status(license)
        new_end = renewal_end(license, today=today, months=term)
        payment = Payment(
            at=today,
            amount=amount,
            currency=(currency or default_currency).lower() if amount is not None else currency,
            method=method,
            status=payment_status,
            invoice_url=invoice_url,
            paid_on=today if payment_status is PaymentStatus.PAID else None,
            reason="renewal",
            by=actor,
        )
        changed = license.model_copy(
            update={
                "ends_on": new_end,
                "status": status,
                "status_reason": None if status is LicenseStatus.ACTIVE else license.status_reason,
                "payments": [*license.payments, payment],
            }
        )
        entry = HistoryEntry(
            license_id=license.id,
            actor=actor,
            action="renewed",
            detail={
                "previous_ends_on": license.ends_on.isoformat(),
                "ends_on": new_end.isoformat(),
                "months": term,
                "payment_method": method,
                "payment_status": payment_status.value,
            },
            customer_visible=True,
        )
        return changed, [entry]

    before, saved = update_license(store, license_id, change)
    events.publish([renewed_event(saved, before.ends_on, f"manual:{saved.id}:{saved.revision}")])
    return saved


def renewed_event(license: License, previous_ends_on: date, payment_key: str) -> LicenseRenewed:
    """The LicenseRenewed event, as Stripe renewals announce it."""
    return LicenseRenewed(
        license_id=license.id,
        account_id=license.account_id,
        product=license.product,
        ends_on=license.ends_on.isoformat(),
        previous_ends_on=previous_ends_on.isoformat(),
        dedupe_key=f"LicenseRenewed:{payment_key}",
    )
