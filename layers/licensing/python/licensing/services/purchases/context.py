"""What every purchase use case shares: the ports, the events to publish once the Stripe event is
applied, and the history entries and payment-caused status changes they write."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from ...adapters.stripe_api import LineItem
from ...events import Event
from ...lifecycle import Action, transition
from ...models import (
    Account,
    Contact,
    HistoryEntry,
    License,
    LicenseStatus,
    PaymentStatus,
    Product,
)
from ..issuing import LicenseWriter as LicenseIssuer
from ..licenses import Change, LicenseWriter, update_license

logger = Logger(service="licensing")

ACTOR = "stripe"
NOTE_TTL_DAYS = 120  # refunds and disputes can precede their purchase's delivery by days


class StripeReader(Protocol):
    """The Stripe API reads a purchase makes (the webhook event carries the rest)."""

    def line_items(self, session_id: str) -> list[LineItem] | None: ...
    def invoice(self, invoice_id: str) -> dict[str, Any] | None: ...
    def invoice_url(self, invoice_id: str) -> str | None: ...
    def receipt_url(self, payment_intent_id: str) -> str | None: ...


class Publisher(Protocol):
    def publish(self, events: list[Event]) -> None: ...


class PurchaseStore(LicenseWriter, LicenseIssuer, Protocol):
    """The store's reads and writes that purchases use (licensing.adapters.dynamo.DynamoStore)."""

    def get_claim(self, key: str) -> dict[str, Any] | None: ...
    def claim(self, key: str, *, ttl_days: int | None, detail: dict[str, Any] | None = ...) -> bool: ...
    def remember(self, key: str, detail: dict[str, Any], *, ttl_days: int) -> None: ...
    def license_ids_for_ref(self, ref: str) -> list[str]: ...
    def add_refs(self, license_id: str, refs: Iterable[str]) -> None: ...
    def get_product(self, slug: str) -> Product | None: ...
    def product_for_price(self, price_id: str) -> str | None: ...
    def get_account(self, account_id: str) -> Account | None: ...
    def create_account(self, account: Account) -> None: ...
    def account_id_for_customer(self, stripe_customer_id: str) -> str | None: ...
    def link_customer(self, account: Account, stripe_customer_id: str) -> Account: ...
    def get_contact(self, email: str) -> Contact | None: ...
    def add_contact(self, account_id: str, email: str, name: str = ...) -> Contact: ...
    def contact_emails(self, account_id: str) -> list[str]: ...


@dataclass
class PurchaseContext:
    store: PurchaseStore
    stripe: StripeReader
    today: Callable[[], date]
    outbox: list[Event] = field(default_factory=list)

    def announce(self, event: Event) -> None:
        """An event published once the whole Stripe event is applied."""
        self.outbox.append(event)

    def change(self, license_id: str, decide: Callable[[License], Change | None]) -> None:
        """Apply `decide` to the current license and save it, retrying when a write races."""
        update_license(self.store, license_id, decide)


def entry(license: License, action: str, *, customer: bool = True, **detail: Any) -> HistoryEntry:
    return HistoryEntry(
        license_id=license.id, actor=ACTOR, action=action, detail=detail, customer_visible=customer
    )


def paid_status(
    license: License,
    action: Action,
    reason: str | None,
    payment_status: PaymentStatus,
    cause: str,
    *,
    history_reason: str | None = None,
    **billing_changes: Any,
) -> Change:
    """A status change caused by the payment, with the billing details that go with it."""
    status = transition(license.status, action)
    billing = license.billing.model_copy(update={"payment_status": payment_status, **billing_changes})
    changed = license.model_copy(
        update={"status": status, "status_reason": reason, "status_cause": cause, "billing": billing}
    )
    done = {LicenseStatus.REVOKED: "revoked", LicenseStatus.SUSPENDED: "suspended"}.get(status, "reinstated")
    return Change(changed, [entry(license, done, reason=history_reason or reason)])
