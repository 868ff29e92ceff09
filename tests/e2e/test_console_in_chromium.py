"""The staff console in a real headless Chromium, against `licensing console --local` next to the
running local system: a support shift (find by email, resend, move a site, extend, record a bank
payment), an account's contacts, the overview, a release with its announcement's progress, and an
import (dry run, then confirmed); axe-core on every screen finds no serious or
critical violation. Every screen is saved to `screenshots/` (git-ignored) to be looked at."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from licensing.adapters.dynamo import DynamoStore
from licensing.devserver.resources import LOCAL
from licensing.models import Suppression
from tests.browser.test_portal_in_chromium import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import ROOT, _free_port
from tests.e2e.conftest import LocalSystem, mails_to

LICENSING = Path(sys.executable).with_name("licensing")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "screenshots"
STAFF = "Dana Support"


def home(console_url: str) -> str:
    return console_url.split("login?")[0]


def cli(system: LocalSystem, *arguments: str) -> Any:
    result = subprocess.run(
        [str(LICENSING), "--local", "--aws-port", str(system.aws_port), "--json", "--yes", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def local_system(own_local_system: LocalSystem) -> LocalSystem:
    """A system of this module's own: it creates products and publishes releases, which the other
    e2e tests' demo catalogue must not see."""
    return own_local_system


