"""A checkout: a paid (or pending) sale becomes licenses exactly once; its payment confirms them,
its failure revokes them, and its first invoice adds the invoice link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial

from ...errors import Conflict, TransientError, UnissuableSale, UnknownProduct
from ...events import LicensesWithoutContact, PaymentFailed
from ...lifecycle import Action, transition
from ...models import Billing, License, LicenseStatus, LicenseType, PaymentStatus, Product
from ..issuing import MAX_QUANTITY, issue_licenses, issued_event
from ..licenses import Change
from .buyers import Buyers
from .chargebacks import Chargebacks
from .context import ACTOR, NOTE_TTL_DAYS, PurchaseContext, entry, logger, paid_status
from .payments import confirmed, order_payments
from .renewals import Renewals
from .stripe_events import CheckoutSession, Invoice


@dataclass
class Checkout:
    context: PurchaseContext
    buyers: Buyers
    renewals: Renewals
    chargebacks: Chargebacks

    def completed(self, session: CheckoutSession) -> None:
        self._checkout(session, paid=session.paid_on_completion)

    def payment_succeeded(self, session: CheckoutSession) -> None:
        self._checkout(session, paid=True)

    def payment_failed(self, session: CheckoutSession) -> None:
        store = self.context.store
        store.remember(f"payment-failed:{session.id}", {"session": session.id}, ttl_days=NOTE_TTL_DAYS)
        ids = store.license_ids_for_ref(session.id)
        for license_id in ids:
            self.context.change(license_id, _revoke_pending)
        if ids:
            first = store.get_license(ids[0])
            account_id, product = (first.account_id, first.product) if first else (None, None)
        else:
            account_id, product = self.buyers.existing_account_id(session), session.product
        if account_id:
            self.context.announce(
                PaymentFailed(
                    license_ids=ids,
                    account_id=account_id,
                    product=product,
                    dedupe_key=f"PaymentFailed:{session.id}",
                )
            )

    def invoice_paid(self, invoice: Invoice) -> None:
        """A checkout's invoice (not a renewal): its link and payments join the sale's licenses."""
        store = self.context.store
        ids = store.license_ids_for_ref(invoice.subscription) if invoice.subscription else []
        ids = ids or store.license_ids_for_ref(invoice.id)
        if not ids:
            # The checkout's event has not arrived yet: it will pick the link up.
            if invoice.hosted_invoice_url:
                store.remember(
                    f"invoice-url:{invoice.id}", {"url": invoice.hosted_invoice_url}, ttl_days=NOTE_TTL_DAYS
                )
            return
        for license_id in ids:
            # The payment behind the invoice is how its refunds and disputes find the license.
            store.add_refs(license_id, [invoice.id, *invoice.payments])
            self.context.change(
                license_id, partial(_with_invoice, invoice_id=invoice.id, url=invoice.hosted_invoice_url)
            )
        for payment in invoice.payments:
            self.chargebacks.apply_early_notes(ids, payment)

    def _checkout(self, session: CheckoutSession, *, paid: bool) -> None:
        if session.renews_license_id:
            if paid:
                self.renewals.renew_by_checkout(session, session.renews_license_id)
            return
        store = self.context.store
        existing = store.license_ids_for_ref(session.id)
        if not existing:
            if store.get_claim(f"payment-failed:{session.id}") is not None:
                logger.info(
                    "checkout whose payment already failed: nothing granted", extra={"session": session.id}
                )
                return
            existing = self._issue(session, paid=paid)
        if paid:
            for license_id in existing:
                self.context.change(
                    license_id, partial(_confirm_payment, session_id=session.id, day=self.context.today())
                )
        # On every delivery, not only the first: a retry after a crash must still apply a refund or
        # dispute that came before the purchase (applying a note twice changes nothing).
        if session.payment_intent:
            self.chargebacks.apply_early_notes(existing, session.payment_intent)
        self._announce_licenses(existing)
        if paid and not session.email:
            self._tell_staff_nobody_receives(session, existing)

    def _issue(self, session: CheckoutSession, *, paid: bool) -> list[str]:
        product, quantity, trial = self._product_of(session)
        if quantity > MAX_QUANTITY:
            logger.error(
                "sale too large to issue automatically", extra={"session": session.id, "quantity": quantity}
            )
            raise UnissuableSale(
                f"A checkout of {quantity} licenses exceeds the {MAX_QUANTITY} issued automatically; "
                "staff must issue it with the CLI."
            )
        store = self.context.store
        account = self.buyers.account_for(session)
        billing = self._billing_of(session, paid=paid)
        try:
            licenses = issue_licenses(
                store,
                None,
                product=product,
                account=account,
                actor=ACTOR,
                quantity=quantity,
                license_type=LicenseType.TRIAL if trial else LicenseType.COMMERCIAL,
                status=LicenseStatus.ACTIVE if paid else LicenseStatus.PENDING,
                starts_on=self.context.today(),
                ends_on=self._subscription_period_end(session) if session.subscription else None,
                billing=billing,
                # Each license records its share of the order (remainder cents to the first).
                payment_shares=order_payments(
                    at=self.context.today(),
                    total=session.amount_total,
                    count=quantity,
                    currency=session.currency,
                    status=billing.payment_status,
                    invoice_url=billing.invoice_url,
                    stripe_payment_id=session.payment_intent or session.invoice or session.id,
                    reason="purchase",
                ),
                refs=session.refs,
                guard=f"checkout:{session.id}",
                auto_renews=session.subscription is not None,
            )
        except Conflict:
            # Another delivery of this sale won the race: its licenses are the ones.
            claim = store.get_claim(f"checkout:{session.id}")
            if not claim or not claim.get("license_ids"):
                raise TransientError("the sale's licenses are being written; retry") from None
            return [str(license_id) for license_id in claim["license_ids"]]
        ids = [license.id for license in licenses]
        logger.info(
            "licenses issued", extra={"session": session.id, "count": len(ids), "product": product.slug}
        )
        return ids

    def _subscription_period_end(self, session: CheckoutSession) -> date | None:
        """The end of the first period a subscription checkout paid for (its trial, or its first
        month or year), from the first invoice; None (the product's term) when it cannot be read."""
        invoice = self.context.stripe.invoice(session.invoice) if session.invoice else None
        return Invoice.from_stripe(invoice).period_end if invoice else None

    def _announce_licenses(self, ids: list[str]) -> None:
        store = self.context.store
        licenses = [license for license in (store.get_license(i) for i in ids) if license is not None]
        if not licenses:
            return
        first = licenses[0]
        if first.status in (LicenseStatus.ACTIVE, LicenseStatus.PENDING):
            self.context.outbox.append(issued_event(licenses))

    def _tell_staff_nobody_receives(self, session: CheckoutSession, ids: list[str]) -> None:
        """A paid sale without any email address: the licenses exist but nobody gets them."""
        first = self.context.store.get_license(ids[0]) if ids else None
        if first is None or self.context.store.contact_emails(first.account_id):
            return  # the account has contacts (a returning customer): they are mailed
        logger.warning("paid checkout without an email address: staff told", extra={"session": session.id})
        self.context.announce(
            LicensesWithoutContact(
                license_ids=ids,
                account_id=first.account_id,
                product=first.product,
                checkout_session=session.id,
                dedupe_key=f"LicensesWithoutContact:{session.id}",
            )
        )

    def _product_of(self, session: CheckoutSession) -> tuple[Product, int, bool]:
        """The product bought, how many, and whether at a trial price."""
        store = self.context.store
        slug = session.product
        items = self.context.stripe.line_items(session.id)
        if slug is None:
            for item in items or []:
                slug = store.product_for_price(item.price_id) if item.price_id else None
                if slug:
                    break
        if slug is None:
            logger.error("sale of an unknown product", extra={"session": session.id})
            raise UnknownProduct(
                "The checkout names no known product (metadata.product or a mapped price id)."
            )
        product = store.get_product(slug)
        if product is None:
            logger.error("sale of an unknown product", extra={"session": session.id, "product": slug})
            raise UnknownProduct(f"The checkout names product '{slug}', which the catalogue does not know.")
        prices = set(product.stripe_price_ids + product.trial_price_ids)
        mine = [item for item in items or [] if item.price_id in prices] or list(items or [])
        quantity = sum(item.quantity for item in mine) if mine else session.metadata_quantity
        trial = session.trial_requested or any(
            item.price_id in product.trial_price_ids or item.unit_amount == 0 for item in mine
        )
        return product, max(1, quantity), trial

    def _billing_of(self, session: CheckoutSession, *, paid: bool) -> Billing:
        if not paid:
            status = PaymentStatus.PENDING
        elif session.amount_total == 0:
            status = PaymentStatus.FREE
        else:
            status = PaymentStatus.PAID
        invoice_url = None
        if session.invoice:
            note = self.context.store.get_claim(f"invoice-url:{session.invoice}")
            invoice_url = (note or {}).get("url") or self.context.stripe.invoice_url(session.invoice)
        payment = session.payment_intent
        receipt_url = self.context.stripe.receipt_url(payment) if payment and not invoice_url else None
        return Billing(
            invoice_url=invoice_url or receipt_url,
            receipt_url=receipt_url,
            payment_status=status,
            method="stripe",
            payment_method_type=session.payment_method_type,
            amount_total=session.amount_total,
            currency=session.currency,
            stripe_customer_id=session.customer,
            stripe_checkout_session_id=session.id,
            stripe_payment_intent_id=payment,
            stripe_subscription_id=session.subscription,
            stripe_invoice_id=session.invoice,
        )


def _revoke_pending(license: License) -> Change | None:
    if license.status is not LicenseStatus.PENDING:
        return None
    return paid_status(license, Action.REVOKE, "payment failed", PaymentStatus.FAILED, "payment failed")


def _confirm_payment(license: License, session_id: str, day: date) -> Change | None:
    if license.status is not LicenseStatus.PENDING:
        return None
    billing = license.billing.model_copy(update={"payment_status": PaymentStatus.PAID})
    changed = license.model_copy(
        update={
            "status": transition(license.status, Action.CONFIRM_PAYMENT),
            "billing": billing,
            "payments": confirmed(license, None, day),
        }
    )
    return Change(changed, [entry(license, "payment confirmed", session=session_id)])


def _with_invoice(license: License, invoice_id: str, url: str | None) -> Change | None:
    if not url or license.billing.invoice_url == url:
        return None
    billing = license.billing.model_copy(update={"invoice_url": url, "stripe_invoice_id": invoice_id})
    payments = [
        p.model_copy(update={"invoice_url": url}) if p.method == "stripe" and not p.invoice_url else p
        for p in license.payments
    ]
    return Change(
        license.model_copy(update={"billing": billing, "payments": payments}),
        [entry(license, "invoice available", invoice=invoice_id)],
    )
