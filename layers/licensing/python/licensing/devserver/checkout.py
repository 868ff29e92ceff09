"""Signed Stripe events for the local system: what `licensing dev purchase` sends, in the shape of
Stripe's own `checkout.session.completed`."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any


def _stripe_id(prefix: str, length: int = 24) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return f"{prefix}_" + "".join(secrets.choice(alphabet) for _ in range(length))


def checkout_completed_event(
    *,
    email: str,
    product: str,
    quantity: int = 1,
    unpaid: bool = False,
    amount: int = 4900,
    currency: str = "eur",
    name: str = "",
    company: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A `checkout.session.completed` event naming its product in metadata, as the local system
    (which has no Stripe API to read line items from) needs it."""
    session_id = _stripe_id("cs_test", 58)
    now = int(time.time())
    session = {
        "id": session_id,
        "object": "checkout.session",
        "amount_subtotal": amount * quantity,
        "amount_total": amount * quantity,
        "currency": currency,
        "customer": _stripe_id("cus", 14),
        "customer_details": {
            "email": email,
            "name": name or email.split("@")[0].title(),
            "business_name": company,
            "address": {
                "country": "DE",
                "city": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
        "customer_email": email,
        "created": now,
        "expires_at": now + 86400,
        "invoice": None,
        "livemode": False,
        "metadata": {"product": product, "quantity": str(quantity), **(metadata or {})},
        "mode": "payment",
        "payment_intent": _stripe_id("pi"),
        "payment_method_types": ["sepa_debit"] if unpaid else ["card"],
        "payment_status": "unpaid" if unpaid else "paid",
        "status": "complete",
        "subscription": None,
        "success_url": "http://127.0.0.1:8000/portal/",
        "url": None,
    }
    return {
        "id": _stripe_id("evt"),
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": now,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "checkout.session.completed",
        "data": {"object": session},
    }


def signed_body(event: dict[str, Any], secret: str) -> tuple[bytes, str]:
    """The body and the `Stripe-Signature` header Stripe would send, made with the SDK's helper."""
    import stripe

    payload = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, int(time.time()))
    return payload.encode(), header
