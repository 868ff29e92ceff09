"""`/_dev/checkout`: the local stand-in for Stripe Checkout. A page with a "Pay" button that sends
the matching signed `checkout.session.completed` to the local webhook and returns to the portal."""

from __future__ import annotations

import os
import urllib.request
from urllib.parse import urlencode, urlparse

from jinja2 import Environment, select_autoescape
from werkzeug import Request, Response
from werkzeug.utils import redirect

from ..checkout import RenewalOrder
from .checkout import checkout_completed_event, signed_body

_PAGE = Environment(autoescape=select_autoescape(default_for_string=True)).from_string(
    """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Checkout (local)</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto}
button{background:#635bff;color:#fff;border:0;border-radius:6px;padding:.7rem 1.6rem;font-size:1rem}</style>
</head><body><h1>Pay {{ "%.2f"|format(amount / 100) }} {{ currency|upper }}</h1>
<p>Renewal of license <code>{{ license_id }}</code> ({{ product }}) for {{ email }}.</p>
<p><em>Local stand-in for Stripe Checkout: no money moves.</em></p>
<form method="post"><button type="submit">Pay</button></form></body></html>"""
)


class DevCheckout:
    """The local system's checkout port (`licensing.checkout.CheckoutPort`) and its page."""

    def __init__(self, webhook_url: str) -> None:
        self.webhook_url = webhook_url

    def renewal_url(self, order: RenewalOrder) -> str:
        query = {
            "license_id": order.license_id,
            "product": order.product,
            "email": order.email,
            "amount": str(order.amount or 0),
            "currency": order.currency or "eur",
            "return_url": order.return_url,
        }
        return f"/_dev/checkout?{urlencode(query)}"

    def view(self, request: Request) -> Response:
        arguments = request.args
        amount = int(arguments.get("amount", "0") or 0)
        if request.method == "GET":
            page = _PAGE.render(
                amount=amount,
                currency=arguments.get("currency", "eur"),
                license_id=arguments.get("license_id", ""),
                product=arguments.get("product", ""),
                email=arguments.get("email", ""),
            )
            return Response(page, content_type="text/html; charset=utf-8")
        event = checkout_completed_event(
            email=arguments.get("email", ""),
            product=arguments.get("product", ""),
            amount=amount,
            currency=arguments.get("currency", "eur"),
            metadata={"license_id": arguments.get("license_id", "")},
        )
        secret = (os.environ.get("STRIPE_WEBHOOK_SECRET") or "whsec_local_dev").split(",")[0]
        body, header = signed_body(event, secret)
        delivery = urllib.request.Request(  # noqa: S310 (the local gateway, on loopback)
            self.webhook_url,
            data=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(delivery, timeout=30):  # noqa: S310
            pass
        back = urlparse(arguments.get("return_url", "/portal/"))._replace(scheme="", netloc="").geturl()
        # Only back to this system's own pages, never an open redirect ("//host", "/\\host").
        if not back.startswith("/") or back.startswith(("//", "/\\")):
            back = "/portal/"
        return redirect(back, code=303)
