"""The portal in a real headless Chromium: a customer signs in from the email link, sees their
licenses, opens one and reads its key, then signs out."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from licensing.adapters.dynamo import DynamoStore
from licensing.devserver.mailbox import Mailbox
from licensing.services.issuing import issue_licenses
from tests import factories
from tests.conftest import deliver_notifications

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# What this machine's closed network needs (FACTS.md): no background connections, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if shutil.which("chromium") is None:
        pytest.fail("Chromium is needed for the browser tests: apt-get install -y chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def site(served_gateway_url: str) -> str:
    return served_gateway_url


def test_a_customer_signs_in_and_finds_their_key(browser: Browser, site: str, aws: dict[str, Any]) -> None:
    store = DynamoStore(aws["names"].table)
    product = factories.product()
    store.put_product(product)
    account = factories.account("Acme Corp")
    store.create_account(account)
    store.add_contact(account.id, "bea@acme.test", "Bea")
    (license,) = issue_licenses(store, None, product=product, account=account, actor="t")

    page = browser.new_page()
    page.goto(f"{site}/portal/")
    assert page.url.endswith("/portal/login")
    page.fill("input[name=email]", "bea@acme.test")
    page.click("button[type=submit]")
    assert "Check your email" in page.content()

    deliver_notifications(aws)
    (mail,) = Mailbox().messages()
    link = re.search(r"(http://\S+/portal/auth\?token=\S+)", mail["text"])
    assert link is not None
    page.goto(link.group(1))
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{site}/portal/")
    assert page.is_visible(f"text={license.name}")
    assert page.inner_text("td.status") == "Valid"

    page.click(f"text={license.name}")
    assert page.inner_text("p.key") == license.display_key

    page.click("button:has-text('Sign out')")
    page.wait_for_url(f"{site}/portal/login")
    page.goto(f"{site}/portal/licenses/{license.id}")
    assert page.url.endswith(f"/portal/login?next=%2Fportal%2Flicenses%2F{license.id}")
