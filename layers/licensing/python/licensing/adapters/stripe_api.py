"""Stripe: webhook signature checks and the few API reads a purchase needs (line items, the
invoice link, the receipt). Secrets come from Secrets Manager in AWS, the environment locally."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

# At import: every webhook checks a signature with it, and a function importing this adapter pays
# for the SDK in Lambda's init phase rather than in its first request (the portal, which needs it
# only to start a checkout, gets this module from `wiring` when it does).
import stripe
from aws_lambda_powertools import Logger

from ..errors import InvalidInput, TransientError
from ..settings import MissingSetting
from .secrets import read_secret, split_secret

logger = Logger(service="licensing")
SIGNATURE_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class LineItem:
    price_id: str | None
    quantity: int
    unit_amount: int | None


class WebhookSecrets:
    """The webhook signing secrets: from Secrets Manager in AWS (cached, and read again when a
    signature fails, at most every few minutes, so that a replaced secret is picked up by warm
    functions), from the environment locally."""

    def __init__(self, secret_arn: str | None, plain: str | None, *, refresh_seconds: float = 300) -> None:
        self.secret_arn = secret_arn
        self.refresh_seconds = refresh_seconds
        self._values: tuple[str, ...] | None = None if secret_arn else split_secret(plain or "")
        self._read_at = 0.0

    def values(self) -> tuple[str, ...]:
        if self._values is None and self.secret_arn:
            self._load()
        return self._values or ()

    def refresh(self) -> bool:
        """Read the secret again, unless it was read recently; True when it was read."""
        if not self.secret_arn or time.monotonic() - self._read_at < self.refresh_seconds:
            return False
        self._load()
        return True

    def _load(self) -> None:
        self._values = read_secret(str(self.secret_arn))
        self._read_at = time.monotonic()

    def verify(self, payload: bytes, signature_header: str | None) -> dict[str, Any]:
        """The verified event; a failed signature reads the secret again once (it may have been
        replaced since this function started) before it is refused."""
        try:
            return verify_event(payload, signature_header, self.values())
        except InvalidInput:
            if not self.refresh():
                raise
        return verify_event(payload, signature_header, self.values())


def verify_event(payload: bytes, signature_header: str | None, secrets: tuple[str, ...]) -> dict[str, Any]:
    """The event of a correctly signed payload; InvalidInput for a bad signature or body.

    Several secrets may be configured while one is rotated: any of them may have signed.
    """
    if not signature_header:
        raise InvalidInput("Missing Stripe-Signature header.")
    if not secrets:
        raise MissingSetting("STRIPE_WEBHOOK_SECRET_ARN (or STRIPE_WEBHOOK_SECRET locally) holds no secret")
    for secret in secrets:
        try:
            event = stripe.Webhook.construct_event(
                payload, signature_header, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError:
            continue
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as error:
            # Correctly signed but not an event (not UTF-8, not JSON, `[]`, `null`, `"x"`, too deep).
            raise InvalidInput("The body is not a JSON Stripe event.") from error
        body = event.to_dict() if hasattr(event, "to_dict") else event
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("object"), dict) or not body.get("id"):
            raise InvalidInput("The body is not a Stripe event.")
        return body
    raise InvalidInput("The Stripe signature does not verify (wrong secret, tampered body or too old).")


class StripeApi:
    """The API reads of a purchase. Without an API key (the local system) every read answers
    None, so that enrichment is skipped and never an error."""

    def __init__(self, api_key: str | None, api_base: str | None = None) -> None:
        self.api_key = api_key
        self.api_base = api_base
        self._client: Any = None

    @property
    def enabled(self) -> bool:
        return bool(self.api_key)

    def _stripe(self) -> Any:
        if self._client is None:
            # Well inside the function's timeout: a slow Stripe is a retry, not a timed-out Lambda.
            options: dict[str, Any] = {
                "max_network_retries": 2,
                "http_client": stripe.new_default_http_client(timeout=5),
            }
            if self.api_base:
                options["base_addresses"] = {"api": self.api_base}
            self._client = stripe.StripeClient(str(self.api_key), **options)
        return self._client

    def _call(self, what: str, call: Any) -> Any:
        try:
            answer = call()
        except stripe.InvalidRequestError:
            logger.warning("Stripe has no such object", extra={"what": what})
            return None
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
            raise TransientError(f"Stripe API unavailable while reading {what}") from error
        return answer.to_dict() if hasattr(answer, "to_dict") else answer

    def line_items(self, session_id: str) -> list[LineItem] | None:
        if not self.enabled:
            logger.info("no Stripe API key: line items not read", extra={"session": session_id})
            return None
        session = self._call(
            "line items",
            lambda: self._stripe().v1.checkout.sessions.retrieve(
                session_id, params={"expand": ["line_items"]}
            ),
        )
        if session is None or not session.get("line_items"):
            return None
        items = []
        for item in session["line_items"]["data"]:
            price = item.get("price") or {}
            items.append(
                LineItem(
                    price_id=price.get("id"),
                    quantity=int(item.get("quantity") or 1),
                    unit_amount=price.get("unit_amount"),
                )
            )
        return items

    def invoice(self, invoice_id: str) -> dict[str, Any] | None:
        if not self.enabled:
            logger.info("no Stripe API key: invoice not read")
            return None
        return self._call("invoice", lambda: self._stripe().v1.invoices.retrieve(invoice_id))

    def invoice_url(self, invoice_id: str) -> str | None:
        invoice = self.invoice(invoice_id)
        return invoice.get("hosted_invoice_url") if invoice else None

    def renewal_checkout(
        self,
        *,
        license_id: str,
        product: str,
        email: str,
        price_id: str | None,
        amount: int | None,
        currency: str | None,
        name: str,
        return_url: str,
    ) -> str:
        """A Stripe Checkout page for renewing a license; its `metadata.license_id` makes the paid
        checkout's webhook extend that license."""
        if price_id:
            item: dict[str, Any] = {"price": price_id, "quantity": 1}
        else:
            item = {
                "price_data": {"currency": currency, "unit_amount": amount, "product_data": {"name": name}},
                "quantity": 1,
            }
        params = {
            "mode": "payment",
            "line_items": [item],
            "customer_email": email,
            "metadata": {"license_id": license_id, "product": product},
            "invoice_creation": {"enabled": True},
            "success_url": f"{return_url}?renewed=1",
            "cancel_url": return_url,
        }
        session = self._call("checkout", lambda: self._stripe().v1.checkout.sessions.create(params=params))
        if not session or not session.get("url"):
            raise TransientError("Stripe Checkout is unavailable; try again")
        return str(session["url"])

    def receipt_url(self, payment_intent_id: str) -> str | None:
        if not self.enabled:
            logger.info("no Stripe API key: receipt link not read")
            return None
        intent = self._call(
            "payment intent",
            lambda: self._stripe().v1.payment_intents.retrieve(
                payment_intent_id, params={"expand": ["latest_charge"]}
            ),
        )
        charge = intent.get("latest_charge") if intent else None
        return charge.get("receipt_url") if isinstance(charge, dict) else None
