"""Where a customer pays a renewal: the port the portal calls, and its Stripe Checkout adapter.
Locally the dev server provides its own stand-in (`/_dev/checkout`) through `wiring`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .errors import LicensingError

if TYPE_CHECKING:
    from .adapters.stripe_api import StripeApi


class RenewalUnavailable(LicensingError):
    """Online payment is not set up for this product or deployment."""

    code = "RENEWAL_UNAVAILABLE"
    status = 409


@dataclass(frozen=True)
class RenewalOrder:
    license_id: str
    product: str
    product_name: str
    email: str
    # Either a Stripe price, or an amount in the currency's minor unit.
    price_id: str | None
    amount: int | None
    currency: str | None
    return_url: str


class CheckoutPort(Protocol):
    def renewal_url(self, order: RenewalOrder) -> str:
        """The page where the customer pays; its paid webhook extends the license."""
        ...


class StripeCheckout:
    def __init__(self, stripe: StripeApi) -> None:
        self.stripe = stripe

    def renewal_url(self, order: RenewalOrder) -> str:
        if not self.stripe.enabled:
            raise RenewalUnavailable("Online payment is not configured: contact us to renew.")
        return self.stripe.renewal_checkout(
            license_id=order.license_id,
            product=order.product,
            email=order.email,
            price_id=order.price_id,
            amount=order.amount,
            currency=order.currency,
            name=f"{order.product_name}: renewal",
            return_url=order.return_url,
        )
