"""The portal's pages as a customer reads them (API.md section 3): product names, never slugs; a
thank-you once a renewal is paid; each site's usage; every payment of the license."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from licensing.dates import add_months, utc_now
from licensing.models import Payment, PaymentStatus, Price, Site
from tests.integration.test_portal import CSRF, Portal


@pytest.fixture
def portal(aws: dict[str, Any], gateway_url: str) -> Portal:
    return Portal(aws, gateway_url)


def test_pages_show_the_product_name_never_the_slug(portal: Portal) -> None:
    portal.sign_in()
    for path in ("/portal/", f"/portal/licenses/{portal.license.id}", "/portal/preferences"):
        text = portal.get(path).text
        assert "CRM Exporter" in text, path
        # The slug appears in links and form values only, never as words on the page.
        assert ">crm-exporter<" not in text and " crm-exporter<" not in text and "of crm-exporter" not in text


def test_after_paying_a_renewal_the_license_page_says_thank_you(portal: Portal) -> None:
    portal.store.put_product(portal.product.model_copy(update={"renewal_price": Price(amount=4900)}))
    portal.sign_in()
    page = portal.get(f"/portal/licenses/{portal.license.id}/renew")
    checkout = portal.post(
        f"/portal/licenses/{portal.license.id}/renew",
        {"csrf": CSRF.findall(page.text)[0]},
        allow_redirects=False,
    )
    back = parse_qs(urlsplit(checkout.headers["Location"]).query)["return_url"][0]
    back_path = urlsplit(back).path + "?" + urlsplit(back).query
    waiting = portal.get(back_path).text  # Stripe returned the customer before its webhook arrived
    assert "payment is being confirmed" in waiting and "now runs until" not in waiting
    new_end = add_months(portal.license.ends_on, 12)
    portal.store.save_license(
        portal.store.require_license(portal.license.id).model_copy(update={"ends_on": new_end})
    )
    thanked = portal.get(back_path).text
    assert f"Thank you for renewing: your license now runs until <strong>{new_end}</strong>" in thanked
    plain = portal.get(f"/portal/licenses/{portal.license.id}").text
    assert "Thank you" not in plain


def test_the_license_page_shows_each_sites_usage(portal: Portal) -> None:
    seen = Site(host="shop.example.com", last_seen_on=date(2026, 11, 30), version="1.2.0")
    fresh = Site(host="new.example.com")
    license = portal.store.require_license(portal.license.id)
    portal.store.save_license(license.model_copy(update={"sites": {seen.host: seen, fresh.host: fresh}}))
    portal.sign_in()
    page = portal.get(f"/portal/licenses/{portal.license.id}").text
    assert "2026-11-30" in page and "Extension 1.2.0" in page
    assert "Not yet" in page  # the site that has not called since its activation


def test_the_license_page_lists_every_payment(portal: Portal) -> None:
    license = portal.store.require_license(portal.license.id)
    renewal = Payment(
        at=utc_now().date() - timedelta(days=3),
        amount=4900,
        currency="eur",
        method="bank_transfer",
        status=PaymentStatus.PAID,
        invoice_url="https://invoices.example/R-2",
    )
    refunded = Payment(at=utc_now().date(), amount=1000, currency="eur", status=PaymentStatus.REFUNDED)
    portal.store.save_license(license.model_copy(update={"payments": [renewal, refunded]}))
    portal.sign_in()
    page = portal.get(f"/portal/licenses/{portal.license.id}").text
    assert "49.00 EUR" in page and "Bank transfer" in page and "https://invoices.example/R-2" in page
    assert "10.00 EUR" in page and "Refunded" in page
    assert page.count('<td data-label="For">') == 3  # the purchase and both payments


def test_every_page_forbids_scripts_framing_referrers_and_caching(portal: Portal) -> None:
    """Pages show license keys and carry sign-in tokens: no script may run, no other site may frame
    them or learn their address, and no cache keeps them. The style block is allowed by a nonce
    that changes with every answer."""
    answers = [portal.get("/portal/login"), portal.get("/portal/no-such-page")]
    portal.sign_in()
    answers += [portal.get("/portal/"), portal.get(f"/portal/licenses/{portal.license.id}")]
    nonces = set()
    for answer in answers:
        policy = answer.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy, answer.url
        assert "script-src" not in policy  # default-src 'none' covers scripts: none at all
        nonce = policy.split("'nonce-")[1].split("'")[0]
        assert f'<style nonce="{nonce}">' in answer.text, answer.url
        nonces.add(nonce)
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert "style=" not in answer.text  # an inline style attribute would need 'unsafe-inline'
    assert len(nonces) == len(answers)
    assert 'class="key"' in answers[-1].text  # the license page shows its key
