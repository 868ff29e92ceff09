"""Pydantic domain models and the constrained types that validate data where it enters."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .dates import utc_now

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError("a product slug is lower-case letters, digits and dashes")
    return value


def _email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("not an email address")
    return value


Slug = Annotated[str, AfterValidator(_slug)]
Email = Annotated[str, AfterValidator(_email)]
Money = Annotated[int, Field(ge=0, description="amount in the currency's minor unit (cents)")]


class LicenseStatus(StrEnum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


class OnExpiry(StrEnum):
    """What the end of the term (and grace) costs: updates and support only, or the software too."""

    KEEP_WORKING = "keep_working"
    STOP = "stop"


class LicenseType(StrEnum):
    COMMERCIAL = "commercial"
    TRIAL = "trial"
    CUSTOM = "custom"


class PaymentStatus(StrEnum):
    PAID = "paid"
    PENDING = "pending"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    DISPUTED = "disputed"
    FREE = "free"


DEFAULT_DEVELOPMENT_HOSTS: tuple[str, ...] = (
    "localhost",
    "*.localhost",
    "*.test",
    "*.example",
    "*.invalid",
    "loopback",
)


class _Model(BaseModel):
    # defer_build: a model's validator is built at its first use, so that a function's cold start
    # builds only the models its path reads (a validation: License), not all of them.
    # hide_input_in_errors: a refused value (an email, a key) stays out of the error's message and
    # so out of a logged traceback; `errors()` still names the field and the reason.
    model_config = ConfigDict(
        extra="ignore", validate_assignment=True, defer_build=True, hide_input_in_errors=True
    )


class Price(_Model):
    amount: Money
    currency: str = Field(default="eur", min_length=3, max_length=3)


class Product(_Model):
    slug: Slug
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["public", "custom"] = "public"
    owner_account_id: str | None = None
    stripe_price_ids: list[str] = Field(default_factory=list)
    trial_price_ids: list[str] = Field(default_factory=list)
    term_months: int = Field(default=12, ge=1, le=120)
    max_sites: int = Field(default=3, ge=0, le=10_000)
    grace_days: int = Field(default=7, ge=0, le=365)
    trial_days: int = Field(default=14, ge=1, le=365)
    renewal_price: Price | None = None
    on_expiry: OnExpiry = OnExpiry.KEEP_WORKING
    development_hosts: list[str] = Field(default_factory=lambda: list(DEFAULT_DEVELOPMENT_HOSTS))
    description: str = ""
    created_at: datetime = Field(default_factory=utc_now)

    @property
    def custom(self) -> bool:
        return self.kind == "custom"


class Release(_Model):
    product: Slug
    version: str = Field(min_length=1, max_length=64)
    published_at: datetime = Field(default_factory=utc_now)
    notes_markdown: str = ""
    file_key: str
    filename: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    requires_host: str | None = None


class Account(_Model):
    id: str
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["organisation", "person"] = "organisation"
    stripe_customer_id: str | None = None
    billing_address: dict[str, str | None] = Field(default_factory=dict)
    tax_ids: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utc_now)


class Suppression(_Model):
    """Why and since when nothing is mailed to a contact (a permanent bounce, a complaint)."""

    reason: str
    at: datetime = Field(default_factory=utc_now)


class Contact(_Model):
    email: Email
    name: str = ""
    account_ids: list[str] = Field(default_factory=list)
    release_mail_opt_out: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utc_now)
    # Set by SES's bounce and complaint events (services/suppression.py); staff lift it.
    suppressed: Suppression | None = None


class Site(_Model):
    host: str
    activated_at: datetime = Field(default_factory=utc_now)
    counted: bool = True
    # Usage (API.md section 2): the day a validation or update check last came from the site,
    # with the extension's and the host's versions it sent; written at most once a day.
    last_seen_on: date | None = None
    version: str | None = None
    host_version: str | None = None


class Billing(_Model):
    invoice_url: str | None = None
    receipt_url: str | None = None
    payment_status: PaymentStatus = PaymentStatus.PAID
    method: str = "stripe"
    payment_method_type: str | None = None
    amount_total: Money | None = None
    amount_refunded: Money = 0
    currency: str | None = None
    stripe_customer_id: str | None = None
    stripe_checkout_session_id: str | None = None
    stripe_payment_intent_id: str | None = None
    stripe_subscription_id: str | None = None
    stripe_invoice_id: str | None = None
    stripe_charge_id: str | None = None
    paid_on: date | None = None  # when a sale paid outside Stripe (bank transfer, invoice) was paid


class Payment(_Model):
    """One payment of a license (a Stripe checkout or renewal, a renewal staff record, an imported
    one), kept for bookkeeping. Of a multi-license order it is this license's share."""

    at: date
    amount: Money | None = None
    currency: str | None = None
    method: str = "invoice"
    status: PaymentStatus = PaymentStatus.PAID
    invoice_url: str | None = None
    paid_on: date | None = None
    amount_refunded: Money = 0
    reason: str = "renewal"
    by: str | None = None
    stripe_payment_id: str | None = None  # the payment intent (or session, invoice) refunds name
    order_amount: Money | None = None  # the whole order's amount, when `amount` is a share of it


class License(_Model):
    """A license, with what validation needs from its product copied on, so a check is one read."""

    id: str
    key: str
    name: str
    product: Slug
    type: LicenseType = LicenseType.COMMERCIAL
    status: LicenseStatus = LicenseStatus.ACTIVE
    status_reason: str | None = None
    status_cause: str | None = None  # what set the status (e.g. a refund), so it is announced once
    account_id: str
    starts_on: date
    ends_on: date
    sites: dict[str, Site] = Field(default_factory=dict)
    billing: Billing = Field(default_factory=Billing)
    payments: list[Payment] = Field(default_factory=list)
    max_sites: int = Field(ge=0)
    grace_days: int = Field(ge=0)
    # Copied from the product at issue; licenses stored before the setting existed read keep_working.
    on_expiry: OnExpiry = OnExpiry.KEEP_WORKING
    development_hosts: list[str] = Field(default_factory=lambda: list(DEFAULT_DEVELOPMENT_HOSTS))
    custom: bool = False
    auto_renews: bool = False
    # New production sites activated today, for the daily activation cap.
    activation_day: date | None = None
    activations_today: int = 0
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    revision: int = 0
    # How many usage writes the stored item has had (they change neither revision nor updated_at):
    # a save from a copy read before one of them would drop that usage, so it loses its lock.
    usage_writes: int = 0

    @property
    def display_key(self) -> str:
        """The key as shown to people: grouped in fives when it is in this system's format."""
        from .keys import format_key

        return format_key(self.key)

    @property
    def sites_used(self) -> int:
        return sum(1 for site in self.sites.values() if site.counted)


class HistoryEntry(_Model):
    license_id: str
    at: datetime = Field(default_factory=utc_now)
    actor: str
    action: str
    detail: dict[str, Any] = Field(default_factory=dict)
    customer_visible: bool = False


class PortalSession(_Model):
    """A signed-in customer's portal session (stored by its token's hash; the token is never kept)."""

    email: Email
    csrf: str
    created_at: datetime
    last_seen_at: datetime


class HeldSignInLink(_Model):
    """A sign-in link held for a person, as a data-protection export shows it (never the token)."""

    purpose: str
    expires_at: str


class HeldPortalSession(_Model):
    """A portal session held for a person, as a data-protection export shows it (never the token)."""

    created_at: str
    last_seen_at: str
