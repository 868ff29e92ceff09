"""Renewals: a paid renewal checkout or a subscription's cycle invoice extends a license once per
payment; a cancelled subscription stops renewing and keeps the end date paid for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ...errors import NotFound, TransientError
from ...events import LicenseRenewed
from ...lifecycle import renewal_end
from ...models import License, LicenseStatus, Payment, PaymentStatus
from ..licenses import Change, update_license
from ..renewals import renewed_status
from .chargebacks import Chargebacks
from .context import PurchaseContext, entry, logger
from .payments import order_payments
from .stripe_events import CheckoutSession, Invoice, Subscription


@dataclass
class Renewals:
    context: PurchaseContext
    chargebacks: Chargebacks

    def renew_by_checkout(self, session: CheckoutSession, license_id: str) -> None:
        """A paid checkout of the portal's renewal (its metadata names the license)."""
        payment = session.payment_intent or session.id
        (paid,) = order_payments(
            at=self.context.today(),
            total=session.amount_total,
            count=1,
            currency=session.currency,
            status=PaymentStatus.PAID,
            invoice_url=None,
            stripe_payment_id=payment,
            reason="renewal",
        )
        self._renew(
            license_id,
            payment=paid,
            payment_key=f"renewal:{session.id}",
            billing_update={
                "stripe_checkout_session_id": session.id,
                "stripe_payment_intent_id": session.payment_intent,
                "amount_total": session.amount_total,
                "currency": session.currency,
                "payment_status": PaymentStatus.PAID,
            },
            refs=[ref for ref in (session.id, payment) if ref],
            until=None,
        )

    def subscription_cycle(self, invoice: Invoice) -> None:
        """A subscription's renewal invoice: its licenses extend to the period it pays for."""
        store = self.context.store
        subscription = str(invoice.subscription)
        license_ids = store.license_ids_for_ref(subscription)
        # One invoice pays for every license of the subscription: each records its share.
        shares = order_payments(
            at=self.context.today(),
            total=invoice.amount_paid,
            count=max(1, len(license_ids)),
            currency=invoice.currency,
            status=PaymentStatus.PAID,
            invoice_url=invoice.hosted_invoice_url,
            stripe_payment_id=invoice.payments[0] if invoice.payments else invoice.id,
            reason="renewal",
        )
        for license_id, share in zip(license_ids, shares, strict=False):
            self._renew(
                license_id,
                payment=share,
                payment_key=f"invoice:{invoice.id}:{license_id}",
                billing_update={
                    "invoice_url": invoice.hosted_invoice_url,
                    "stripe_invoice_id": invoice.id,
                    "payment_status": PaymentStatus.PAID,
                    "amount_total": share.amount,
                    "currency": invoice.currency,
                },
                refs=[invoice.id, *invoice.payments],
                until=invoice.period_end,
            )
        for payment in invoice.payments:
            self.chargebacks.apply_early_notes(store.license_ids_for_ref(subscription), payment)

    def subscription_cancelled(self, subscription: Subscription) -> None:
        for license_id in self.context.store.license_ids_for_ref(subscription.id):
            self.context.change(license_id, _stop_renewing)

    def _renew(
        self,
        license_id: str,
        *,
        payment: Payment,
        payment_key: str,
        billing_update: dict[str, Any],
        refs: list[str],
        until: date | None,
    ) -> None:
        """Extend a license once per payment: by the product's term from the later of today and
        its end date (or to `until`, a subscription period's end)."""
        store = self.context.store

        def renewal(license: License) -> Change | None:
            if store.get_claim(payment_key) is not None:
                self._announce_renewal(license, payment_key)  # applied before: announce it again
                return None
            billing = license.billing.model_copy(
                update={k: v for k, v in billing_update.items() if v is not None}
            )
            if license.status is LicenseStatus.REVOKED:
                logger.warning(
                    "renewal paid for a revoked license: not revived, staff to refund",
                    extra={"license_id": license_id},
                )
                changed = license.model_copy(
                    update={"billing": billing, "payments": [*license.payments, payment]}
                )
                history = [entry(license, "renewal paid while revoked", payment=payment_key, customer=False)]
                return Change(changed, history, refs, guard=payment_key)
            product = store.get_product(license.product)
            months = product.term_months if product else 12
            new_end = (
                until if until is not None else renewal_end(license.ends_on, self.context.today(), months)
            )
            new_end = max(new_end, license.ends_on)
            status = renewed_status(license)  # e.g. SUSPENDED: paid time is added, the pause stays
            changed = license.model_copy(
                update={
                    "ends_on": new_end,
                    "status": status,
                    "billing": billing,
                    "payments": [*license.payments, payment],
                    "status_reason": None if status is LicenseStatus.ACTIVE else license.status_reason,
                }
            )
            history = [
                entry(
                    license,
                    "renewed",
                    previous_ends_on=license.ends_on.isoformat(),
                    ends_on=new_end.isoformat(),
                )
            ]
            # The guard claims the payment in the same write: a race over it reads the claim next.
            return Change(changed, history, refs, guard=payment_key)

        try:
            updated = update_license(
                store,
                license_id,
                renewal,
                exhausted=TransientError("the license kept changing during a renewal; retry"),
            )
        except NotFound:
            logger.error("renewal paid for a license that does not exist", extra={"license_id": license_id})
            return
        if updated is not None:
            self._announce_renewal(updated.saved, payment_key, previous_ends_on=updated.read.ends_on)

    def _announce_renewal(
        self, license: License, payment_key: str, previous_ends_on: date | None = None
    ) -> None:
        if license.status is LicenseStatus.REVOKED:
            return
        self.context.announce(
            LicenseRenewed(
                license_id=license.id,
                account_id=license.account_id,
                product=license.product,
                ends_on=license.ends_on.isoformat(),
                previous_ends_on=previous_ends_on.isoformat() if previous_ends_on else None,
                dedupe_key=f"LicenseRenewed:{payment_key}",
            )
        )


def _stop_renewing(license: License) -> Change | None:
    if not license.auto_renews:
        return None
    return Change(
        license.model_copy(update={"auto_renews": False}),
        [entry(license, "subscription cancelled", ends_on=license.ends_on.isoformat())],
    )
