"""The Stripe test support itself: payload builders, signatures with the SDK, and the fake API that
the real SDK talks to."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Literal

import pytest
import requests
import stripe

from tests.stripe_support import (
    FakeStripe,
    charge,
    checkout_line_item,
    checkout_session,
    dispute,
    event,
    invoice,
    payment_intent,
    signed,
    signed_multi,
    stripe_object,
)

SECRET = "whsec_test_current"


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with FakeStripe() as server:
        yield server


def test_stripe_object_is_a_fresh_copy_with_nested_overrides() -> None:
    first = stripe_object("checkout.session", customer_details__email="x@acme.test", mode="subscription")
    second = stripe_object("checkout.session")

    assert first["customer_details"]["email"] == "x@acme.test"
    assert first["mode"] == "subscription"
    assert second["customer_details"]["email"] == "example@example.com"
    assert stripe_object("invoice", lines__data__0__period__end=5)["lines"]["data"][0]["period"]["end"] == 5
    with pytest.raises(KeyError):
        stripe_object("checkout.session", customer_detail__email="typo@acme.test")
    with pytest.raises(KeyError):
        stripe_object("no_such_thing")


def test_checkout_session_is_what_a_completed_event_carries() -> None:
    session = checkout_session(business_name="Acme Corp", metadata={"product": "crm-exporter"})

    assert session["object"] == "checkout.session"
    assert session["id"].startswith("cs_test_")
    assert session["customer"].startswith("cus_")
    assert session["payment_intent"].startswith("pi_")
    assert (session["invoice"], session["subscription"]) == (None, None)
    assert session["customer_details"]["email"] == "bea@acme.test"
    assert session["customer_details"]["business_name"] == "Acme Corp"
    assert session["metadata"] == {"product": "crm-exporter"}
    assert (session["payment_status"], session["status"]) == ("paid", "complete")
    assert session["amount_total"] == 4900
    assert "line_items" not in session
    assert "after_submit" in session["custom_text"]


def test_checkout_session_defaults_follow_mode_and_payment_status() -> None:
    free = checkout_session(payment_status="no_payment_required", amount_total=0)
    subscribed = checkout_session(mode="subscription", customer_details__phone="+49301234567")

    assert free["payment_intent"] is None
    assert subscribed["payment_intent"] is None
    assert subscribed["subscription"].startswith("sub_")
    assert subscribed["invoice"].startswith("in_")
    assert subscribed["customer_details"]["phone"] == "+49301234567"


@pytest.mark.parametrize(
    ("placement", "legacy", "parent"),
    [("both", "sub_1", "sub_1"), ("legacy", "sub_1", None), ("parent", None, "sub_1")],
)
def test_invoice_puts_the_subscription_where_asked(
    placement: Literal["both", "legacy", "parent"], legacy: str | None, parent: str | None
) -> None:
    inv = invoice(subscription="sub_1", period_end=1_900_000_000, put_subscription_in=placement)

    assert inv.get("subscription") == legacy
    assert ("subscription" in inv) == (placement != "parent")
    assert ((inv["parent"] or {}).get("subscription_details") or {}).get("subscription") == parent
    line = inv["lines"]["data"][0]
    assert line["period"]["end"] == 1_900_000_000
    assert inv["period_end"] == line["period"]["start"]
    assert inv["status"] == "paid"
    assert inv["hosted_invoice_url"].startswith("https://invoice.stripe.com/i/")


def test_invoice_without_subscription_is_a_one_time_invoice() -> None:
    inv = invoice(billing_reason="manual")

    assert inv["subscription"] is None
    assert inv["parent"] is None
    assert inv["lines"]["data"][0]["parent"]["type"] == "invoice_item_details"


def test_charge_dispute_and_payment_intent() -> None:
    partial = charge(amount=4900, amount_refunded=1000)
    full = charge(charge_id="ch_1", payment_intent="pi_1", amount_refunded=4900)
    chargeback = dispute(charge="ch_1", payment_intent="pi_1", status="lost")
    intent = payment_intent(payment_intent_id="pi_1", latest_charge="ch_1")

    assert partial["refunded"] is False
    assert partial["receipt_url"].startswith("https://pay.stripe.com/receipts/")
    assert (full["id"], full["payment_intent"], full["refunded"]) == ("ch_1", "pi_1", True)
    assert (chargeback["charge"], chargeback["payment_intent"]) == ("ch_1", "pi_1")
    assert chargeback["status"] == "lost"
    assert (intent["status"], intent["latest_charge"]) == ("succeeded", "ch_1")
    assert intent["last_payment_error"] is None


def test_event_envelope() -> None:
    session = checkout_session()
    evt = event("checkout.session.completed", session, event_id="evt_1", created=1_800_000_000)

    assert evt == {
        "id": "evt_1",
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": 1_800_000_000,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "checkout.session.completed",
        "data": {"object": session},
    }
    assert evt["data"]["object"] is not session


def test_signed_payload_verifies_with_the_sdk_and_tampering_fails() -> None:
    evt = event("checkout.session.completed", checkout_session(name="Zoë Müller"))
    body, header = signed(evt, SECRET)

    verified = stripe.Webhook.construct_event(body, header, SECRET)
    assert verified.id == evt["id"]
    assert json.loads(body) == evt
    assert "Zoë".encode() in body
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.replace(b"Zo", b"Jo"), header, SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, "whsec_other")
    stale_body, stale_header = signed(evt, SECRET, timestamp=int(time.time()) - 301)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(stale_body, stale_header, SECRET)


def test_signed_keeps_text_and_bytes_exactly() -> None:
    body, header = signed(b'{"id": "evt_1",  "object": "event"}', SECRET, timestamp=1_800_000_000)

    assert body == b'{"id": "evt_1",  "object": "event"}'
    assert header.startswith("t=1800000000,v1=")


def test_multi_signature_header_verifies_with_either_secret() -> None:
    body, header = signed_multi(event("invoice.paid", invoice()), ["whsec_old", SECRET])

    assert header.count("v1=") == 2
    for secret in ("whsec_old", SECRET):
        assert stripe.Webhook.construct_event(body, header, secret).type == "invoice.paid"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, "whsec_third")


def test_sdk_retrieves_a_session_with_expanded_line_items(fake: FakeStripe) -> None:
    fake.add_session(
        checkout_session(session_id="cs_1", metadata={}),
        line_items=[
            {"price": "price_crm_exporter", "quantity": 2, "unit_amount": 4900},
            {"price": "price_seo_kit", "unit_amount": 0, "interval": "year"},
        ],
    )
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": fake.base_url}, max_network_retries=0)

    session = client.v1.checkout.sessions.retrieve("cs_1", params={"expand": ["line_items"]})

    assert session.id == "cs_1"
    items = session.line_items.data if session.line_items else []
    assert [(item.price.id if item.price else None, item.quantity) for item in items] == [
        ("price_crm_exporter", 2),
        ("price_seo_kit", 1),
    ]
    assert items[0].amount_total == 9800
    assert items[0].price and items[0].price.currency == "eur"
    assert items[1].price and items[1].price.type == "recurring"
    assert fake.requests[-1].path == "/v1/checkout/sessions/cs_1"
    assert fake.requests[-1].expand == ["line_items"]
    assert "line_items" not in client.v1.checkout.sessions.retrieve("cs_1")


def test_sdk_pages_through_line_items(fake: FakeStripe) -> None:
    items = [checkout_line_item(f"price_{n}") for n in range(12)]
    fake.add_session(checkout_session(session_id="cs_many"), line_items=items)
    client = fake.client()

    first = client.v1.checkout.sessions.line_items.list("cs_many")
    every = list(first.auto_paging_iter())

    assert (len(first.data), first.has_more) == (10, True)
    assert [item.price.id for item in every if item.price] == [f"price_{n}" for n in range(12)]
    assert fake.requests[-1].query["starting_after"] == [items[9]["id"]]


def test_sdk_retrieves_invoices_payment_intents_and_charges(fake: FakeStripe) -> None:
    fake.add_invoice(invoice(invoice_id="in_1", subscription="sub_1", put_subscription_in="parent"))
    fake.add_charge(charge(charge_id="ch_1", payment_intent="pi_1"))
    fake.add_payment_intent(payment_intent(payment_intent_id="pi_1", latest_charge="ch_1"))
    client = fake.client()

    inv = client.v1.invoices.retrieve("in_1")
    intent = client.v1.payment_intents.retrieve("pi_1", params={"expand": ["latest_charge"]})

    assert inv.parent and inv.parent.subscription_details
    assert inv.parent.subscription_details.subscription == "sub_1"
    assert isinstance(intent.latest_charge, stripe.Charge)
    assert intent.latest_charge.receipt_url
    assert client.v1.charges.retrieve("ch_1").payment_intent == "pi_1"
    assert client.v1.payment_intents.retrieve("pi_1").latest_charge == "ch_1"


def test_unknown_objects_are_404_in_stripes_shape(fake: FakeStripe) -> None:
    fake.add_charge(charge(charge_id="ch_1"))
    client = fake.client()

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.retrieve("cs_missing")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.retrieve("ch_1")
    bearer = {"Authorization": "Bearer sk_test_x"}
    answer = requests.get(f"{fake.base_url}/v1/nothing", headers=bearer, timeout=5)
    assert answer.status_code == 404
    assert answer.json()["error"]["type"] == "invalid_request_error"


def test_api_key_is_checked() -> None:
    with FakeStripe(api_key="sk_test_right") as fake:
        fake.add_charge(charge(charge_id="ch_1"))
        with pytest.raises(stripe.AuthenticationError):
            fake.client("sk_test_wrong").v1.charges.retrieve("ch_1")
        assert fake.client().v1.charges.retrieve("ch_1").id == "ch_1"
        answer = requests.get(f"{fake.base_url}/v1/charges/ch_1", timeout=5)
    assert answer.status_code == 401
    assert "API key" in answer.json()["error"]["message"]


def test_fail_next_gives_transient_errors_then_answers(fake: FakeStripe) -> None:
    fake.add_charge(charge(charge_id="ch_1"))
    client = fake.client()
    fake.fail_next(1)
    fake.fail_next(1, status=429)

    with pytest.raises(stripe.APIError):
        client.v1.charges.retrieve("ch_1")
    with pytest.raises(stripe.RateLimitError):
        client.v1.charges.retrieve("ch_1")
    assert client.v1.charges.retrieve("ch_1").id == "ch_1"
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/v1/charges/ch_1")] * 3


def test_line_items_take_the_sessions_currency_unless_given(fake: FakeStripe) -> None:
    fake.add_session(
        checkout_session(session_id="cs_usd", currency="usd"),
        line_items=[{"price": "price_a"}, {"price": "price_b", "currency": "chf"}],
    )

    items = fake.client().v1.checkout.sessions.line_items.list("cs_usd").data

    assert [item.currency for item in items] == ["usd", "chf"]
    assert [item.price.unit_amount for item in items if item.price] == [4900, 4900]
