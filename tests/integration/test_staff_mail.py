"""A paid checkout without any email address: the license is still created, and the vendor's
staff are mailed at STAFF_EMAIL with what to do (attach a contact, resend), through the real
notifier handler."""

from __future__ import annotations

import pytest

from licensing import wiring
from licensing.adapters.stripe_api import LineItem
from licensing.devserver.functions import LambdaContext, load_handler
from licensing.models import LicenseStatus
from licensing.services.license_admin import resend
from licensing.settings import reset_settings
from tests import stripe_support as s
from tests.conftest import ROOT
from tests.integration.test_notifier import NOTIFIER, batch, failed_ids, inbox, record_for
from tests.integration.test_purchases_service import Recorder, Shop, shop  # noqa: F401 (fixture)

STAFF = "staff@vendor.test"


def test_a_paid_checkout_without_an_email_creates_the_license_and_mails_staff(
    shop: Shop,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STAFF_EMAIL", STAFF)
    reset_settings()
    wiring.reset()
    session = s.checkout_session(invoice=None, email=None, name=None)
    shop.stripe.line_items_of[session["id"]] = [LineItem("price_crm_exporter", 1, 4900)]
    shop.deliver("checkout.session.completed", session)
    (license,) = shop.licenses(session["id"])
    assert license.status is LicenseStatus.ACTIVE
    assert shop.store.contact_emails(license.account_id) == []
    told = [e for e in shop.events.published if e.detail_type == "LicensesWithoutContact"]
    assert [e.detail["license_ids"] for e in told] == [[license.id]]

    notifier = load_handler(NOTIFIER, ROOT)
    records = [record_for(event.detail_type, event.detail) for event in shop.events.published]
    assert failed_ids(notifier(batch(*records), LambdaContext(NOTIFIER))) == []
    (message,) = inbox(STAFF)
    assert message["subject"].startswith("A paid order has no email address: CRM Exporter for ")
    for part in (message["text"], message["html"]):
        assert session["id"] in part
        assert f"licensing accounts contacts add {license.account_id} EMAIL" in part
        assert f"licensing licenses resend {license.id}" in part
        assert license.display_key not in part  # keys stay out of staff mail
    assert [m["to"] for m in inbox()] == [[STAFF]]  # nobody else was mailed

    # Staff attach the buyer and resend: the buyer gets the key mail.
    shop.store.add_contact(license.account_id, "found@buyer.test", "Found Buyer")
    events = Recorder()
    resend(shop.store, events, license, actor="staff:ann")
    records = [record_for(event.detail_type, event.detail) for event in events.published]
    assert failed_ids(notifier(batch(*records), LambdaContext(NOTIFIER))) == []
    (key_mail,) = inbox("found@buyer.test")
    assert license.display_key in key_mail["text"]


def test_without_staff_email_the_notifier_logs_and_sends_nothing(
    shop: Shop,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STAFF_EMAIL", raising=False)
    reset_settings()
    wiring.reset()
    session = s.checkout_session(invoice=None, email=None, name=None, metadata={"product": "crm-exporter"})
    shop.deliver("checkout.session.completed", session)
    records = [record_for(event.detail_type, event.detail) for event in shop.events.published]
    notifier = load_handler(NOTIFIER, ROOT)
    assert failed_ids(notifier(batch(*records), LambdaContext(NOTIFIER))) == []
    assert inbox() == []
