"""`/_dev/checkout`: the local stand-in for Stripe Checkout. A page with a "Pay" button that sends
the matching signed `checkout.session.completed` to the local webhook and returns to the portal.

Opened without a renewal's parameters it stands in for a new purchase from the vendor's website
(a Payment Link or Checkout button with `metadata.product`): choose a product, enter an email, pay;
the webhook issues the license and mails its key."""

from __future__ import annotations

import os
from urllib.parse import urlencode, urlparse

import requests
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


_PURCHASE = Environment(autoescape=select_autoescape(default_for_string=True)).from_string(
    """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Buy a license (local)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
label{display:block;font-weight:600;margin-top:1rem}
select,input{font-size:1rem;padding:.4rem;width:100%}
button{margin-top:1.2rem;background:#635bff;color:#fff;border:0;border-radius:6px;
padding:.7rem 1.6rem;font-size:1rem}
.error{color:#b91c1c}</style>
</head><body><main><h1>{% if paid %}Paid{% else %}Buy a license{% endif %}</h1>
{% if paid %}<p role="status">Thank you: {{ paid }}.
The license mail is on its way to <strong>{{ email }}</strong>:
see the <a href="/_dev/mail">dev mailbox</a>.</p><p><a href="/_dev/checkout">Buy another</a></p>
{% else %}
<p><em>Local stand-in for the vendor's website and Stripe Checkout: no money moves.</em></p>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
<form method="post">
<label for="product">Product</label>
<select id="product" name="product">{% for p in products %}
<option value="{{ p.slug }}"{% if p.slug == chosen %} selected{% endif %}>{{ p.name }}</option>
{% endfor %}</select>
<label for="email">Email</label>
<input id="email" name="email" type="email" required autocomplete="email" value="{{ email }}">
<label for="company">Company (optional)</label>
<input id="company" name="company" autocomplete="organization" value="{{ company }}">
<button type="submit">Pay</button>
</form>{% endif %}</main></body></html>"""
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
        if "license_id" not in arguments:
            return self.purchase(request)
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
        self._deliver(event)
        back = urlparse(arguments.get("return_url", "/portal/"))._replace(scheme="", netloc="").geturl()
        # Only back to this system's own pages, never an open redirect ("//host", "/\\host").
        if not back.startswith("/") or back.startswith(("//", "/\\")):
            back = "/portal/"
        return redirect(back, code=303)

    def purchase(self, request: Request) -> Response:
        """A new purchase, as from the vendor's website: the checkout names its product in metadata."""
        from .. import wiring
        from ..models import Contact

        products = [p for p in wiring.store().list_products() if not p.custom]
        form = request.form
        values = {
            "email": form.get("email", ""),
            "company": form.get("company", ""),
            "chosen": form.get("product"),
        }
        if request.method == "GET":
            return _html(200, products=products, **values)
        product = next((p for p in products if p.slug == form.get("product")), None)
        try:
            email = Contact(email=form.get("email", "")).email
        except ValueError:
            return _html(400, products=products, error="Enter an email address.", **values)
        if product is None:
            return _html(400, products=products, error="Choose one of the products.", **values)
        price = product.renewal_price
        event = checkout_completed_event(
            email=email,
            product=product.slug,
            company=form.get("company") or None,
            amount=price.amount if price else 4900,
            currency=price.currency if price else "eur",
        )
        self._deliver(event)
        return _html(200, products=products, paid=f"one {product.name} license", **values)

    def _deliver(self, event: dict[str, object]) -> None:
        secret = (os.environ.get("STRIPE_WEBHOOK_SECRET") or "whsec_local_dev").split(",")[0]
        body, header = signed_body(event, secret)
        delivery = requests.post(
            self.webhook_url,
            data=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
            timeout=30,
        )
        delivery.raise_for_status()


def _html(status: int, **context: object) -> Response:
    context.setdefault("paid", None)
    context.setdefault("error", None)
    return Response(_PURCHASE.render(**context), status=status, content_type="text/html; charset=utf-8")
