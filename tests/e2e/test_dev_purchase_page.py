"""`/_dev/checkout` without a renewal's parameters: the local stand-in for a new purchase from the
vendor's website (choose a product, enter an email, pay: the signed webhook, the license mail)."""

from __future__ import annotations

import requests

from tests.e2e.conftest import LocalSystem, mails_to

BUYER = "website.buyer@example.test"


def test_a_purchase_from_the_stand_in_website_mails_the_license(local_system: LocalSystem) -> None:
    page = requests.get(f"{local_system.url}/_dev/checkout", timeout=10)
    assert page.status_code == 200 and "Buy a license" in page.text
    assert '<option value="crm-exporter"' in page.text and ">CRM Exporter<" in page.text
    assert "acme-sales-automation" not in page.text  # a custom deal is nobody's to buy
    assert "Pay 0.00" not in page.text and '<label for="email">' in page.text
    paid = requests.post(
        f"{local_system.url}/_dev/checkout",
        data={"product": "crm-exporter", "email": BUYER, "company": "Website GmbH"},
        timeout=30,
    )
    assert paid.status_code == 200 and "one CRM Exporter license" in paid.text and "/_dev/mail" in paid.text
    (mail,) = mails_to(local_system, BUYER)
    assert "CRM Exporter" in str(mail["subject"]) and "/portal/auth?token=" in str(mail["text"])


def test_a_bad_purchase_is_refused_and_sends_nothing(local_system: LocalSystem) -> None:
    for form, message in [
        ({"product": "crm-exporter", "email": "not an email"}, "Enter an email address."),
        ({"product": "acme-sales-automation", "email": "x@example.test"}, "Choose one of the products."),
        ({"product": "no-such-thing", "email": "x@example.test"}, "Choose one of the products."),
    ]:
        answer = requests.post(f"{local_system.url}/_dev/checkout", data=form, timeout=30)
        assert answer.status_code == 400 and message in answer.text
    assert mails_to(local_system, "x@example.test", wait_seconds=2) == []
