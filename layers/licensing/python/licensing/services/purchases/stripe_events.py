"""The Stripe objects this system reads, translated once from Stripe's raw dicts.

Each class names only the fields a purchase use case needs, in the seller's terms, and knows the
shapes Stripe sends them in: an id or the expanded object, fields that moved between API versions
(an invoice's subscription and payments), metadata set by the renewal checkout or the local
`licensing dev purchase`. Nothing else in the purchases package reads a Stripe dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any


def stripe_ref(value: Any) -> str | None:
    """A Stripe reference as an id, whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    paid_on_completion: bool  # `payment_status` paid or no_payment_required
    product: str | None  # metadata.product
    renews_license_id: str | None  # metadata.license_id: a renewal checkout of that license
    trial_requested: bool  # metadata.license_type == "trial"
    metadata_quantity: int  # metadata.quantity, for when the line items cannot be read
    email: str  # the buyer's email (customer_details, else customer_email), lower case
    details_email: str  # customer_details.email only, lower case (the failed-payment lookup)
    buyer_name: str
    company: str | None
    address: dict[str, str | None]
    tax_ids: list[str]
    customer: str | None
    payment_intent: str | None
    subscription: str | None
    invoice: str | None
    amount_total: int | None
    currency: str | None
    payment_method_type: str | None

    @classmethod
    def from_stripe(cls, session: dict[str, Any]) -> CheckoutSession:
        metadata = session.get("metadata") or {}
        details = session.get("customer_details") or {}
        company = details.get("business_name") or (session.get("collected_information") or {}).get(
            "business_name"
        )
        method_types = session.get("payment_method_types") or []
        product = metadata.get("product")
        return cls(
            id=str(session["id"]),
            paid_on_completion=session.get("payment_status") in ("paid", "no_payment_required"),
            product=None if product is None else str(product),
            renews_license_id=str(metadata["license_id"]) if metadata.get("license_id") else None,
            trial_requested=metadata.get("license_type") == "trial",
            metadata_quantity=_metadata_quantity(metadata),
            email=str(details.get("email") or session.get("customer_email") or "").strip().lower(),
            details_email=str(details.get("email") or "").lower(),
            buyer_name=str(details.get("name") or ""),
            company=str(company) if company else None,
            address={k: v for k, v in (details.get("address") or {}).items() if isinstance(v, str | None)},
            tax_ids=[str(tax.get("value")) for tax in details.get("tax_ids") or [] if tax.get("value")],
            customer=stripe_ref(session.get("customer")),
            payment_intent=stripe_ref(session.get("payment_intent")),
            subscription=stripe_ref(session.get("subscription")),
            invoice=stripe_ref(session.get("invoice")),
            amount_total=session.get("amount_total"),
            currency=session.get("currency"),
            payment_method_type=str(method_types[0]) if method_types else None,
        )

    @property
    def refs(self) -> list[str]:
        """The Stripe ids its licenses are found by: the session, payment, subscription, invoice."""
        return [
            ref for ref in (self.id, self.payment_intent, self.subscription, self.invoice) if ref is not None
        ]


@dataclass(frozen=True)
class Invoice:
    id: str
    hosted_invoice_url: str | None
    subscription: str | None
    billing_reason: str | None
    payments: list[str]  # the payment intents (or charges) that paid it
    period_end: date | None  # the end of the period its subscription lines pay for
    amount_paid: int | None
    currency: str | None

    @classmethod
    def from_stripe(cls, invoice: dict[str, Any]) -> Invoice:
        return cls(
            id=str(invoice["id"]),
            hosted_invoice_url=invoice.get("hosted_invoice_url"),
            subscription=_subscription_of(invoice),
            billing_reason=invoice.get("billing_reason"),
            payments=_invoice_payments(invoice),
            period_end=_period_end(invoice),
            amount_paid=invoice.get("amount_paid"),
            currency=invoice.get("currency"),
        )

    @property
    def renews_subscription(self) -> bool:
        """A subscription's renewal (not its first invoice, which its checkout already paid for)."""
        return self.subscription is not None and self.billing_reason == "subscription_cycle"


@dataclass(frozen=True)
class Charge:
    id: str
    payment: str  # the payment intent, or the charge itself without one
    amount_refunded: int  # cumulative over the charge's refunds
    fully_refunded: bool

    @classmethod
    def from_stripe(cls, charge: dict[str, Any]) -> Charge:
        refunded = int(charge.get("amount_refunded") or 0)
        return cls(
            id=str(charge["id"]),
            payment=stripe_ref(charge.get("payment_intent")) or str(charge["id"]),
            amount_refunded=refunded,
            fully_refunded=bool(charge.get("refunded")) or refunded >= int(charge.get("amount") or 0),
        )


@dataclass(frozen=True)
class Dispute:
    id: str
    status: str
    payment: str  # the payment intent, else the charge, else the dispute itself

    @classmethod
    def from_stripe(cls, dispute: dict[str, Any]) -> Dispute:
        dispute_id = str(dispute["id"])
        payment = stripe_ref(dispute.get("payment_intent")) or stripe_ref(dispute.get("charge"))
        return cls(id=dispute_id, status=str(dispute.get("status")), payment=payment or dispute_id)


@dataclass(frozen=True)
class Subscription:
    id: str

    @classmethod
    def from_stripe(cls, subscription: dict[str, Any]) -> Subscription:
        return cls(id=str(subscription["id"]))


def _metadata_quantity(metadata: dict[str, Any]) -> int:
    """The quantity when the line items cannot be read: `metadata.quantity` (which the local
    `licensing dev purchase` sets, having no Stripe API), else 1."""
    try:
        return max(1, int(metadata.get("quantity") or 1))
    except ValueError:
        return 1


def _invoice_payments(invoice: dict[str, Any]) -> list[str]:
    """`invoice.payment_intent` and `invoice.charge` before 2025 API versions, `invoice.payments`
    since."""
    found = [stripe_ref(invoice.get("payment_intent")), stripe_ref(invoice.get("charge"))]
    for entry in (invoice.get("payments") or {}).get("data", []):
        payment = entry.get("payment") or {}
        found += [stripe_ref(payment.get("payment_intent")), stripe_ref(payment.get("charge"))]
    return list(dict.fromkeys(ref for ref in found if ref))


def _subscription_of(invoice: dict[str, Any]) -> str | None:
    """`invoice.subscription` before 2025 API versions, `invoice.parent.subscription_details
    .subscription` since."""
    legacy = stripe_ref(invoice.get("subscription"))
    if legacy:
        return legacy
    parent = invoice.get("parent") or {}
    return stripe_ref((parent.get("subscription_details") or {}).get("subscription"))


def _period_end(invoice: dict[str, Any]) -> date | None:
    """Not the invoice's own `period_end`: on a renewal invoice that is the end of the period
    before."""
    ends = [
        int(line["period"]["end"])
        for line in (invoice.get("lines") or {}).get("data", [])
        if (line.get("period") or {}).get("end")
    ]
    return datetime.fromtimestamp(max(ends), UTC).date() if ends else None
