"""The one translation of Stripe's objects: the same fields whichever API version or expansion
Stripe sent them in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from licensing.services.purchases.stripe_events import Charge, CheckoutSession, Dispute, Invoice
from tests import stripe_support as s


@pytest.mark.parametrize("where", ["legacy", "parent", "both"])
def test_an_invoice_names_its_subscription_and_paid_period_in_every_api_version(where: str) -> None:
    end = int(datetime(2027, 5, 1, tzinfo=UTC).timestamp())
    raw = s.invoice(subscription="sub_1", period_end=end, put_subscription_in=where)  # type: ignore[arg-type]
    invoice = Invoice.from_stripe(raw)
    assert (invoice.subscription, invoice.period_end, invoice.renews_subscription) == (
        "sub_1",
        datetime(2027, 5, 1, tzinfo=UTC).date(),
        True,
    )


def test_an_invoice_lists_its_payments_old_and_new_style_once() -> None:
    raw = {
        "id": "in_1",
        "payment_intent": {"id": "pi_1"},
        "charge": None,
        "payments": {"data": [{"payment": {"payment_intent": "pi_1"}}, {"payment": {"charge": "ch_2"}}]},
    }
    assert Invoice.from_stripe(raw).payments == ["pi_1", "ch_2"]


def test_a_session_reads_the_buyer_and_its_references_expanded_or_not() -> None:
    raw = s.checkout_session(email=" Bea@Acme.TEST ", business_name="Acme", invoice="in_9")
    raw["customer"] = {"id": "cus_9", "object": "customer"}
    session = CheckoutSession.from_stripe(raw)
    assert (session.email, session.company, session.customer, session.invoice) == (
        "bea@acme.test",
        "Acme",
        "cus_9",
        "in_9",
    )
    assert session.refs == [session.id, raw["payment_intent"], "in_9"]


def test_a_refund_and_a_dispute_name_the_payment_they_reverse() -> None:
    refund = Charge.from_stripe(s.charge(payment_intent=None, amount=4900, amount_refunded=4900))
    assert refund.payment == refund.id and refund.fully_refunded
    partial = Charge.from_stripe(s.charge(payment_intent="pi_1", amount=4900, amount_refunded=100))
    assert (partial.payment, partial.fully_refunded, partial.amount_refunded) == ("pi_1", False, 100)
    dispute = Dispute.from_stripe(s.dispute(charge="ch_1", payment_intent=None, status="won"))
    assert (dispute.payment, dispute.status) == ("ch_1", "won")