@pytest.fixture(scope="module")
def console_url(local_system: LocalSystem, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`licensing console --local` on a free port; its printed one-time sign-in URL."""
    port = _free_port()
    log = tmp_path_factory.mktemp("console") / "console.log"
    environment = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"} | {"PYTHONUNBUFFERED": "1"}
    command = [str(LICENSING), "console", "--local", "--aws-port", str(local_system.aws_port)]
    with log.open("w") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port), "--no-browser", "--by", STAFF],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    found = None
    while found is None and time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"licensing console exited early:\n{log.read_text()}")
        found = re.search(r"(http://127\.0\.0\.1:\d+/login\?token=\S+)", log.read_text())
        time.sleep(0.2)
    if found is None:
        process.kill()
        pytest.fail(f"licensing console printed no link in 30 s:\n{log.read_text()}")
    yield found.group(1)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0
    printed = log.read_text()
    assert "Stopped." in printed and "Traceback" not in printed, printed
    assert printed.count("token=") == 1, "the token is printed once and never logged"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if shutil.which("chromium") is None:
        pytest.fail("Chromium is needed for the browser tests: apt-get install -y chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def staff(browser: Browser, console_url: str) -> Iterator[BrowserContext]:
    """The staff member's browser, signed in once with the printed one-time link."""
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(console_url)
    assert page.url.endswith("/") and "token" not in page.url  # the token left the address bar
    page.close()
    yield context
    context.close()


def check(page: Page, name: str) -> None:
    """The screen as a person sees it (a screenshot to look at) and as axe-core judges it."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"), full_page=True)
    page.evaluate(AXE.read_text())
    violations = page.evaluate(
        "async () => (await axe.run(document)).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    assert violations == [], f"{name}: {violations}"


def confirm(page: Page, question: str) -> None:
    """Every change asks first: the confirmation page says what will happen and who does it."""
    page.wait_for_selector("h1:has-text('Please confirm')")
    text = page.inner_text(".confirm")
    assert question in text and STAFF in text, text
    page.click("button:has-text('Confirm')")
    page.wait_for_selector("p.flash")


def test_a_support_shift_in_the_console(
    local_system: LocalSystem, staff: BrowserContext, console_url: str
) -> None:
    account = cli(local_system, "accounts", "create", "--name", "Globex Inc", "--email", "ops@globex.test")
    license = cli(
        local_system,
        *("licenses", "issue", "--account", account["id"], "--product", "crm-exporter"),
        *("--payment-method", "bank_transfer", "--payment-status", "pending"),
    )
    cli(local_system, "licenses", "sites", "add", license["id"], "https://old.globex.com/crm")
    mails_before = len(mails_to(local_system, "ops@globex.test"))

    page = staff.new_page()
    page.goto(home(console_url))
    check(page, "search")

    # Find it from what the customer wrote in: their email.
    page.fill("#email", "OPS@globex.test")
    page.click("button:has-text('Search')")
    page.wait_for_selector("h2:has-text('1 license found')")
    row = page.inner_text("tbody tr")
    assert license["key"] in row and "ACTIVE" in row and "1 of 3" in row
    check(page, "search-results")

    page.click(f"text={license['key']}")
    page.wait_for_selector("#license-key")
    assert page.inner_text("#license-key") == license["key"]
    assert "pending" in page.inner_text("th:has-text('Payment') + td")
    page.click("button:has-text('Copy key')")
    assert page.evaluate("navigator.clipboard.readText()") == license["key"]
    check(page, "license")

    # Resend the license mail.
    page.click("button:has-text('Resend license mail')")
    check(page, "confirm")
    confirm(page, "ops@globex.test")
    deadline = time.monotonic() + 30
    while len(mails_to(local_system, "ops@globex.test")) <= mails_before and time.monotonic() < deadline:
        time.sleep(0.3)
    assert len(mails_to(local_system, "ops@globex.test")) > mails_before

    # Move a site: the customer's CRM moved to a new host.
    page.click("button[aria-label='Remove old.globex.com']")
    confirm(page, "Deactivate old.globex.com")
    assert "old.globex.com is deactivated" in page.inner_text("p.flash")
    page.fill("#add-site", "https://new.globex.com/crm/")
    page.click("button:has-text('Add site')")
    confirm(page, "Activate https://new.globex.com/crm/")
    sites = page.inner_text("h2:has-text('Sites') + table")
    assert "new.globex.com" in sites and "old.globex.com" not in sites

    # Extend by a month of goodwill.
    ends = date.fromisoformat(license["ends_on"])
    page.fill("#extend-days", "30")
    page.click("button:has-text('Extend')")
    confirm(page, f"to {ends + timedelta(days=30)}")
    assert f"now ends on {ends + timedelta(days=30)}" in page.inner_text("p.flash")

    # The bank transfer arrived: the license becomes active.
    page.select_option("#billing-status", "paid")
    page.fill("#billing-invoice", "https://books.vendor.test/inv/2041")
    page.click("button:has-text('Record billing')")
    confirm(page, "payment paid")
    assert page.inner_text("td.status") == "ACTIVE"
    assert page.inner_text("th:has-text('Payment') + td").startswith("paid")
    history = page.inner_text("h2:has-text('History') + table")
    for action in (
        "payment received",
        "extended",
        "site activated",
        "site deactivated",
        "license mail resent",
    ):
        assert re.search(rf"{action}\s+staff:{STAFF}", history), (action, history)
    check(page, "license-after-shift")

    shown = cli(local_system, "licenses", "show", license["id"])
    assert shown["status"] == "ACTIVE" and shown["sites"] == ["new.globex.com"]
    assert shown["ends_on"] == (ends + timedelta(days=30)).isoformat()
    assert shown["invoice_url"] == "https://books.vendor.test/inv/2041"

    # The account: a new contact, with a name.
    page.click("text=Globex Inc")
    page.wait_for_selector("h1:has-text('Globex Inc')")
    page.fill("#contact-email", "finance@globex.test")
    page.fill("#contact-name", "Fay Finance")
    page.click("button:has-text('Add contact')")
    confirm(page, "finance@globex.test (Fay Finance)")
    assert "Fay Finance" in page.inner_text("h2:has-text('Contacts') + table")
    check(page, "account")

    # The new contact's address bounces for good (as the SES bounce worker records it).
    local_store = DynamoStore(
        LOCAL.table, boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{local_system.aws_port}")
    )
    local_store.set_suppression("finance@globex.test", Suppression(reason="bounce: General (5.1.1)"))

    page.click("nav >> text=Overview")
    page.wait_for_selector("h1:has-text('Overview')")
    assert license["key"] in page.inner_text("h2:has-text('Issued in the last 30 days') + table")
    assert "transactional" in page.inner_text("h2:has-text('Mails') + table")
    assert "1 address" in page.inner_text("a[href='/suppressed']")
    check(page, "overview")
    page.click("a[href='/activity/issued']")  # every license issued lately, a page at a time
    page.wait_for_selector("h1:has-text('Issued in the last 30 days')")
    assert license["key"] in page.inner_text("tbody")
    check(page, "issued")
    page.click("nav >> text=Overview")
    page.wait_for_selector("h1:has-text('Overview')")
    page.click("a[href='/suppressed']")
    page.wait_for_selector("h1:has-text('Suppressed addresses')")
    suppressed = page.inner_text("tbody tr:has-text('finance@globex.test')")
    assert "bounce: General (5.1.1)" in suppressed and "Globex Inc" in suppressed
    check(page, "suppressed")

    # The moved site and a part of the key, as a customer would quote them, find it too.
    page.click("nav >> text=Search")
    page.fill("#site", "https://NEW.globex.com/crm/settings")
    page.fill("#key", license["key"].split("-")[1].lower())
    page.click("button:has-text('Search')")
    page.wait_for_selector("h2:has-text('1 license found')")
    assert "CRM Exporter" in page.inner_text("tbody tr td:nth-child(3)")  # the product's name

    # A refused change says why, in the console's look, and changes nothing.
    page.goto(home(console_url) + f"licenses/{license['id']}")
    page.fill("#extend-days", "5")
    page.fill("#extend-ends", "2030-01-31")
    page.click("button:has-text('Extend')")
    assert "not both" in page.inner_text("p.problem")
    assert cli(local_system, "licenses", "show", license["id"])["ends_on"] == shown["ends_on"]
    check(page, "error")
    page.click("text=Back")
    page.wait_for_selector("#license-key")
    page.close()


def test_a_release_is_uploaded_previewed_published_and_announced(
    local_system: LocalSystem, console_url: str, staff: BrowserContext, tmp_path: Path
) -> None:
    account = cli(local_system, "accounts", "create", "--name", "Initech", "--email", "it@initech.test")
    cli(local_system, "licenses", "issue", "--account", account["id"], "--product", "crm-exporter")
    package = tmp_path / "crm-exporter-1.3.0.zip"
    package.write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip archive

    page = staff.new_page()
    page.goto(home(console_url))
    page.click("nav >> text=Products")
    page.wait_for_selector("h1:has-text('Products')")
    check(page, "products")

    # A new product, then a change to it: each confirmed, saying what it will be.
    page.fill("#new-slug", "pdf-merger")
    page.fill("#new-name", "PDF Merger")
    page.fill("#new-amount", "29.00")
    page.click("button:has-text('Create product')")
    confirm(
        page,
        "Create the product PDF Merger (pdf-merger, public): 12 months, 3 sites, 7 grace days, "
        "renewal 29.00 EUR",
    )
    assert "PDF Merger is created" in page.inner_text("p.flash")
    page.fill("#edit-sites", "5")
    page.click("button:has-text('Save changes')")
    confirm(page, "max_sites: 3 → 5")
    created = cli(local_system, "products", "show", "pdf-merger")
    assert (created["name"], created["max_sites"], created["kind"]) == ("PDF Merger", 5, "public")

    page.click("nav >> text=Products")
    page.click("text=CRM Exporter")
    page.wait_for_selector("h1:has-text('CRM Exporter')")
    check(page, "product")

    page.fill("#release-version", "1.3.0")
    page.set_input_files("#release-file", str(package))
    page.fill("#release-host", ">=8.0")
    page.fill("#release-notes", "## What's new\n\n- **Faster** export\n\n<script>alert(1)</script>")
    page.click("button:has-text('Preview and publish')")
    page.wait_for_selector("h1:has-text('Please confirm')")
    assert page.inner_text(".notes h2") == "What's new"
    assert page.inner_text(".notes strong") == "Faster"
    assert page.locator(".notes script").count() == 0  # as the portal shows notes: sanitized
    assert "crm-exporter-1.3.0.zip, 22 bytes, for hosts >=8.0" in page.inner_text(".confirm")
    check(page, "release-preview")
    assert "1.3.0" not in [r["version"] for r in cli(local_system, "releases", "list", "crm-exporter")]
    page.click("button:has-text('Confirm')")
    page.wait_for_selector("p.flash")
    assert "CRM Exporter 1.3.0 is published" in page.inner_text("p.flash")
    assert "1.3.0" in page.inner_text("h2:has-text('Releases') + table")

    (listed,) = [r for r in cli(local_system, "releases", "list", "crm-exporter") if r["version"] == "1.3.0"]
    assert listed["requires_host"] == ">=8.0" and listed["size"] == 22
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(
        "1.3.0" in mail["subject"] for mail in mails_to(local_system, "it@initech.test")
    ):
        time.sleep(0.3)
    assert any("1.3.0" in mail["subject"] for mail in mails_to(local_system, "it@initech.test"))

    # The announcement's progress, as `releases status` counts it, next to the release.
    status = cli(local_system, "releases", "status", "crm-exporter", "1.3.0")
    assert status["fanned_out"] and status["queued"] >= 1 and status["sent"] >= 1
    page.reload()
    row = page.inner_text("tr:has(td:text-is('1.3.0'))")
    assert f"queued {status['queued']} · sent {status['sent']}" in row and "every account queued" in row

    page.click("button[aria-label='Announce 1.3.0']")
    page.wait_for_selector("h1:has-text('Please confirm')")
    page.click("button:has-text('Confirm')")
    page.wait_for_selector("p.flash")
    assert "1.3.0 is announced" in page.inner_text("p.flash")
    assert "sent" in page.inner_text("tr:has(td:text-is('1.3.0'))")  # the progress, on the page after
    page.close()


def test_an_export_is_dry_run_then_imported(
    local_system: LocalSystem, console_url: str, staff: BrowserContext, tmp_path: Path
) -> None:
    sample = ROOT / "examples" / "import"
    export = tmp_path / "crm-licenses.csv"
    bad = (  # a product this system does not sell: refused, with its line
        "Latex for Vandelay,latex-importer,01.02.2026,01.02.2027,Active,Commercial,Vandelay,VAND-1,"
        ",,,,v@vandelay.test,,"
    )
    export.write_text(
        (sample / "crm-licenses.csv").read_text(encoding="utf-8").rstrip("\n") + "\n" + bad + "\n"
    )

    page = staff.new_page()
    page.goto(home(console_url))
    page.click("nav >> text=Import")
    page.wait_for_selector("h1:has-text('Import licenses')")
    check(page, "import")
    page.set_input_files("#import-file", str(export))
    page.set_input_files("#import-mapping", str(sample / "crm-mapping.json"))
    page.select_option("#import-dates", "DD.MM.YYYY")
    page.click("button:has-text('Dry run')")
    page.wait_for_selector("h1:has-text('Dry run of crm-licenses.csv')")
    assert "3 would be created, 0 unchanged, 1 refused (dry run: nothing written)" in page.inner_text("main")
    refused = page.inner_text("tr:has(td:text-is('refused'))")
    assert refused.startswith("5") and "no product 'latex-importer'" in refused, refused
    check(page, "import-report")
    assert not [
        r for r in cli(local_system, "licenses", "search", "--key", "GLBX-2026-0001")
    ]  # nothing written
    assert STAFF in page.inner_text(".confirm")
    page.click("button:has-text('Confirm')")
    page.wait_for_selector("h1:has-text('crm-licenses.csv imported')")
    assert "3 created, 0 unchanged, 1 refused" in page.inner_text("main")
    page.click("a:has-text('GLBX20260001AAAA')")
    page.wait_for_selector("h1")
    assert "imported" in page.inner_text("main") and f"staff:{STAFF}" in page.inner_text("main")
    page.close()
