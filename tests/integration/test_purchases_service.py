"""The purchase service on the real store (moto) with an in-memory Stripe reader: what the Stripe
API answers (line items, the first invoice, the receipt) decides what a sale becomes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest

from licensing.adapters.dynamo import DynamoStore
from licensing.adapters.stripe_api import LineItem
from licensing.errors import UnknownProduct
from licensing.events import Event
from licensing.models import License, LicenseStatus, LicenseType, PaymentStatus
from licensing.services.purchases import Purchases
from tests import factories
from tests import stripe_support as s

TODAY = date(2026, 3, 2)


class InMemoryStripe:
    """The Stripe reader port, answering from what a test put in (None for anything else, as the
    real reader does for an object Stripe does not have)."""

    def __init__(self) -> None:
        self.line_items_of: dict[str, list[LineItem]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.receipts: dict[str, str] = {}
        self.reads: list[str] = []

    def line_items(self, session_id: str) -> list[LineItem] | None:
        self.reads.append(f"line_items:{session_id}")
        return self.line_items_of.get(session_id)

    def invoice(self, invoice_id: str) -> dict[str, Any] | None:
        self.reads.append(f"invoice:{invoice_id}")
        return self.invoices.get(invoice_id)

    def invoice_url(self, invoice_id: str) -> str | None:
        invoice = self.invoice(invoice_id)
        return invoice.get("hosted_invoice_url") if invoice else None

    def receipt_url(self, payment_intent_id: str) -> str | None:
        self.reads.append(f"receipt:{payment_intent_id}")
        return self.receipts.get(payment_intent_id)


class Recorder:
    def __init__(self) -> None:
        self.published: list[Event] = []

    def publish(self, events: list[Event]) -> None:
        self.published.extend(events)

    def types(self) -> list[str]:
        return [event.detail_type for event in self.published]


class Shop:
    def __init__(self, store: DynamoStore) -> None:
        self.store = store
        self.stripe = InMemoryStripe()
        self.events = Recorder()
        self.purchases = Purchases(store=store, events=self.events, stripe=self.stripe, today=lambda: TODAY)

    def deliver(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        return self.purchases.handle(s.event(event_type, obj))

    def licenses(self, ref: str) -> list[License]:
        return [self.store.require_license(i) for i in self.store.license_ids_for_ref(ref)]


@pytest.fixture
def shop(aws: dict[str, Any]) -> Shop:
    store = DynamoStore(aws["names"].table, boto3.client("dynamodb"))
    store.put_product(
        factories.product(stripe_price_ids=["price_crm_exporter"], trial_price_ids=["price_trial"])
    )
    return Shop(store)


def test_the_line_items_decide_the_product_and_the_quantity(shop: Shop) -> None:
    session = s.checkout_session(invoice=None)
    shop.stripe.line_items_of[session["id"]] = [LineItem("price_crm_exporter", 3, 4900)]
    shop.stripe.receipts[session["payment_intent"]] = "https://pay.stripe.com/receipts/r_1"
    assert shop.deliver("checkout.session.completed", session) == {"received": True}
    licenses = shop.licenses(session["id"])
    assert len(licenses) == 3
    assert {(lic.product, lic.status, lic.type) for lic in licenses} == {
        ("crm-exporter", LicenseStatus.ACTIVE, LicenseType.COMMERCIAL)
    }
    assert {lic.billing.invoice_url for lic in licenses} == {"https://pay.stripe.com/receipts/r_1"}
    assert {lic.ends_on for lic in licenses} == {date(2027, 3, 2)}
    assert shop.events.types() == ["LicenseIssued"]
    assert sorted(shop.events.published[0].detail["license_ids"]) == sorted(lic.id for lic in licenses)


def test_a_trial_price_in_the_line_items_gives_a_trial(shop: Shop) -> None:
    session = s.checkout_session(invoice=None, amount_total=0)
    shop.stripe.line_items_of[session["id"]] = [LineItem("price_trial", 1, 0)]
    shop.deliver("checkout.session.completed", session)
    (license,) = shop.licenses(session["id"])
    assert (license.type, license.billing.payment_status) == (LicenseType.TRIAL, PaymentStatus.FREE)


def test_without_line_items_the_metadata_names_product_and_quantity(shop: Shop) -> None:
    session = s.checkout_session(invoice=None, metadata={"product": "crm-exporter", "quantity": "2"})
    shop.deliver("checkout.session.completed", session)
    assert len(shop.licenses(session["id"])) == 2
    assert f"line_items:{session['id']}" in shop.stripe.reads


def test_an_unknown_price_is_refused_and_grants_nothing(shop: Shop) -> None:
    session = s.checkout_session(invoice=None)
    shop.stripe.line_items_of[session["id"]] = [LineItem("price_someone_else", 1, 4900)]
    with pytest.raises(UnknownProduct, match="names no known product"):
        shop.deliver("checkout.session.completed", session)
    assert shop.licenses(session["id"]) == [] and shop.events.published == []


def _year_from(day: date) -> int:
    return int(datetime(day.year + 1, day.month, day.day, tzinfo=UTC).timestamp())


def test_a_subscription_lasts_the_period_its_first_invoice_paid_and_renews_with_the_next(shop: Shop) -> None:
    first = s.invoice(billing_reason="subscription_create", period_end=_year_from(TODAY) - 86_400 * 300)
    session = s.checkout_session(mode="subscription", invoice=first["id"])
    first["subscription"] = session["subscription"]
    shop.stripe.invoices[first["id"]] = first
    shop.stripe.line_items_of[session["id"]] = [LineItem("price_crm_exporter", 1, 4900)]
    shop.deliver("checkout.session.completed", session)
    (license,) = shop.licenses(session["id"])
    first_end = datetime.fromtimestamp(first["lines"]["data"][0]["period"]["end"], UTC).date()
    assert (license.ends_on, license.auto_renews) == (first_end, True)
    assert license.billing.invoice_url == first["hosted_invoice_url"]

    cycle = s.invoice(subscription=session["subscription"], period_end=_year_from(first_end))
    shop.deliver("invoice.paid", cycle)
    shop.deliver("invoice.paid", cycle)  # Stripe delivers again under a new event id
    renewed = shop.store.require_license(license.id)
    assert renewed.ends_on == first_end.replace(year=first_end.year + 1)
    assert renewed.revision == license.revision + 1  # extended once
    renewals = [e.detail for e in shop.events.published if e.detail_type == "LicenseRenewed"]
    assert len(renewals) == 2  # the second delivery announces again: the notifier mails once
    assert {r["dedupe_key"] for r in renewals} == {f"LicenseRenewed:invoice:{cycle['id']}:{license.id}"}
    assert renewals[0]["previous_ends_on"] == first_end.isoformat()

    shop.deliver("customer.subscription.deleted", {"id": session["subscription"], "object": "subscription"})
    cancelled = shop.store.require_license(license.id)
    assert (cancelled.auto_renews, cancelled.ends_on) == (False, renewed.ends_on)


def test_a_refund_and_a_dispute_reach_the_license_by_its_payment(shop: Shop) -> None:
    session = s.checkout_session(invoice=None, metadata={"product": "crm-exporter"})
    payment = session["payment_intent"]
    shop.deliver("charge.refunded", s.charge(payment_intent=payment, amount=4900, amount_refunded=900))
    shop.deliver("checkout.session.completed", session)  # the refund came first
    (license,) = shop.licenses(session["id"])
    assert (license.status, license.billing.payment_status, license.billing.amount_refunded) == (
        LicenseStatus.ACTIVE,
        PaymentStatus.PARTIALLY_REFUNDED,
        900,
    )
    dispute = s.dispute(payment_intent=payment)
    shop.deliver("charge.dispute.created", dispute)
    assert shop.store.require_license(license.id).status is LicenseStatus.SUSPENDED
    shop.deliver("charge.dispute.closed", dispute | {"status": "won"})
    won = shop.store.require_license(license.id)
    assert (won.status, won.billing.payment_status) == (LicenseStatus.ACTIVE, PaymentStatus.PAID)
    changes = [e.detail["status"] for e in shop.events.published if e.detail_type == "LicenseStatusChanged"]
    assert changes == ["SUSPENDED", "ACTIVE"]


def test_a_failed_payment_revokes_the_pending_license_and_tells_the_buyer(shop: Shop) -> None:
    session = s.checkout_session(invoice=None, payment_status="unpaid", metadata={"product": "crm-exporter"})
    shop.deliver("checkout.session.completed", session)
    (pending,) = shop.licenses(session["id"])
    assert pending.status is LicenseStatus.PENDING
    shop.deliver("checkout.session.async_payment_failed", session)
    revoked = shop.store.require_license(pending.id)
    assert (revoked.status, revoked.billing.payment_status) == (LicenseStatus.REVOKED, PaymentStatus.FAILED)
    failed = [e.detail for e in shop.events.published if e.detail_type == "PaymentFailed"]
    assert failed == [
        {
            "license_ids": [pending.id],
            "account_id": pending.account_id,
            "product": "crm-exporter",
            "dedupe_key": f"PaymentFailed:{session['id']}",
        }
    ]


def test_each_license_of_an_order_records_its_share_and_a_refund_lands_on_the_payment(shop: Shop) -> None:
    session = s.checkout_session(invoice=None, amount_total=10_001)
    shop.stripe.line_items_of[session["id"]] = [LineItem("price_crm_exporter", 2, 5000)]
    shop.deliver("checkout.session.completed", session)
    first, second = sorted(shop.licenses(session["id"]), key=lambda lic: lic.name)
    assert [p.amount for p in first.payments] == [5001]  # the remainder cent goes to the first
    assert [p.amount for p in second.payments] == [5000]
    assert (first.billing.amount_total, second.billing.amount_total) == (5001, 5000)
    [payment] = first.payments
    assert (payment.at, payment.method, payment.status, payment.currency) == (
        TODAY,
        "stripe",
        PaymentStatus.PAID,
        "eur",
    )
    assert (payment.reason, payment.stripe_payment_id) == ("purchase", session["payment_intent"])

    shop.deliver(
        "charge.refunded",
        s.charge(payment_intent=session["payment_intent"], amount=10_001, amount_refunded=2000),
    )
    refunded = [shop.store.require_license(lic.id).payments[0] for lic in (first, second)]
    assert [(p.amount_refunded, p.status) for p in refunded] == [
        (1000, PaymentStatus.PARTIALLY_REFUNDED),
        (999, PaymentStatus.PARTIALLY_REFUNDED),
    ]
    shop.deliver(
        "charge.refunded",
        s.charge(payment_intent=session["payment_intent"], amount=10_001, amount_refunded=10_001),
    )
    refunded = [shop.store.require_license(lic.id).payments[0] for lic in (first, second)]
    assert [(p.amount_refunded, p.status) for p in refunded] == [
        (5001, PaymentStatus.REFUNDED),
        (5000, PaymentStatus.REFUNDED),
    ]


def test_a_renewal_checkout_and_a_subscription_cycle_each_add_a_payment(shop: Shop) -> None:
    session = s.checkout_session(invoice=None, metadata={"product": "crm-exporter"})
    shop.deliver("checkout.session.completed", session)
    (license,) = shop.licenses(session["id"])
    renewal = s.checkout_session(invoice=None, amount_total=3900, metadata={"license_id": license.id})
    shop.deliver("checkout.session.completed", renewal)
    shop.deliver("checkout.session.completed", renewal)  # again: one payment still
    payments = shop.store.require_license(license.id).payments
    assert [(p.reason, p.amount, p.stripe_payment_id) for p in payments] == [
        ("purchase", 4900, session["payment_intent"]),
        ("renewal", 3900, renewal["payment_intent"]),
    ]

    first = s.invoice(billing_reason="subscription_create")
    subscribed = s.checkout_session(mode="subscription", invoice=first["id"])
    first["subscription"] = subscribed["subscription"]
    shop.stripe.invoices[first["id"]] = first
    shop.stripe.line_items_of[subscribed["id"]] = [LineItem("price_crm_exporter", 1, 4900)]
    shop.deliver("checkout.session.completed", subscribed)
    (yearly,) = shop.licenses(subscribed["id"])
    cycle = s.invoice(subscription=subscribed["subscription"], amount_paid=5900)
    shop.deliver("invoice.paid", cycle)
    last = shop.store.require_license(yearly.id).payments[-1]
    assert (last.reason, last.amount, last.invoice_url) == ("renewal", 5900, cycle["hosted_invoice_url"])
