"""Stripe test support: realistic payloads, webhook signatures, and a local fake of the Stripe API.

Every payload starts from Stripe's own example objects (`tests/fixtures/stripe/fixtures3.json`,
from stripe/openapi), deep-copied, with ids, amounts, metadata and status fields replaced, so the
code under test meets every field Stripe really sends. Signatures come from the SDK's own helper.
`FakeStripe` answers the few GET endpoints the webhook uses, in Stripe's shapes, on 127.0.0.1.
"""

from __future__ import annotations

import copy
import enum
import functools
import json
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from secrets import choice, token_hex
from string import ascii_letters, digits
from types import TracebackType
from typing import Any, Final, Literal
from wsgiref.types import StartResponse, WSGIEnvironment

import stripe
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

FIXTURES3: Final = Path(__file__).resolve().parent / "fixtures" / "stripe" / "fixtures3.json"
VENDOR_ACCOUNT: Final = "acct_1FakeVendor0000"
DAY: Final = 86_400
YEAR: Final = 365 * DAY


class _Auto(enum.Enum):
    AUTO = "auto"


AUTO: Final = _Auto.AUTO
"""Default meaning "what Stripe itself would put here for the other arguments": a fresh id or null."""

_ALPHANUMERIC = ascii_letters + digits


def stripe_id(prefix: str, length: int = 24) -> str:
    """A fresh id in Stripe's form: `stripe_id("pi")` -> `pi_3QxF...` (24 random characters)."""
    return f"{prefix}_{''.join(choice(_ALPHANUMERIC) for _ in range(length))}"


def _pick(value: str | _Auto | None, make: str | None) -> str | None:
    return make if value is AUTO else value


@functools.cache
def _resources() -> dict[str, Any]:
    resources: dict[str, Any] = json.loads(FIXTURES3.read_text(encoding="utf-8"))["resources"]
    return resources


