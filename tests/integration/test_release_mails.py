"""A published release reaches every account with an active license of its product, once, with a
one-click unsubscribe that works without signing in; a custom product's release reaches its one
client only."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from licensing import catalogue
from licensing.adapters.dynamo import DynamoStore
from licensing.adapters.events import EventBridgePublisher
from licensing.adapters.s3 import S3Files
from licensing.devserver.functions import invoker
from licensing.devserver.mailbox import Mailbox
from licensing.models import Account, LicenseStatus, LicenseType, Product
from licensing.services.issuing import issue_licenses
from licensing.services.releases import publish_release, release_published_event
from tests import factories
from tests.conftest import ROOT, deliver_notifications

NOTES = "### New\n\n- Excel export\n\n<script>alert('x')</script>"


class Shop:
    def __init__(self, aws: dict[str, Any], url: str) -> None:
        self.aws = aws
        self.url = url
        self.store = DynamoStore(aws["names"].table)
        self.events = EventBridgePublisher(aws["names"].bus)
        self.invoke = invoker(catalogue.FUNCTIONS, ROOT)

    def account(self, name: str, *emails: str) -> Account:
        account = factories.account(name)
        self.store.create_account(account)
        for email in emails:
            self.store.add_contact(account.id, email)
        return account

    def product(self, slug: str = "crm-exporter", **changes: Any) -> Product:
        product = factories.product(slug, **changes)
        self.store.put_product(product)
        return product

    def license(self, product: Product, account: Account, **changes: Any) -> None:
        kind = LicenseType.CUSTOM if product.custom else LicenseType.COMMERCIAL
        (license,) = issue_licenses(
            self.store, None, product=product, account=account, actor="t", license_type=kind
        )
        if changes:
            self.store.save_license(license.model_copy(update=changes))

    def publish(self, product: str, version: str) -> None:
        release = publish_release(
            self.store,
            S3Files(self.aws["names"].bucket),
            product=product,
            version=version,
            filename=f"{product}-{version}.zip",
            data=b"zip",
            notes_markdown=NOTES,
        )
        self.events.publish([release_published_event(release)])

    def deliver(self) -> None:
        deliver_notifications(self.aws)


@pytest.fixture
def shop(aws: dict[str, Any], gateway_url: str) -> Shop:
    return Shop(aws, gateway_url)


def test_every_account_with_an_active_license_hears_once(shop: Shop) -> None:
    crm = shop.product()
    globex = shop.account("Globex", "a@globex.test", "b@globex.test")
    initech = shop.account("Initech", "c@initech.test")
    lapsed = shop.account("Lapsed", "d@lapsed.test")
    other = shop.account("Other", "e@other.test")
    shop.license(crm, globex)
    shop.license(crm, globex)  # two licenses, one account: one email per contact
    shop.license(crm, initech)
    shop.license(crm, lapsed, status=LicenseStatus.EXPIRED, ends_on=date(2025, 1, 1))
    shop.license(shop.product("other-product"), other)
    shop.publish("crm-exporter", "1.3.0")
    shop.deliver()
    mails = Mailbox().messages()
    assert sorted(mail["to"][0] for mail in mails) == ["a@globex.test", "b@globex.test", "c@initech.test"]
    mail = mails[0]
    assert mail["subject"] == "CRM Exporter 1.3.0 is available"
    assert "<h3>New</h3>" in mail["html"] and "Excel export" in mail["html"]
    assert "<script>" not in mail["html"]
    # The text part reads as text: no Markdown marks, list items with a dash.
    assert "New\n\n- Excel export" in mail["text"] and "###" not in mail["text"]
    assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["headers"]["List-Unsubscribe"].startswith(f"<{shop.url}/unsubscribe?token=")


def test_a_redelivered_release_event_mails_nobody_twice(shop: Shop) -> None:
    crm = shop.product()
    shop.license(crm, shop.account("Globex", "a@globex.test"))
    release = publish_release(
        shop.store,
        S3Files(shop.aws["names"].bucket),
        product="crm-exporter",
        version="2.0.0",
        filename="x.zip",
        data=b"zip",
    )
    shop.events.publish([release_published_event(release), release_published_event(release)])
    shop.deliver()
    assert [mail["to"] for mail in Mailbox().messages()] == [["a@globex.test"]]


def test_a_custom_products_release_reaches_its_client_only(shop: Shop) -> None:
    acme = shop.account("Acme Corp", "buyer@acme.test")
    globex = shop.account("Globex", "a@globex.test")
    custom = shop.product("acme-sales-automation", kind="custom", owner_account_id=acme.id)
    shop.license(custom, acme)
    shop.license(shop.product(), globex)
    shop.publish("acme-sales-automation", "1.1.0")
    shop.deliver()
    assert [mail["to"] for mail in Mailbox().messages()] == [["buyer@acme.test"]]


def test_one_click_unsubscribe_stops_that_products_release_mails(shop: Shop) -> None:
    crm = shop.product()
    globex = shop.account("Globex", "a@globex.test", "b@globex.test")
    shop.license(crm, globex)
    shop.publish("crm-exporter", "1.3.0")
    shop.deliver()
    (mail,) = [m for m in Mailbox().messages() if m["to"] == ["a@globex.test"]]
    link = mail["headers"]["List-Unsubscribe"].strip("<>")
    page = requests.get(link, timeout=10)  # a mail scanner following the link changes nothing
    assert page.status_code == 200 and "Stop release emails?" in page.text
    contact = shop.store.get_contact("a@globex.test")
    assert contact is not None and contact.release_mail_opt_out == []
    done = requests.post(
        link,
        data="List-Unsubscribe=One-Click",
        timeout=10,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    shop.publish("crm-exporter", "1.4.0")
    shop.deliver()
    latest = [m["to"][0] for m in Mailbox().messages() if "1.4.0" in m["subject"]]
    assert latest == ["b@globex.test"]


def test_a_forged_unsubscribe_link_is_refused_and_changes_nothing(shop: Shop) -> None:
    crm = shop.product()
    shop.license(crm, shop.account("Globex", "a@globex.test"))
    shop.publish("crm-exporter", "1.3.0")
    shop.deliver()
    (mail,) = Mailbox().messages()
    token = parse_qs(urlparse(mail["headers"]["List-Unsubscribe"].strip("<>")).query)["token"][0]
    payload, signature = token.split(".")
    forged = f"{payload[:-2]}xx.{signature}"
    answer = requests.post(f"{shop.url}/unsubscribe", data={"token": forged}, timeout=10)
    # A page in the portal's look, not JSON.
    assert answer.status_code == 400 and answer.headers["Content-Type"].startswith("text/html")
    assert "This unsubscribe link is not valid." in answer.text
    contact = shop.store.get_contact("a@globex.test")
    assert contact is not None and contact.release_mail_opt_out == []


def test_release_mails_are_turned_off_and_on_per_product(shop: Shop) -> None:
    shop.account("Globex", "a@globex.test")
    assert shop.store.set_release_mails("a@globex.test", "crm-exporter", enabled=False) is True
    assert shop.store.set_release_mails("a@globex.test", "pdf-merger", enabled=False) is True
    contact = shop.store.get_contact("a@globex.test")
    assert contact is not None and contact.release_mail_opt_out == ["crm-exporter", "pdf-merger"]
    assert shop.store.set_release_mails("nobody@x.test", "crm-exporter", enabled=False) is False
    shop.store.set_release_mails("a@globex.test", "crm-exporter", enabled=True)
    contact = shop.store.get_contact("a@globex.test")
    assert contact is not None and contact.release_mail_opt_out == ["pdf-merger"]


def test_a_contact_of_two_licensed_accounts_is_mailed_once(shop: Shop) -> None:
    crm = shop.product()
    shop.license(crm, shop.account("Globex", "shared@consultant.test"))
    shop.license(crm, shop.account("Initech", "shared@consultant.test"))
    shop.publish("crm-exporter", "1.3.0")
    shop.deliver()
    assert [mail["to"] for mail in Mailbox().messages()] == [["shared@consultant.test"]]
