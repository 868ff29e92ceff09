"""`make screenshots`: PNGs of every portal page (desktop 1280 px and phone 375 px) and of each mail
the local system sends, rendered in headless Chromium, written to `screenshots/` (git-ignored).

It starts the local system (`licensing dev`, in-process, on free ports), adds the customer of
`tests/browser/portal_world.py`, walks its pages, then makes the system send its mails (a
purchase, a sign-in, a release, reminders for one license and for several, and the expired mail,
by moving the local clock) and renders each one's HTML. Look at the PNGs before calling a page
done."""

from __future__ import annotations

import re
import sys
from datetime import date, timedelta
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "screenshots"
WIDTHS = {"desktop": 1280, "phone": 375}


def main() -> int:
    from licensing.adapters.dynamo import DynamoStore
    from licensing.adapters.events import EventBridgePublisher
    from licensing.adapters.s3 import S3Files
    from licensing.dates import today
    from licensing.devserver.checkout import checkout_completed_event, signed_body
    from licensing.devserver.server import DEFAULT_WEBHOOK_SECRET, DevServer
    from licensing.services.releases import publish_release, release_published_event
    from tests.browser import portal_world
    from tests.browser.test_portal_in_chromium import CHROMIUM, CHROMIUM_ARGS
    from tests.conftest import _free_port

    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.png"):
        old.unlink()
    server = DevServer(port=_free_port(), aws_port=_free_port()).start()
    try:
        store = DynamoStore(server.names.table)
        world = portal_world.build(store, S3Files(server.names.bucket))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_context().new_page()
            for label, width in WIDTHS.items():
                page.set_viewport_size({"width": width, "height": 900})
                for screen in portal_world.screens(world):
                    portal_world.open_screen(page, server.url, screen, world)
                    page.screenshot(path=str(OUT / f"portal-{screen.name}-{label}.png"), full_page=True)

            # The mails: a purchase, a release, reminders and the expired mail (the clock moves).
            event = checkout_completed_event(email="new.buyer@example.test", product="crm-exporter")
            body, header = signed_body(event, DEFAULT_WEBHOOK_SECRET)
            requests.post(
                f"{server.url}/webhooks/stripe", data=body, headers={"Stripe-Signature": header}, timeout=30
            ).raise_for_status()
            release = publish_release(
                store,
                S3Files(server.names.bucket),
                product="pdf-merger",
                version="1.3.0",
                filename="pdf-merger-1.3.0.zip",
                data=b"zip of 1.3.0",
                notes_markdown=portal_world.NOTES,
            )
            EventBridgePublisher(server.names.bus).publish([release_published_event(release)])
            ends_on = world.licenses["valid"].ends_on
            _several_due(store, ends_on)
            for day in (ends_on - timedelta(days=7), ends_on + timedelta(days=1)):
                requests.post(f"{server.url}/_dev/clock", json={"today": day.isoformat()}, timeout=120)
            requests.delete(f"{server.url}/_dev/clock", timeout=120)
            mails = _wait_for_mails(server.url, expected=9)
            seen: set[str] = set()
            # A page of its own: the portal pages' CSP (no inline styles) would otherwise still apply
            # to content set into the last portal page, and a mail is all inline styles.
            page = browser.new_page(viewport={"width": 720, "height": 900})
            for mail in mails:
                name = _slug(re.sub(r"\d+", "N", mail["subject"]))
                if name in seen:
                    continue
                seen.add(name)
                page.set_content(mail["html"])
                page.screenshot(path=str(OUT / f"mail-{name}.png"), full_page=True)
            browser.close()
        print(f"{len(list(OUT.glob('*.png')))} screenshots in {OUT} (today {today()})")
    finally:
        server.stop()
    return 0


def _several_due(store: object, ends_on: date) -> None:
    """A second customer with three licenses due a reminder on the same day as the portal world's
    (7 days before `ends_on`): two of one product at 7 days, one of the other at 30, in one mail."""
    from licensing.adapters.dynamo import DynamoStore
    from licensing.services.issuing import issue_licenses
    from tests import factories

    assert isinstance(store, DynamoStore)
    account = factories.account("Initech Ltd")
    store.create_account(account)
    store.add_contact(account.id, "peter@initech.test", "Peter Gibbons")
    for slug, ends, quantity in (("pdf-merger", ends_on, 2), ("cloud-sync", ends_on + timedelta(days=23), 1)):
        issue_licenses(
            store,
            None,
            product=store.require_product(slug),
            account=account,
            actor="screens",
            quantity=quantity,
            starts_on=ends - timedelta(days=365),
            ends_on=ends,
        )


def _wait_for_mails(url: str, expected: int) -> list[dict[str, str]]:
    import time

    deadline = time.monotonic() + 60
    while True:
        mails: list[dict[str, str]] = requests.get(f"{url}/_dev/mail.json", timeout=10).json()
        if len(mails) >= expected or time.monotonic() > deadline:
            time.sleep(2)  # let the notifier finish what it started
            return list(requests.get(f"{url}/_dev/mail.json", timeout=10).json())
        time.sleep(0.5)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


if __name__ == "__main__":
    sys.exit(main())
