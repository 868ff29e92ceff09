"""A product without an online renewal price (a custom deal) offers "Request renewal": the vendor's
staff (STAFF_EMAIL) are mailed, and the customer is told what happens next (API.md section 3)."""

from __future__ import annotations

from typing import Any

import pytest

from licensing.devserver.mailbox import Mailbox
from tests.integration.test_portal import CSRF, Portal


@pytest.fixture
def portal(aws: dict[str, Any], gateway_url: str) -> Portal:
    portal = Portal(aws, gateway_url)
    portal.store.put_product(
        portal.product.model_copy(update={"stripe_price_ids": [], "renewal_price": None})
    )
    return portal


def test_requesting_a_renewal_mails_the_staff_once_and_tells_the_customer(portal: Portal) -> None:
    portal.sign_in()
    portal.deliver_mail()
    before = len(Mailbox().messages())
    page = portal.get(f"/portal/licenses/{portal.license.id}/renew")
    assert "Request renewal" in page.text and "Renew and pay" not in page.text
    for _ in range(2):  # asking twice the same day mails the staff once
        answer = portal.post(
            f"/portal/licenses/{portal.license.id}/renew", {"csrf": CSRF.findall(page.text)[0]}
        )
        assert answer.status_code == 200 and "Renewal requested" in answer.text
        assert "What happens next" in answer.text and "bea@acme.test" in answer.text
    portal.deliver_mail()
    (mail,) = Mailbox().messages()[before:]
    assert mail["to"] == ["staff@vendor.test"]
    assert mail["subject"] == f"Renewal requested: {portal.license.name}"
    assert "bea@acme.test of Acme Corp" in mail["text"] and portal.license.id in mail["text"]
    assert f"licensing licenses renew {portal.license.id}" in mail["text"]
    assert portal.license.key not in mail["text"]  # staff look it up; the key stays out of mail
    assert portal.store.require_license(portal.license.id).ends_on == portal.license.ends_on


def test_a_request_needs_the_pages_csrf_token(portal: Portal) -> None:
    portal.sign_in()
    portal.deliver_mail()
    before = len(Mailbox().messages())
    refused = portal.post(f"/portal/licenses/{portal.license.id}/renew", {"csrf": "forged"})
    assert refused.status_code == 400
    portal.deliver_mail()
    assert len(Mailbox().messages()) == before
