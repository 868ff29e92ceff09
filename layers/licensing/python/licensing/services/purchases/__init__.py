"""Stripe events to licenses: a paid checkout becomes licenses exactly once, whatever Stripe
retries, duplicates or reorders.

Every handler is idempotent on its own key (the checkout session, the renewal's payment, the
invoice), so that a retry converges on the state of one clean delivery; the processed event id is
recorded last, as a fast path for duplicates. Events for emails are published from the final state
with deterministic dedupe keys, so a retry after a failed publish re-announces, and the notifier's
ledger makes sure nobody is mailed twice.

The Stripe objects are translated once (``stripe_events``); the use cases are split by what they
are about: ``checkout``, ``buyers`` (accounts and contacts), ``renewals``, ``chargebacks``
(refunds and disputes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .buyers import Buyers
from .chargebacks import Chargebacks
from .checkout import Checkout
from .context import Publisher, PurchaseContext, PurchaseStore, StripeReader, logger
from .renewals import Renewals
from .stripe_events import Charge, CheckoutSession, Dispute, Invoice, Subscription

__all__ = ["Publisher", "PurchaseStore", "Purchases", "StripeReader"]

EVENT_TTL_DAYS = 7  # Stripe retries for 3 days; duplicates are recognised for longer


@dataclass
class Purchases:
    """The purchase use cases, with their ports."""

    store: PurchaseStore
    events: Publisher
    stripe: StripeReader
    today: Callable[[], date]
    checkout: Checkout = field(init=False, repr=False)
    renewals: Renewals = field(init=False, repr=False)
    chargebacks: Chargebacks = field(init=False, repr=False)
    _context: PurchaseContext = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._context = PurchaseContext(store=self.store, stripe=self.stripe, today=self.today)
        self.chargebacks = Chargebacks(self._context)
        self.renewals = Renewals(self._context, self.chargebacks)
        self.checkout = Checkout(self._context, Buyers(self._context), self.renewals, self.chargebacks)

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """Apply one verified Stripe event. Returns the answer body for Stripe."""
        event_type = str(event.get("type", ""))
        apply = _APPLY.get(event_type)
        if apply is None:
            return {"ignored": True}
        event_id = str(event["id"])
        if self.store.get_claim(f"stripe-event:{event_id}") is not None:
            return {"received": True, "duplicate": True}
        self._context.outbox.clear()
        apply(self, event["data"]["object"])
        if self._context.outbox:
            self.events.publish(list(self._context.outbox))
        self.store.claim(f"stripe-event:{event_id}", ttl_days=EVENT_TTL_DAYS, detail={"type": event_type})
        logger.info("stripe event applied", extra={"event_id": event_id, "type": event_type})
        return {"received": True}

    def invoice_paid(self, invoice: Invoice) -> None:
        if invoice.renews_subscription:
            self.renewals.subscription_cycle(invoice)
        else:
            self.checkout.invoice_paid(invoice)


_APPLY: dict[str, Callable[[Purchases, dict[str, Any]], None]] = {
    "checkout.session.completed": lambda p, o: p.checkout.completed(CheckoutSession.from_stripe(o)),
    "checkout.session.async_payment_succeeded": lambda p, o: p.checkout.payment_succeeded(
        CheckoutSession.from_stripe(o)
    ),
    "checkout.session.async_payment_failed": lambda p, o: p.checkout.payment_failed(
        CheckoutSession.from_stripe(o)
    ),
    "invoice.paid": lambda p, o: p.invoice_paid(Invoice.from_stripe(o)),
    "customer.subscription.deleted": lambda p, o: p.renewals.subscription_cancelled(
        Subscription.from_stripe(o)
    ),
    "charge.refunded": lambda p, o: p.chargebacks.charge_refunded(Charge.from_stripe(o)),
    "charge.dispute.created": lambda p, o: p.chargebacks.dispute_opened(Dispute.from_stripe(o)),
    "charge.dispute.closed": lambda p, o: p.chargebacks.dispute_closed(Dispute.from_stripe(o)),
}
