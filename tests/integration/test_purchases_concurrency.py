"""Concurrent deliveries of one Stripe event on AWS's DynamoDB Local (moto is not atomic under
concurrent writes): one sale, one set of licenses, whatever the race; losers ask Stripe to retry."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from licensing.adapters.dynamo import DynamoStore
from licensing.errors import TransientError
from licensing.events import Event
from licensing.services.purchases import Purchases
from tests import factories
from tests import stripe_support as s


class Recorder:
    """The event bus port, recording what would be published (EventBridge is not in the namespace)."""

    def __init__(self) -> None:
        self.published: list[Event] = []

    def publish(self, events: list[Event]) -> None:
        self.published.extend(events)


class NoStripeApi:
    def line_items(self, session_id: str) -> None:
        return None

    def invoice(self, invoice_id: str) -> None:
        return None

    def invoice_url(self, invoice_id: str) -> None:
        return None

    def receipt_url(self, payment_intent_id: str) -> None:
        return None


@pytest.mark.dynamodb_local
def test_five_concurrent_deliveries_issue_one_sale(local_store: DynamoStore) -> None:
    store = local_store
    store.put_product(factories.product())
    event = s.event("checkout.session.completed", s.checkout_session(metadata={"product": "crm-exporter"}))
    recorders = [Recorder() for _ in range(5)]

    def deliver(recorder: Recorder) -> str:
        purchases = Purchases(
            store=store, events=recorder, stripe=NoStripeApi(), today=lambda: datetime.now(UTC).date()
        )
        for _ in range(5):  # Stripe retries a 5xx
            try:
                purchases.handle(event)
            except TransientError:
                continue
            return "ok"
        return "gave up"

    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(deliver, recorders))
    assert results == ["ok"] * 5
    session_id = event["data"]["object"]["id"]
    assert len(store.license_ids_for_ref(session_id)) == 1
    announcements: list[dict[str, Any]] = [e.detail for r in recorders for e in r.published]
    assert announcements and {a["dedupe_key"] for a in announcements} == {announcements[0]["dedupe_key"]}


@pytest.mark.dynamodb_local
def test_concurrent_contacts_of_one_email_keep_every_account(local_store: DynamoStore) -> None:
    store = local_store
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: store.add_contact(f"acc_{n}", "shared@corp.test"), range(8)))
    contact = store.get_contact("shared@corp.test")
    assert contact is not None and contact.account_ids == sorted(f"acc_{n}" for n in range(8))