def apply_overrides(obj: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Set each dotted path of `overrides` in `obj` (in place) and return `obj`.

    `"customer_details.email"` sets a nested field, `"lines.data.0.period.end"` indexes a list. A
    null on the way becomes a new dict; a missing intermediate field is a `KeyError` (a typo).
    """
    for path, value in overrides.items():
        *parents, leaf = path.split(".")
        node: Any = obj
        for index, name in enumerate(parents):
            if isinstance(node, list):
                node = node[int(name)]
                continue
            if name not in node:
                raise KeyError(f"{path}: no field {'.'.join(parents[: index + 1])!r}")
            if node[name] is None:
                node[name] = {}
            node = node[name]
        if isinstance(node, list):
            node[int(leaf)] = value
        else:
            node[leaf] = value
    return obj


def _dotted(overrides: Mapping[str, Any]) -> dict[str, Any]:
    return {name.replace("__", "."): value for name, value in overrides.items()}


def stripe_object(kind: str, /, **overrides: Any) -> dict[str, Any]:
    """A deep copy of Stripe's example `kind` object ("checkout.session", "invoice", "charge", ...).

    Keyword overrides replace fields; a double underscore reaches into nested objects:
    `stripe_object("checkout.session", customer_details__email="a@b.test")`.
    """
    try:
        base = _resources()[kind]
    except KeyError:
        raise KeyError(f"fixtures3.json has no resource {kind!r}") from None
    return apply_overrides(copy.deepcopy(base), _dotted(overrides))


def checkout_session(
    *,
    session_id: str | None = None,
    email: str | None = "bea@acme.test",
    name: str | None = "Bea Buyer",
    business_name: str | None = None,
    customer: str | _Auto | None = AUTO,
    payment_status: str = "paid",
    status: str = "complete",
    mode: str = "payment",
    amount_total: int = 4900,
    currency: str = "eur",
    metadata: Mapping[str, str] | None = None,
    payment_intent: str | _Auto | None = AUTO,
    invoice: str | _Auto | None = AUTO,
    subscription: str | _Auto | None = AUTO,
    payment_method_types: Sequence[str] = ("card",),
    **overrides: Any,
) -> dict[str, Any]:
    """A Checkout Session as `checkout.session.*` events carry it: never with `line_items`.

    AUTO picks what Stripe sends: a fresh customer; in payment mode a payment intent unless no
    payment was required, and no invoice (pass `invoice=` when invoice creation is on); in
    subscription mode a subscription and its first invoice, and no payment intent.
    Keyword overrides as in `stripe_object`.
    """
    session_id = session_id or stripe_id("cs_test", 58)
    subscriptions = mode == "subscription"
    charges_now = mode == "payment" and payment_status != "no_payment_required"
    customer_id = _pick(customer, stripe_id("cus", 14))
    invoice_id = _pick(invoice, stripe_id("in") if subscriptions else None)
    now = int(time.time())
    session = stripe_object("checkout.session")
    invoice_creation = session["invoice_creation"]
    invoice_creation["enabled"] = invoice_id is not None
    invoice_creation["invoice_data"]["metadata"] = {}
    session.update(
        {
            "id": session_id,
            "created": now - 180,
            "expires_at": now - 180 + DAY,
            "url": f"https://checkout.stripe.com/c/pay/{session_id}" if status == "open" else None,
            "after_expiration": None,
            "consent": None,
            "consent_collection": None,
            "custom_text": dict.fromkeys(session["custom_text"]),
            "customer": customer_id,
            "customer_creation": None if subscriptions else ("always" if customer_id else "if_required"),
            "customer_details": {
                "address": {
                    "city": "Berlin",
                    "country": "DE",
                    "line1": "Alexanderstraße 1",
                    "line2": None,
                    "postal_code": "10178",
                    "state": None,
                },
                "email": email,
                "name": name,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
                "business_name": business_name,
                "individual_name": None,
            },
            "collected_information": {
                "business_name": business_name,
                "individual_name": None,
                "shipping_details": None,
            },
            "payment_status": payment_status,
            "status": status,
            "mode": mode,
            "amount_subtotal": amount_total,
            "amount_total": amount_total,
            "currency": currency,
            "currency_conversion": None,
            "metadata": dict(metadata or {}),
            "payment_intent": _pick(payment_intent, stripe_id("pi") if charges_now else None),
            "invoice": invoice_id,
            "invoice_creation": None if subscriptions else invoice_creation,
            "subscription": _pick(subscription, stripe_id("sub") if subscriptions else None),
            "payment_method_types": list(payment_method_types),
            "payment_method_collection": "always" if subscriptions else None,
            "shipping_address_collection": None,
            "shipping_cost": None,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted",
            "managed_payments": {"enabled": False},
        }
    )
    return apply_overrides(session, _dotted(overrides))


def checkout_line_item(
    price: str,
    *,
    quantity: int = 1,
    unit_amount: int = 4900,
    currency: str = "eur",
    description: str = "CRM Exporter",
    product: str | None = None,
    interval: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A Checkout Session line item (Stripe's `item`) with its full `price` object.

    `interval` ("month", "year") makes the price recurring; otherwise it is one-time.
    """
    item = stripe_object("item")
    price_object = stripe_object("price")
    price_object.update(
        {
            "id": price,
            "product": product or stripe_id("prod", 14),
            "currency": currency,
            "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount),
            "type": "recurring" if interval else "one_time",
            "recurring": (
                {
                    "interval": interval,
                    "interval_count": 1,
                    "meter": None,
                    "usage_type": "licensed",
                    "trial_period_days": None,
                }
                if interval
                else None
            ),
            "transform_quantity": None,
        }
    )
    total = unit_amount * quantity
    item.update(
        {
            "id": stripe_id("li"),
            "description": description,
            "currency": currency,
            "quantity": quantity,
            "amount_subtotal": total,
            "amount_total": total,
            "amount_discount": 0,
            "amount_tax": 0,
            "price": price_object,
            "adjustable_quantity": None,
        }
    )
    return apply_overrides(item, _dotted(overrides))


def invoice(
    *,
    invoice_id: str | None = None,
    subscription: str | None = None,
    billing_reason: str = "subscription_cycle",
    period_end: int | None = None,
    period_start: int | None = None,
    hosted_invoice_url: str | _Auto | None = AUTO,
    customer: str | None = None,
    amount_paid: int = 4900,
    currency: str = "eur",
    price: str = "price_crm_exporter",
    put_subscription_in: Literal["both", "legacy", "parent"] = "both",
    **overrides: Any,
) -> dict[str, Any]:
    """A paid invoice whose `lines.data[0]` pays for `period_start`..`period_end` (default: a year
    ending a year from now).

    `put_subscription_in` says where the subscription id goes: `legacy` (`invoice.subscription`,
    as before API version 2025-03-31.basil), `parent` (`invoice.parent.subscription_details.
    subscription` only; the `subscription` field is absent, as in basil payloads) or `both`. The
    line mirrors it (`line.subscription` / `line.parent.subscription_item_details`). As with
    Stripe, a `subscription_cycle` invoice's own `period_start`/`period_end` cover the previous
    period: only the line tells which period was paid for.
    """
    invoice_id = invoice_id or stripe_id("in")
    now = int(time.time())
    period_end = period_end if period_end is not None else now + YEAR
    period_start = period_start if period_start is not None else period_end - YEAR
    legacy = put_subscription_in in ("legacy", "both")
    in_parent = put_subscription_in in ("parent", "both")
    token = token_hex(16)
    hosted_url = _pick(hosted_invoice_url, f"https://invoice.stripe.com/i/{VENDOR_ACCOUNT}/test_{token}?s=ap")
    line = stripe_object("line_item")
    line.update(
        {
            "id": stripe_id("il"),
            "invoice": invoice_id,
            "amount": amount_paid,
            "subtotal": amount_paid,
            "currency": currency,
            "description": f"1 × CRM Exporter (at {amount_paid / 100:.2f} {currency.upper()} / year)",
            "discount_amounts": [],
            "discounts": [],
            "period": {"start": period_start, "end": period_end},
            "quantity": 1,
            "subscription": subscription if legacy else None,
            "pretax_credit_amounts": [],
            "taxes": [],
            "pricing": {
                "type": "price_details",
                "price_details": {"price": price, "product": stripe_id("prod", 14)},
                "unit_amount_decimal": str(amount_paid),
            },
            "parent": _line_parent(subscription) if in_parent or subscription is None else None,
        }
    )
    cycle = billing_reason == "subscription_cycle"
    inv = stripe_object("invoice")
    inv.update(
        {
            "id": invoice_id,
            "billing_reason": billing_reason,
            "customer": customer or stripe_id("cus", 14),
            "customer_email": "bea@acme.test",
            "customer_name": "Bea Buyer",
            "currency": currency,
            "amount_due": amount_paid,
            "amount_paid": amount_paid,
            "amount_remaining": 0,
            "amount_overpaid": 0,
            "subtotal": amount_paid,
            "subtotal_excluding_tax": amount_paid,
            "total": amount_paid,
            "total_excluding_tax": amount_paid,
            "attempted": True,
            "attempt_count": 1,
            "created": now,
            "effective_at": now,
            "due_date": None,
            "next_payment_attempt": None,
            "webhooks_delivered_at": now,
            "from_invoice": None,
            "last_finalization_error": None,
            "shipping_cost": None,
            "hosted_invoice_url": hosted_url,
            "invoice_pdf": f"https://pay.stripe.com/invoice/{VENDOR_ACCOUNT}/test_{token}/pdf?s=ap"
            if hosted_url
            else None,
            "number": f"{token[:8].upper()}-0001",
            "status": "paid",
            "status_transitions": {
                "finalized_at": now,
                "marked_uncollectible_at": None,
                "paid_at": now,
                "voided_at": None,
            },
            "period_start": period_start - (period_end - period_start) if cycle else now,
            "period_end": period_start if cycle else now,
            "lines": {
                "object": "list",
                "data": [line],
                "has_more": False,
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "subscription": subscription if legacy else None,
            "parent": _invoice_parent(subscription) if in_parent and subscription else None,
        }
    )
    if not legacy:
        del inv["subscription"]
    return apply_overrides(inv, _dotted(overrides))


def _invoice_parent(subscription: str) -> dict[str, Any]:
    return {
        "type": "subscription_details",
        "quote_details": None,
        "subscription_details": {"metadata": {}, "subscription": subscription},
    }


def _line_parent(subscription: str | None) -> dict[str, Any]:
    if subscription is None:
        return {
            "type": "invoice_item_details",
            "invoice_item_details": {
                "invoice_item": stripe_id("ii"),
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": None,
            },
            "subscription_item_details": None,
        }
    return {
        "type": "subscription_item_details",
        "invoice_item_details": None,
        "subscription_item_details": {
            "invoice_item": None,
            "proration": False,
            "proration_details": {"credited_items": None},
            "subscription": subscription,
            "subscription_item": stripe_id("si", 14),
        },
    }


def payment_intent(
    *,
    payment_intent_id: str | None = None,
    amount: int = 4900,
    currency: str = "eur",
    status: str = "succeeded",
    customer: str | None = None,
    latest_charge: str | None = None,
    payment_method_types: Sequence[str] = ("card",),
    **overrides: Any,
) -> dict[str, Any]:
    """A PaymentIntent; `latest_charge` is the charge id (`FakeStripe` expands it on request)."""
    payment_intent_id = payment_intent_id or stripe_id("pi")
    intent = stripe_object("payment_intent")
    intent.update(
        {
            "id": payment_intent_id,
            "amount": amount,
            "amount_received": amount if status == "succeeded" else 0,
            "currency": currency,
            "status": status,
            "customer": customer,
            "latest_charge": latest_charge,
            "client_secret": f"{payment_intent_id}_secret_{token_hex(12)}",
            "created": int(time.time()),
            "canceled_at": None,
            "last_payment_error": None,
            "next_action": None,
            "processing": None,
            "transfer_data": None,
            "payment_method": stripe_id("pm"),
            "payment_method_types": list(payment_method_types),
            "managed_payments": {"enabled": False},
        }
    )
    return apply_overrides(intent, _dotted(overrides))


def charge(
    *,
    charge_id: str | None = None,
    payment_intent: str | _Auto | None = AUTO,
    amount: int = 4900,
    amount_refunded: int = 0,
    refunded: bool | None = None,
    receipt_url: str | _Auto | None = AUTO,
    currency: str = "eur",
    customer: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A succeeded card charge. `refunded` defaults to "fully refunded" (`amount_refunded` is
    cumulative, as in `charge.refunded` events); AUTO gives a fresh payment intent and receipt URL."""
    charge_id = charge_id or stripe_id("ch")
    ch = stripe_object("charge")
    ch.update(
        {
            "id": charge_id,
            "payment_intent": _pick(payment_intent, stripe_id("pi")),
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": amount_refunded,
            "refunded": amount_refunded >= amount if refunded is None else refunded,
            "captured": True,
            "currency": currency,
            "customer": customer,
            "created": int(time.time()),
            "description": None,
            "balance_transaction": stripe_id("txn"),
            "payment_method": stripe_id("pm"),
            "receipt_url": _pick(
                receipt_url, f"https://pay.stripe.com/receipts/payment/{token_hex(32)}?s=ap"
            ),
            "refunds": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"/v1/charges/{charge_id}/refunds",
            },
            "outcome": {
                "advice_code": None,
                "network_advice_code": None,
                "network_decline_code": None,
                "network_status": "approved_by_network",
                "reason": None,
                "risk_level": "normal",
                "seller_message": "Payment complete.",
                "type": "authorized",
            },
            "source": None,
            "transfer_data": None,
        }
    )
    return apply_overrides(ch, _dotted(overrides))


def dispute(
    *,
    dispute_id: str | None = None,
    charge: str | _Auto = AUTO,
    payment_intent: str | _Auto | None = AUTO,
    status: str = "needs_response",
    amount: int = 4900,
    currency: str = "eur",
    reason: str = "fraudulent",
    **overrides: Any,
) -> dict[str, Any]:
    """A card chargeback; `status` is `needs_response`, `under_review`, `won` or `lost`."""
    dp = stripe_object("dispute")
    dp.update(
        {
            "id": dispute_id or stripe_id("dp"),
            "charge": stripe_id("ch") if charge is AUTO else charge,
            "payment_intent": _pick(payment_intent, stripe_id("pi")),
            "status": status,
            "amount": amount,
            "currency": currency,
            "reason": reason,
            "created": int(time.time()),
            "is_charge_refundable": False,
        }
    )
    dp["evidence_details"]["due_by"] = int(time.time()) + 7 * DAY
    dp["payment_method_details"]["card"]["case_type"] = "chargeback"
    return apply_overrides(dp, _dotted(overrides))


def event(
    type: str,
    obj: Mapping[str, Any],
    *,
    event_id: str | None = None,
    created: int | None = None,
    api_version: str = "2025-03-31.basil",
    previous_attributes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A webhook event (a snapshot event) carrying a deep copy of `obj` in `data.object`."""
    data: dict[str, Any] = {"object": copy.deepcopy(dict(obj))}
    if previous_attributes is not None:
        data["previous_attributes"] = copy.deepcopy(dict(previous_attributes))
    return {
        "id": event_id or stripe_id("evt"),
        "object": "event",
        "api_version": api_version,
        "created": int(time.time()) if created is None else created,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
        "data": data,
    }


def _payload_text(payload: Mapping[str, Any] | str | bytes) -> str:
    if isinstance(payload, bytes):
        return payload.decode("utf-8")
    if isinstance(payload, str):
        return payload
    # Stripe sends pretty-printed UTF-8 JSON; non-ASCII stays unescaped so bodies meet real bytes.
    return json.dumps(payload, indent=2, ensure_ascii=False)


def signed(
    payload: Mapping[str, Any] | str | bytes, secret: str, *, timestamp: int | None = None
) -> tuple[bytes, str]:
    """The exact body bytes and the `Stripe-Signature` header, made by the SDK's own helper.

    A dict is serialised as Stripe does (indented JSON, UTF-8); a str or bytes is sent as is.
    `timestamp` (Unix seconds) defaults to now; older than 300 s is outside the SDK's tolerance.
    """
    text = _payload_text(payload)
    header: str = stripe.WebhookSignature.generate_signature_header(text, secret, timestamp)
    return text.encode("utf-8"), header


def signed_multi(
    payload: Mapping[str, Any] | str | bytes, secrets: Sequence[str], *, timestamp: int | None = None
) -> tuple[bytes, str]:
    """Like `signed`, with one `v1` signature per secret in one header, as Stripe sends while a
    webhook secret is being rolled: `t=...,v1=<with secrets[0]>,v1=<with secrets[1]>`."""
    text = _payload_text(payload)
    when = int(time.time()) if timestamp is None else timestamp
    parts = [f"t={when}"]
    for secret in secrets:
        header: str = stripe.WebhookSignature.generate_signature_header(text, secret, when)
        parts.extend(part for part in header.split(",") if part.startswith("v1="))
    return text.encode("utf-8"), ",".join(parts)


@dataclass(frozen=True)
class RecordedRequest:
    """One request `FakeStripe` received; `query` maps each parameter to all its values."""

    method: str
    path: str
    query: dict[str, list[str]]

    @property
    def expand(self) -> list[str]:
        """The `expand` values, however spelled: `expand[0]=` (the SDK), `expand[]=`, `expand=`."""
        indexed = sorted(
            (int(match.group(1) or -1), values)
            for name, values in self.query.items()
            if (match := re.fullmatch(r"expand(?:\[(\d*)\])?", name))
        )
        return [value for _, values in indexed for value in values]


class StripeAPIError(Exception):
    """An answer in Stripe's error shape: `{"error": {...}}` with an HTTP status."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.status = status
        self.error = error


_API_PATHS: Final = {
    "checkout.session": "/v1/checkout/sessions",
    "invoice": "/v1/invoices",
    "payment_intent": "/v1/payment_intents",
    "charge": "/v1/charges",
    "customer": "/v1/customers",
    "subscription": "/v1/subscriptions",
    "price": "/v1/prices",
    "refund": "/v1/refunds",
    "dispute": "/v1/disputes",
}
_DEFAULT_PAGE: Final = 10


def _missing(kind: str, object_id: str, param: str = "id") -> StripeAPIError:
    return StripeAPIError(
        404,
        {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
            "message": f"No such {kind}: '{object_id}'",
            "param": param,
        },
    )


def _invalid(message: str, param: str | None = None) -> StripeAPIError:
    return StripeAPIError(400, {"type": "invalid_request_error", "message": message, "param": param})


def _transient(status: int) -> StripeAPIError:
    if status == 429:
        return StripeAPIError(
            429,
            {
                "type": "invalid_request_error",
                "code": "rate_limit",
                "message": "Request rate limit exceeded. Try again later.",
            },
        )
    return StripeAPIError(
        status,
        {"type": "api_error", "message": "Sorry, something went wrong. We've already been notified."},
    )


class _QuietHandler(WSGIRequestHandler):
    """Keeps the per-request access log out of test output (errors are still logged)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing for a served request."""


class FakeStripe:
    """A local fake of the Stripe API for tests: `with FakeStripe() as fake: fake.base_url`.

    Register objects (`add_session`, `add_invoice`, `add_payment_intent`, `add_charge`, `add`),
    point the SDK at `base_url` (`fake.client()` does), then assert on `fake.requests`. It serves
    `GET /v1/<resource>/{id}` for the resources of `_API_PATHS` with `expand` of id fields and of a
    session's `line_items`, and `GET /v1/checkout/sessions/{id}/line_items` (`limit`,
    `starting_after`). It wants `Authorization: Bearer sk_test_...` (exactly `api_key` when given)
    and answers errors in Stripe's shape, so the SDK raises its own exceptions.
    """

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        self._objects: dict[str, dict[str, Any]] = {}
        self._line_items: dict[str, list[dict[str, Any]]] = {}
        self._requests: list[RecordedRequest] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()
        rules = [Rule("/v1/checkout/sessions/<object_id>/line_items", endpoint="line_items", methods=["GET"])]
        rules += [
            Rule(f"{path}/<object_id>", endpoint=kind, methods=["GET"]) for kind, path in _API_PATHS.items()
        ]
        self._urls = Map(rules)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> FakeStripe:
        """Serve on 127.0.0.1 at a free port, in a daemon thread."""
        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(
            target=functools.partial(self._server.serve_forever, poll_interval=0.05),
            name="fake-stripe",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, for the SDK's `base_addresses={"api": ...}`."""
        if self._server is None:
            raise RuntimeError("FakeStripe is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    def client(self, api_key: str | None = None) -> stripe.StripeClient:
        """A real `StripeClient` pointed at this fake, without network retries."""
        return stripe.StripeClient(
            api_key or self.api_key or "sk_test_fake",
            base_addresses={"api": self.base_url},
            max_network_retries=0,
        )

    def add(self, *objects: Mapping[str, Any]) -> None:
        """Serve these objects (a deep copy of each, so re-add to change one), found by their `id`."""
        with self._lock:
            for obj in objects:
                if obj.get("object") not in _API_PATHS:
                    raise ValueError(f"FakeStripe serves no {obj.get('object')!r} objects")
                self._objects[obj["id"]] = copy.deepcopy(dict(obj))
                if obj["object"] == "checkout.session":
                    self._line_items.setdefault(obj["id"], [])

    def add_session(self, session: Mapping[str, Any], line_items: Sequence[Mapping[str, Any]] = ()) -> None:
        """Serve a Checkout Session and its line items.

        Each line item is either an `item` object (from `checkout_line_item`) or the keyword
        arguments of `checkout_line_item`, e.g. `{"price": "price_crm_exporter", "quantity": 2,
        "unit_amount": 4900}`; the currency defaults to the session's.
        """
        self._expect(session, "checkout.session")
        defaults: dict[str, Any] = {"currency": session.get("currency") or "eur"}
        items = [
            copy.deepcopy(dict(spec))
            if spec.get("object") == "item"
            else checkout_line_item(**(defaults | dict(spec)))
            for spec in line_items
        ]
        self.add(session)
        with self._lock:
            self._line_items[session["id"]] = items

    def add_invoice(self, invoice: Mapping[str, Any]) -> None:
        """Serve an invoice at `GET /v1/invoices/{id}`."""
        self.add(self._expect(invoice, "invoice"))

    def add_payment_intent(self, payment_intent: Mapping[str, Any]) -> None:
        """Serve a PaymentIntent at `GET /v1/payment_intents/{id}` (`expand[]=latest_charge` works
        when the charge is added too)."""
        self.add(self._expect(payment_intent, "payment_intent"))

    def add_charge(self, charge: Mapping[str, Any]) -> None:
        """Serve a charge at `GET /v1/charges/{id}`."""
        self.add(self._expect(charge, "charge"))

    @staticmethod
    def _expect(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
        if obj.get("object") != kind:
            raise ValueError(f"expected a {kind}, got {obj.get('object')!r}")
        return obj

    def fail_next(self, n: int, status: int = 500) -> None:
        """Answer the next `n` requests with `status` (500: `api_error`; 429: `rate_limit`)."""
        with self._lock:
            self._failures.extend([status] * n)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order (failed and refused ones included)."""
        with self._lock:
            return list(self._requests)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """The WSGI application."""
        request = Request(environ)
        with self._lock:
            record = RecordedRequest(request.method, request.path, request.args.to_dict(flat=False))
            self._requests.append(record)
            failure = self._failures.pop(0) if self._failures else None
            try:
                if failure is not None:
                    raise _transient(failure)
                self._authenticate(request.headers.get("Authorization"))
                status, body = 200, self._answer(request, record)
            except StripeAPIError as error:
                status, body = error.status, {"error": error.error}
        response = Response(
            json.dumps(body, indent=2),
            status=status,
            mimetype="application/json",
            headers={"Request-Id": stripe_id("req", 14)},
        )
        return response(environ, start_response)

    def _authenticate(self, authorization: str | None) -> None:
        if not authorization:
            raise StripeAPIError(
                401,
                {
                    "type": "invalid_request_error",
                    "message": "You did not provide an API key. You need to provide your API key "
                    "in the Authorization header, using Bearer auth.",
                },
            )
        scheme, _, key = authorization.partition(" ")
        valid = key == self.api_key if self.api_key else key.startswith(("sk_test_", "rk_test_"))
        if scheme != "Bearer" or not valid:
            raise StripeAPIError(
                401,
                {"type": "invalid_request_error", "message": f"Invalid API Key provided: {key[:8]}***"},
            )

    def _answer(self, request: Request, record: RecordedRequest) -> dict[str, Any]:
        try:
            kind, arguments = self._urls.bind_to_environ(request.environ).match()
        except HTTPException:
            message = f"Unrecognized request URL ({request.method}: {request.path})."
            raise StripeAPIError(404, {"type": "invalid_request_error", "message": message}) from None
        object_id = arguments["object_id"]
        if kind == "line_items":
            limit = request.args.get("limit", str(_DEFAULT_PAGE))
            if not limit.isdigit() or not 1 <= int(limit) <= 100:
                raise _invalid("Invalid integer: limit must be between 1 and 100.", "limit")
            return self._line_items_page(object_id, int(limit), request.args.get("starting_after"))
        stored = self._objects.get(object_id)
        if stored is None or stored["object"] != kind:
            raise _missing(kind, object_id)
        obj = copy.deepcopy(stored)
        for path in record.expand:
            self._expand(obj, path.split("."), path)
        return obj

    def _line_items_page(self, session_id: str, limit: int, starting_after: str | None) -> dict[str, Any]:
        if session_id not in self._line_items:
            raise _missing("checkout.session", session_id)
        items = self._line_items[session_id]
        start = 0
        if starting_after is not None:
            ids = [item["id"] for item in items]
            if starting_after not in ids:
                raise _missing("line_item", starting_after, "starting_after")
            start = ids.index(starting_after) + 1
        return {
            "object": "list",
            "data": copy.deepcopy(items[start : start + limit]),
            "has_more": start + limit < len(items),
            "url": f"/v1/checkout/sessions/{session_id}/line_items",
        }

    def _expand(self, obj: dict[str, Any], fields: list[str], path: str) -> None:
        name, rest = fields[0], fields[1:]
        if obj.get("object") == "checkout.session" and name == "line_items":
            obj["line_items"] = self._line_items_page(obj["id"], _DEFAULT_PAGE, None)
        elif name not in obj:
            raise _invalid(f"This property cannot be expanded ({path}).", "expand")
        elif isinstance(obj[name], str):
            if obj[name] not in self._objects:
                raise _invalid(f"FakeStripe has no object {obj[name]!r} to expand at {path!r}: add it.")
            obj[name] = copy.deepcopy(self._objects[obj[name]])
        if rest and isinstance(obj[name], dict):
            self._expand(obj[name], rest, path)
