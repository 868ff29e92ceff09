"""Stripe events to licenses: a paid checkout becomes licenses exactly once, whatever Stripe
retries, duplicates or reorders.

Every handler is idempotent on its own key (the checkout session, the renewal's payment, the
invoice), so that a retry converges on the state of one clean delivery; the processed event id is
recorded last, as a fast path for duplicates. Events for emails are published from the final state
with deterministic dedupe keys, so a retry after a failed publish re-announces, and the notifier's
ledger makes sure nobody is mailed twice.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from ..adapters.stripe_api import LineItem
from ..dates import add_months
from ..errors import Conflict, NotFound, TransientError, TransitionRefused, UnissuableSale, UnknownProduct
from ..events import Event
from ..events import parse as parse_event
from ..lifecycle import Action, transition
from ..models import (
    Account,
    Billing,
    HistoryEntry,
    License,
    LicenseStatus,
    LicenseType,
    PaymentStatus,
    Product,
)
from .issuing import MAX_QUANTITY, issue_licenses, issued_event

logger = Logger(service="licensing")

ACTOR = "stripe"
EVENT_TTL_DAYS = 7  # Stripe retries for 3 days; duplicates are recognised for longer
NOTE_TTL_DAYS = 120  # refunds and disputes can precede their purchase's delivery by days
_SAVE_ATTEMPTS = 4


class StripeReader(Protocol):
    def line_items(self, session_id: str) -> list[LineItem] | None: ...
    def invoice(self, invoice_id: str) -> dict[str, Any] | None: ...
    def invoice_url(self, invoice_id: str) -> str | None: ...
    def receipt_url(self, payment_intent_id: str) -> str | None: ...


class Publisher(Protocol):
    def publish(self, events: list[Event]) -> None: ...


@dataclass
class Purchases:
    """The purchase use cases, with their ports."""

    store: Any  # licensing.adapters.dynamo.DynamoStore or an equivalent
    events: Publisher
    stripe: StripeReader
    today: Callable[[], date]
    _outbox: list[Event] = field(default_factory=list)

    # -- entry point -----------------------------------------------------------------------------

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """Apply one verified Stripe event. Returns the answer body for Stripe."""
        event_type = str(event.get("type", ""))
        handler = _HANDLERS.get(event_type)
        if handler is None:
            return {"ignored": True}
        event_id = str(event["id"])
        if self.store.get_claim(f"stripe-event:{event_id}") is not None:
            return {"received": True, "duplicate": True}
        self._outbox = []
        handler(self, event["data"]["object"])
        if self._outbox:
            self.events.publish(self._outbox)
        self.store.claim(f"stripe-event:{event_id}", ttl_days=EVENT_TTL_DAYS, detail={"type": event_type})
        logger.info("stripe event applied", extra={"event_id": event_id, "type": event_type})
        return {"received": True}

    # -- checkout --------------------------------------------------------------------------------

    def on_checkout_completed(self, session: dict[str, Any]) -> None:
        paid = session.get("payment_status") in ("paid", "no_payment_required")
        self._checkout(session, paid=paid)

    def on_async_payment_succeeded(self, session: dict[str, Any]) -> None:
        self._checkout(session, paid=True)

    def on_async_payment_failed(self, session: dict[str, Any]) -> None:
        session_id = str(session["id"])
        self.store.remember(f"payment-failed:{session_id}", {"session": session_id}, ttl_days=NOTE_TTL_DAYS)
        ids = self.store.license_ids_for_ref(session_id)
        for license_id in ids:
            self._change(license_id, lambda lic: self._revoke_pending(lic))
        account_id = self._account_id_for_session(session, ids)
        if account_id:
            self._announce(
                "PaymentFailed",
                {
                    "license_ids": ids,
                    "account_id": account_id,
                    "product": self._session_product_hint(session, ids),
                    "dedupe_key": f"PaymentFailed:{session_id}",
                },
            )

    def _revoke_pending(self, license: License) -> tuple[License, list[HistoryEntry]] | None:
        if license.status is not LicenseStatus.PENDING:
            return None
        return _paid_status(license, Action.REVOKE, "payment failed", PaymentStatus.FAILED, "payment failed")

    def _checkout(self, session: dict[str, Any], *, paid: bool) -> None:
        metadata = session.get("metadata") or {}
        if metadata.get("license_id"):
            if paid:
                self._renew_by_checkout(session, str(metadata["license_id"]))
            return
        session_id = str(session["id"])
        existing = self.store.license_ids_for_ref(session_id)
        if not existing:
            if self.store.get_claim(f"payment-failed:{session_id}") is not None:
                logger.info(
                    "checkout whose payment already failed: nothing granted", extra={"session": session_id}
                )
                return
            existing = self._issue(session, paid=paid)
        if paid:
            for license_id in existing:
                self._change(license_id, lambda lic: self._confirm_payment(lic, session))
        # On every delivery, not only the first: a retry after a crash must still apply a refund or
        # dispute that came before the purchase (applying a note twice changes nothing).
        payment = _id(session.get("payment_intent"))
        if payment:
            self._apply_early_notes(existing, payment)
        self._announce_licenses(existing)

    def _issue(self, session: dict[str, Any], *, paid: bool) -> list[str]:
        session_id = str(session["id"])
        product, quantity, trial = self._product_of(session)
        if quantity > MAX_QUANTITY:
            logger.error(
                "sale too large to issue automatically", extra={"session": session_id, "quantity": quantity}
            )
            raise UnissuableSale(
                f"A checkout of {quantity} licenses exceeds the {MAX_QUANTITY} issued automatically; "
                "staff must issue it with the CLI."
            )
        account = self._account_for(session)
        billing = self._billing_of(session, paid=paid)
        refs = [
            ref
            for ref in (
                session_id,
                _id(session.get("payment_intent")),
                _id(session.get("subscription")),
                _id(session.get("invoice")),
            )
            if ref
        ]
        subscription = _id(session.get("subscription"))
        try:
            licenses = issue_licenses(
                self.store,
                None,
                product=product,
                account=account,
                actor=ACTOR,
                quantity=quantity,
                license_type=LicenseType.TRIAL if trial else LicenseType.COMMERCIAL,
                status=LicenseStatus.ACTIVE if paid else LicenseStatus.PENDING,
                starts_on=self.today(),
                ends_on=self._subscription_period_end(session) if subscription else None,
                billing=billing,
                refs=refs,
                guard=f"checkout:{session_id}",
                auto_renews=subscription is not None,
            )
        except Conflict:
            # Another delivery of this sale won the race: its licenses are the ones.
            claim = self.store.get_claim(f"checkout:{session_id}")
            if not claim or not claim.get("license_ids"):
                raise TransientError("the sale's licenses are being written; retry") from None
            return [str(license_id) for license_id in claim["license_ids"]]
        ids = [license.id for license in licenses]
        logger.info(
            "licenses issued", extra={"session": session_id, "count": len(ids), "product": product.slug}
        )
        return ids

    def _subscription_period_end(self, session: dict[str, Any]) -> date | None:
        """The end of the first period a subscription checkout paid for (its trial, or its first
        month or year), from the first invoice; None (the product's term) when it cannot be read."""
        invoice_id = _id(session.get("invoice"))
        invoice = self.stripe.invoice(invoice_id) if invoice_id else None
        return _period_end(invoice) if invoice else None

    def _confirm_payment(
        self, license: License, session: dict[str, Any]
    ) -> tuple[License, list[HistoryEntry]] | None:
        if license.status is not LicenseStatus.PENDING:
            return None
        billing = license.billing.model_copy(update={"payment_status": PaymentStatus.PAID})
        changed = license.model_copy(
            update={"status": transition(license.status, Action.CONFIRM_PAYMENT), "billing": billing}
        )
        return changed, [_entry(license, "payment confirmed", session=str(session["id"]))]

    def _announce_licenses(self, ids: list[str]) -> None:
        licenses = [license for license in (self.store.get_license(i) for i in ids) if license is not None]
        if not licenses:
            return
        first = licenses[0]
        if first.status in (LicenseStatus.ACTIVE, LicenseStatus.PENDING):
            self._outbox.append(issued_event(licenses))

    # -- product, account, billing of a session --------------------------------------------------

    def _product_of(self, session: dict[str, Any]) -> tuple[Product, int, bool]:
        """The product bought, how many, and whether at a trial price."""
        metadata = session.get("metadata") or {}
        slug = metadata.get("product")
        items = self.stripe.line_items(str(session["id"]))
        if slug is None:
            for item in items or []:
                slug = self.store.product_for_price(item.price_id) if item.price_id else None
                if slug:
                    break
        if slug is None:
            logger.error("sale of an unknown product", extra={"session": session["id"]})
            raise UnknownProduct(
                "The checkout names no known product (metadata.product or a mapped price id)."
            )
        product = self.store.get_product(str(slug))
        if product is None:
            logger.error("sale of an unknown product", extra={"session": session["id"], "product": slug})
            raise UnknownProduct(f"The checkout names product '{slug}', which the catalogue does not know.")
        prices = set(product.stripe_price_ids + product.trial_price_ids)
        mine = [item for item in items or [] if item.price_id in prices] or list(items or [])
        quantity = sum(item.quantity for item in mine) if mine else _metadata_quantity(metadata)
        trial = metadata.get("license_type") == "trial" or any(
            item.price_id in product.trial_price_ids or item.unit_amount == 0 for item in mine
        )
        return product, max(1, quantity), trial

    def _account_for(self, session: dict[str, Any]) -> Account:
        """The buyer's account: by Stripe customer, else by contact email, else a new one."""
        details = session.get("customer_details") or {}
        email = str(details.get("email") or session.get("customer_email") or "").strip().lower()
        customer = _id(session.get("customer"))
        account_id = self.store.account_id_for_customer(customer) if customer else None
        if account_id is None and email:
            contact = self.store.get_contact(email)
            account_id = contact.account_ids[0] if contact and contact.account_ids else None
        account = self.store.get_account(account_id) if account_id else None
        if account is None:
            account = self._create_account(session, customer, email)
        elif customer and account.stripe_customer_id is None:
            # Found by email: remember the customer, so that its next purchase finds the account.
            account = self.store.link_customer(account, customer)
        if email:
            self.store.add_contact(account.id, email, str(details.get("name") or ""))
        return account

    def _create_account(self, session: dict[str, Any], customer: str | None, email: str) -> Account:
        details = session.get("customer_details") or {}
        company = details.get("business_name") or (session.get("collected_information") or {}).get(
            "business_name"
        )
        name = str(company or details.get("name") or email or "Stripe customer")
        # The id is derived from the buyer, so that concurrent first purchases share one account.
        seed = f"stripe:{customer or email or session['id']}".encode()
        account_id = "acc_" + base64.b32encode(hashlib.sha256(seed).digest()).decode().lower()[:16]
        address = {k: v for k, v in (details.get("address") or {}).items() if isinstance(v, str | None)}
        account = Account(
            id=account_id,
            name=name,
            kind="organisation" if company else "person",
            stripe_customer_id=customer,
            billing_address=address,
            tax_ids=[str(tax.get("value")) for tax in details.get("tax_ids") or [] if tax.get("value")],
        )
        try:
            self.store.create_account(account)
        except Conflict:
            existing = self.store.get_account(account_id)
            if existing is None:
                raise TransientError("account creation raced; retry") from None
            return existing
        return account

    def _billing_of(self, session: dict[str, Any], *, paid: bool) -> Billing:
        amount = session.get("amount_total")
        if not paid:
            status = PaymentStatus.PENDING
        elif amount == 0:
            status = PaymentStatus.FREE
        else:
            status = PaymentStatus.PAID
        invoice = _id(session.get("invoice"))
        payment = _id(session.get("payment_intent"))
        invoice_url = None
        if invoice:
            note = self.store.get_claim(f"invoice-url:{invoice}")
            invoice_url = (note or {}).get("url") or self.stripe.invoice_url(invoice)
        receipt_url = self.stripe.receipt_url(payment) if payment and not invoice_url else None
        method_types = session.get("payment_method_types") or []
        return Billing(
            invoice_url=invoice_url or receipt_url,
            receipt_url=receipt_url,
            payment_status=status,
            method="stripe",
            payment_method_type=str(method_types[0]) if method_types else None,
            amount_total=amount,
            currency=session.get("currency"),
            stripe_customer_id=_id(session.get("customer")),
            stripe_checkout_session_id=str(session["id"]),
            stripe_payment_intent_id=payment,
            stripe_subscription_id=_id(session.get("subscription")),
            stripe_invoice_id=invoice,
        )

    def _account_id_for_session(self, session: dict[str, Any], ids: list[str]) -> str | None:
        if ids:
            license = self.store.get_license(ids[0])
            return license.account_id if license else None
        customer = _id(session.get("customer"))
        account_id = self.store.account_id_for_customer(customer) if customer else None
        email = str((session.get("customer_details") or {}).get("email") or "").lower()
        if account_id is None and email:
            contact = self.store.get_contact(email)
            account_id = contact.account_ids[0] if contact and contact.account_ids else None
        return account_id

    def _session_product_hint(self, session: dict[str, Any], ids: list[str]) -> str | None:
        if ids:
            license = self.store.get_license(ids[0])
            return license.product if license else None
        return (session.get("metadata") or {}).get("product")

    # -- renewals --------------------------------------------------------------------------------

    def _renew_by_checkout(self, session: dict[str, Any], license_id: str) -> None:
        payment = _id(session.get("payment_intent")) or str(session["id"])
        self._renew(
            license_id,
            payment_key=f"renewal:{session['id']}",
            billing_update={
                "stripe_checkout_session_id": str(session["id"]),
                "stripe_payment_intent_id": _id(session.get("payment_intent")),
                "amount_total": session.get("amount_total"),
                "currency": session.get("currency"),
                "payment_status": PaymentStatus.PAID,
            },
            refs=[ref for ref in (str(session["id"]), payment) if ref],
            until=None,
        )

    def _renew(
        self,
        license_id: str,
        *,
        payment_key: str,
        billing_update: dict[str, Any],
        refs: list[str],
        until: date | None,
    ) -> None:
        """Extend a license once per payment: by the product's term from the later of today and
        its end date (or to `until`, a subscription period's end)."""
        for _ in range(_SAVE_ATTEMPTS):
            license = self.store.get_license(license_id)
            if license is None:
                logger.error(
                    "renewal paid for a license that does not exist", extra={"license_id": license_id}
                )
                return
            if self.store.get_claim(payment_key) is not None:
                self._announce_renewal(license, payment_key)
                return
            billing = license.billing.model_copy(
                update={k: v for k, v in billing_update.items() if v is not None}
            )
            if license.status is LicenseStatus.REVOKED:
                logger.warning(
                    "renewal paid for a revoked license: not revived, staff to refund",
                    extra={"license_id": license_id},
                )
                changed = license.model_copy(update={"billing": billing})
                history = [_entry(license, "renewal paid while revoked", payment=payment_key, customer=False)]
            else:
                product = self.store.get_product(license.product)
                months = product.term_months if product else 12
                start = max(self.today(), license.ends_on)
                new_end = until if until is not None else add_months(start, months)
                new_end = max(new_end, license.ends_on)
                try:
                    status = transition(license.status, Action.RENEW)
                except TransitionRefused:
                    status = license.status  # e.g. SUSPENDED: paid time is added, the pause stays
                changed = license.model_copy(
                    update={
                        "ends_on": new_end,
                        "status": status,
                        "billing": billing,
                        "status_reason": None if status is LicenseStatus.ACTIVE else license.status_reason,
                    }
                )
                history = [
                    _entry(
                        license,
                        "renewed",
                        previous_ends_on=license.ends_on.isoformat(),
                        ends_on=new_end.isoformat(),
                    )
                ]
            try:
                saved = self.store.save_license(changed, history, refs, guard=payment_key)
            except Conflict:
                continue
            self._announce_renewal(saved, payment_key, previous_ends_on=license.ends_on)
            return
        raise TransientError("the license kept changing during a renewal; retry")

    def _announce_renewal(
        self, license: License, payment_key: str, previous_ends_on: date | None = None
    ) -> None:
        if license.status is LicenseStatus.REVOKED:
            return
        self._announce(
            "LicenseRenewed",
            {
                "license_id": license.id,
                "account_id": license.account_id,
                "product": license.product,
                "ends_on": license.ends_on.isoformat(),
                "previous_ends_on": previous_ends_on.isoformat() if previous_ends_on else None,
                "dedupe_key": f"LicenseRenewed:{payment_key}",
            },
        )

    def on_invoice_paid(self, invoice: dict[str, Any]) -> None:
        invoice_id = str(invoice["id"])
        url = invoice.get("hosted_invoice_url")
        subscription = _subscription_of(invoice)
        reason = invoice.get("billing_reason")
        payments = _invoice_payments(invoice)
        if subscription and reason == "subscription_cycle":
            period_end = _period_end(invoice)
            for license_id in self.store.license_ids_for_ref(subscription):
                self._renew(
                    license_id,
                    payment_key=f"invoice:{invoice_id}:{license_id}",
                    billing_update={
                        "invoice_url": url,
                        "stripe_invoice_id": invoice_id,
                        "payment_status": PaymentStatus.PAID,
                        "amount_total": invoice.get("amount_paid"),
                        "currency": invoice.get("currency"),
                    },
                    refs=[invoice_id, *payments],
                    until=period_end,
                )
            for payment in payments:
                self._apply_early_notes(self.store.license_ids_for_ref(subscription), payment)
            return
        ids = self.store.license_ids_for_ref(subscription) if subscription else []
        ids = ids or self.store.license_ids_for_ref(invoice_id)
        if not ids:
            # The checkout's event has not arrived yet: it will pick the link up.
            if url:
                self.store.remember(f"invoice-url:{invoice_id}", {"url": url}, ttl_days=NOTE_TTL_DAYS)
            return
        for license_id in ids:
            # The payment behind the invoice is how its refunds and disputes find the license.
            self.store.add_refs(license_id, [invoice_id, *payments])
            self._change(license_id, lambda lic: _with_invoice(lic, invoice_id, url))
        for payment in payments:
            self._apply_early_notes(ids, payment)

    def on_subscription_deleted(self, subscription: dict[str, Any]) -> None:
        for license_id in self.store.license_ids_for_ref(str(subscription["id"])):
            self._change(
                license_id,
                lambda lic: (
                    None
                    if not lic.auto_renews
                    else (
                        lic.model_copy(update={"auto_renews": False}),
                        [_entry(lic, "subscription cancelled", ends_on=lic.ends_on.isoformat())],
                    )
                ),
            )

    # -- refunds and disputes --------------------------------------------------------------------

    def on_charge_refunded(self, charge: dict[str, Any]) -> None:
        payment = _id(charge.get("payment_intent")) or str(charge["id"])
        refunded = int(charge.get("amount_refunded") or 0)
        note = {
            "kind": "refund",
            "full": bool(charge.get("refunded")) or refunded >= int(charge.get("amount") or 0),
            "amount_refunded": refunded,
            "cause": f"refund:{charge['id']}",
        }
        earlier = self.store.get_claim(f"early:{payment}:refund")
        if earlier and (earlier["full"] or earlier["amount_refunded"] > refunded):
            note = earlier  # `amount_refunded` is cumulative: an older event never undoes a newer one
        self._apply_or_remember(payment, "refund", note)

    def on_dispute_created(self, dispute: dict[str, Any]) -> None:
        self._dispute(dispute, "created")

    def on_dispute_closed(self, dispute: dict[str, Any]) -> None:
        self._dispute(dispute, str(dispute.get("status")))

    def _dispute(self, dispute: dict[str, Any], outcome: str) -> None:
        dispute_id = str(dispute["id"])
        state = self.store.get_claim(f"dispute:{dispute_id}")
        if outcome == "created" and state and state.get("outcome") != "created":
            logger.info("dispute opened after it closed: already settled", extra={"dispute": dispute_id})
            return
        self.store.remember(f"dispute:{dispute_id}", {"outcome": outcome}, ttl_days=NOTE_TTL_DAYS)
        payment = _id(dispute.get("payment_intent")) or _id(dispute.get("charge")) or dispute_id
        note = {"kind": "dispute", "outcome": outcome, "cause": f"dispute:{dispute_id}:{outcome}"}
        self._apply_or_remember(payment, "dispute", note)

    def _apply_or_remember(self, payment: str, kind: str, note: dict[str, Any]) -> None:
        """Apply a refund or dispute to the licenses its payment bought. The note is written first
        and the licenses read after (the purchase does the opposite), so that whichever comes
        second sees the other: one arriving before its purchase is applied when the purchase lands."""
        self.store.remember(f"early:{payment}:{kind}", note, ttl_days=NOTE_TTL_DAYS)
        ids = self.store.license_ids_for_ref(payment)
        if not ids:
            logger.warning("refund or dispute for a payment without license (yet)", extra={"kind": kind})
            return
        for license_id in ids:
            self._change(license_id, partial(_apply_note, note=note))
            self._announce_status(license_id, note)

    def _apply_early_notes(self, ids: list[str], payment: str) -> None:
        for kind in ("refund", "dispute"):
            note = self.store.get_claim(f"early:{payment}:{kind}")
            if note:
                for license_id in ids:
                    self._change(license_id, partial(_apply_note, note=note))

    def _announce_status(self, license_id: str, note: dict[str, Any]) -> None:
        """Tell the customer when this note is what changed the license's status (also on a retry,
        so an announcement lost to a failure is made again; the notifier mails it once)."""
        license = self.store.get_license(license_id)
        if license is None or license.status_cause != note["cause"]:
            return
        self._announce(
            "LicenseStatusChanged",
            {
                "license_id": license.id,
                "account_id": license.account_id,
                "product": license.product,
                "status": license.status.value,
                "reason": license.status_reason,
                "dedupe_key": f"LicenseStatusChanged:{license.id}:{note['cause']}",
            },
        )

    # -- shared ----------------------------------------------------------------------------------

    def _change(
        self, license_id: str, mutate: Callable[[License], tuple[License, list[HistoryEntry]] | None]
    ) -> None:
        """Apply `mutate` to the current license and save it, retrying when a write races."""
        for _ in range(_SAVE_ATTEMPTS):
            license = self.store.get_license(license_id)
            if license is None:
                raise NotFound(f"license {license_id} disappeared")
            result = mutate(license)
            if result is None:
                return
            changed, history = result
            try:
                self.store.save_license(changed, history)
            except Conflict:
                continue
            return
        raise TransientError("the license kept changing; retry")

    def _announce(self, detail_type: str, detail: dict[str, Any]) -> None:
        self._outbox.append(parse_event(detail_type, detail))


def _apply_note(license: License, note: dict[str, Any]) -> tuple[License, list[HistoryEntry]] | None:
    """A refund or dispute applied to a license; None when it changes nothing (a retry, or an
    event older than what the license already reflects)."""
    cause = note["cause"]
    if note["kind"] == "refund":
        refunded = note["amount_refunded"]
        if note["full"]:
            if license.status is LicenseStatus.REVOKED:
                return None
            return _paid_status(
                license, Action.REVOKE, "refunded", PaymentStatus.REFUNDED, cause, amount_refunded=refunded
            )
        if refunded <= license.billing.amount_refunded:
            return None
        billing = license.billing.model_copy(
            update={"payment_status": PaymentStatus.PARTIALLY_REFUNDED, "amount_refunded": refunded}
        )
        history = [_entry(license, "partially refunded", amount_refunded=refunded, customer=False)]
        return license.model_copy(update={"billing": billing}), history
    outcome = note["outcome"]
    if outcome == "lost":
        if license.status is LicenseStatus.REVOKED:
            return None
        return _paid_status(license, Action.REVOKE, "dispute lost", PaymentStatus.DISPUTED, cause)
    if outcome in ("created", "needs_response", "under_review", "warning_needs_response"):
        if license.status not in (LicenseStatus.ACTIVE, LicenseStatus.EXPIRED):
            return None
        return _paid_status(license, Action.SUSPEND, "payment disputed", PaymentStatus.DISPUTED, cause)
    # won (or closed in the vendor's favour): the pause the dispute caused ends
    if license.status is not LicenseStatus.SUSPENDED or license.status_reason != "payment disputed":
        return None
    return _paid_status(
        license, Action.REINSTATE, None, PaymentStatus.PAID, cause, history_reason="dispute won"
    )


def _paid_status(
    license: License,
    action: Action,
    reason: str | None,
    payment_status: PaymentStatus,
    cause: str,
    *,
    history_reason: str | None = None,
    **billing_changes: Any,
) -> tuple[License, list[HistoryEntry]]:
    """A status change caused by the payment, with the billing details that go with it."""
    status = transition(license.status, action)
    billing = license.billing.model_copy(update={"payment_status": payment_status, **billing_changes})
    changed = license.model_copy(
        update={"status": status, "status_reason": reason, "status_cause": cause, "billing": billing}
    )
    done = {LicenseStatus.REVOKED: "revoked", LicenseStatus.SUSPENDED: "suspended"}.get(status, "reinstated")
    return changed, [_entry(license, done, reason=history_reason or reason)]


def _with_invoice(
    license: License, invoice_id: str, url: str | None
) -> tuple[License, list[HistoryEntry]] | None:
    if not url or license.billing.invoice_url == url:
        return None
    billing = license.billing.model_copy(update={"invoice_url": url, "stripe_invoice_id": invoice_id})
    return license.model_copy(update={"billing": billing}), [
        _entry(license, "invoice available", invoice=invoice_id)
    ]


def _entry(license: License, action: str, *, customer: bool = True, **detail: Any) -> HistoryEntry:
    return HistoryEntry(
        license_id=license.id, actor=ACTOR, action=action, detail=detail, customer_visible=customer
    )


def _metadata_quantity(metadata: dict[str, Any]) -> int:
    """The quantity when the line items cannot be read: `metadata.quantity` (which the local
    `licensing dev purchase` sets, having no Stripe API), else 1."""
    try:
        return max(1, int(metadata.get("quantity") or 1))
    except ValueError:
        return 1


def _id(value: Any) -> str | None:
    """A Stripe reference as an id, whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def _invoice_payments(invoice: dict[str, Any]) -> list[str]:
    """The payment intents (or charges) that paid an invoice: `invoice.payment_intent` and
    `invoice.charge` before 2025 API versions, `invoice.payments` since."""
    found = [_id(invoice.get("payment_intent")), _id(invoice.get("charge"))]
    for entry in (invoice.get("payments") or {}).get("data", []):
        payment = entry.get("payment") or {}
        found += [_id(payment.get("payment_intent")), _id(payment.get("charge"))]
    return list(dict.fromkeys(ref for ref in found if ref))


def _subscription_of(invoice: dict[str, Any]) -> str | None:
    """The invoice's subscription: `invoice.subscription` before 2025 API versions,
    `invoice.parent.subscription_details.subscription` since."""
    legacy = _id(invoice.get("subscription"))
    if legacy:
        return legacy
    parent = invoice.get("parent") or {}
    return _id((parent.get("subscription_details") or {}).get("subscription"))


def _period_end(invoice: dict[str, Any]) -> date | None:
    """The end of the period the invoice's subscription lines pay for. Not the invoice's own
    `period_end`: on a renewal invoice that is the end of the period before."""
    ends = [
        int(line["period"]["end"])
        for line in (invoice.get("lines") or {}).get("data", [])
        if (line.get("period") or {}).get("end")
    ]
    return datetime.fromtimestamp(max(ends), UTC).date() if ends else None


_HANDLERS: dict[str, Callable[[Purchases, dict[str, Any]], None]] = {
    "checkout.session.completed": Purchases.on_checkout_completed,
    "checkout.session.async_payment_succeeded": Purchases.on_async_payment_succeeded,
    "checkout.session.async_payment_failed": Purchases.on_async_payment_failed,
    "invoice.paid": Purchases.on_invoice_paid,
    "customer.subscription.deleted": Purchases.on_subscription_deleted,
    "charge.refunded": Purchases.on_charge_refunded,
    "charge.dispute.created": Purchases.on_dispute_created,
    "charge.dispute.closed": Purchases.on_dispute_closed,
}
