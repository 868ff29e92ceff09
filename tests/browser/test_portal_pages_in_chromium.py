"""Every portal page in a real headless Chromium, at a desktop (1280 px) and a phone (375 px)
width: no horizontal overflow, and axe-core (injected into the page) finds no serious or critical
accessibility violation. Forms are usable with the keyboard alone, with labelled fields."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from licensing.adapters.dynamo import DynamoStore
from licensing.adapters.s3 import S3Files
from licensing.devserver.mailbox import Mailbox
from tests.browser import portal_world
from tests.browser.test_portal_in_chromium import browser  # noqa: F401 (the shared fixture)
from tests.conftest import ROOT, deliver_notifications

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": 1280, "phone": 375}
BRAND = "rgb(29, 53, 87)"  # the header's #1d3557


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not AXE.is_file():
        pytest.fail("axe-core is missing: run `npm install` (make install does)")
    # Evaluated rather than added as a <script>: the pages' CSP allows no script, rightly.
    page.evaluate(AXE.read_text())
    results: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["html"][:120] for n in v["nodes"]]}
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def world(aws: dict[str, Any], served_gateway_url: str) -> portal_world.World:
    return portal_world.build(DynamoStore(aws["names"].table), S3Files(aws["names"].bucket))


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:  # noqa: F811 (uses the shared fixture)
    context = browser.new_context()
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_every_portal_page_is_accessible_and_fits_the_screen(
    page: Page, served_gateway_url: str, world: portal_world.World, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    problems: dict[str, Any] = {}
    for screen in portal_world.screens(world):
        portal_world.open_screen(page, served_gateway_url, screen, world)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        found = axe_violations(page)
        # The page's own style block applies under its CSP (by nonce): the header is dark blue.
        styled = page.eval_on_selector("header", "e => getComputedStyle(e).backgroundColor") == BRAND
        if overflow > 0 or found or not styled:
            problems[screen.name] = {"overflow_px": overflow, "axe": found, "styled": styled}
        assert page.locator("h1").count() == 1, screen.name
    assert problems == {}


def test_product_names_show_on_every_page(
    page: Page, served_gateway_url: str, world: portal_world.World
) -> None:
    for screen in portal_world.screens(world):
        if not screen.signed_in or screen.name == "not-found":
            continue
        portal_world.open_screen(page, served_gateway_url, screen, world)
        text = page.inner_text("main")
        # The slug may appear only inside a release's file name (pdf-merger-1.2.0.zip).
        assert not re.search(r"pdf-merger(?!-\d)|cloud-sync", text), screen.name


def test_signing_in_and_removing_a_site_work_with_the_keyboard_alone(
    page: Page, served_gateway_url: str, world: portal_world.World, aws: dict[str, Any]
) -> None:
    page.goto(f"{served_gateway_url}/portal/login")
    page.keyboard.press("Tab")  # the first stop is the labelled email field
    assert page.evaluate("document.activeElement.id") == "email"
    assert page.inner_text("label[for=email]") == "Email address"
    page.keyboard.type(portal_world.EMAIL)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Check your email" in page.inner_text("h1")
    deliver_notifications(aws)
    assert any(m["to"] == [portal_world.EMAIL] for m in Mailbox().messages())

    valid = world.licenses["valid"]
    screen = portal_world.Screen("license", f"/portal/licenses/{valid.id}")
    portal_world.open_screen(page, served_gateway_url, screen, world)
    page.focus("button[aria-label='Remove crm.globex-example.com']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.inner_text("h1") == "Remove crm.globex-example.com?"
    page.focus("button[type=submit]:has-text('Remove')")
    with page.expect_navigation(url=f"{served_gateway_url}/portal/licenses/{valid.id}"):
        page.keyboard.press("Enter")
    assert page.locator("button[aria-label='Remove crm.globex-example.com']").count() == 0
    assert "site deactivated: crm.globex-example.com" in page.inner_text("main")  # in its history
