"""A customer with a year's worth of licenses, and every portal page they can reach: shared by the
browser tests and `make screenshots`, so that what is checked is what is looked at."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from playwright.sync_api import Page

from licensing.adapters.dynamo import keys
from licensing.dates import today
from licensing.models import Payment, Price, Product, Site
from licensing.services.issuing import issue_licenses
from licensing.services.releases import publish_release
from licensing.sessions import SIGN_IN_PURPOSE
from tests import factories

EMAIL = "bea@globex.test"
NOTES = "### New\n\n- Export to **Excel** and CSV\n- Faster sync\n\n### Fixed\n\n- Dates in the `de` locale"


@dataclass
class World:
    licenses: dict[str, Any] = field(default_factory=dict)
    session: str = ""
    signin_token: str = ""


def build(store: Any, files: Any) -> World:
    """Two products (keep_working with a renewal price; stop, a custom deal without one), a
    license in term with sites and payments, one expired, one in its grace period."""
    merger = Product(slug="pdf-merger", name="PDF Merger", renewal_price=Price(amount=4900), grace_days=7)
    service = factories.product(
        "cloud-sync", name="Cloud Sync Service", on_expiry="stop", stripe_price_ids=[]
    )
    for product in (merger, service):
        store.put_product(product)
    for version, days_ago in (("1.0.0", 400), ("1.1.0", 100), ("1.2.0", 0)):
        release = publish_release(
            store,
            files,
            product="pdf-merger",
            version=version,
            filename=f"pdf-merger-{version}.zip",
            data=f"zip of {version}".encode(),
            notes_markdown=NOTES,
        )
        if days_ago:  # published earlier: moved back in place of the record just written
            key = keys.release("pdf-merger", version).as_item()
            store.dynamodb.delete_item(TableName=store.table_name, Key={k: {"S": v} for k, v in key.items()})
            store.put_release(
                release.model_copy(update={"published_at": release.published_at - timedelta(days=days_ago)})
            )
    account = factories.account("Globex GmbH")
    store.create_account(account)
    store.add_contact(account.id, EMAIL, "Bea Miller")
    world = World()

    def issue(product: Product, ends_in: int, **changes: Any) -> Any:
        (license,) = issue_licenses(
            store,
            None,
            product=product,
            account=account,
            actor="screens",
            starts_on=today() + timedelta(days=ends_in - 365),
            ends_on=today() + timedelta(days=ends_in),
        )
        return store.save_license(license.model_copy(update=changes)) if changes else license

    sites = {
        "shop.globex-example.com": Site(
            host="shop.globex-example.com", last_seen_on=today() - timedelta(days=1), version="1.2.0"
        ),
        "crm.globex-example.com": Site(host="crm.globex-example.com"),
        "localhost": Site(host="localhost", counted=False, version="1.2.0"),
    }
    payments = [
        Payment(
            at=today() - timedelta(days=40),
            amount=4900,
            currency="eur",
            method="bank_transfer",
            invoice_url="https://invoices.example/R-1042",
        ),
    ]
    world.licenses["valid"] = issue(merger, 200, sites=sites, payments=payments)
    world.licenses["expired"] = issue(merger, -30)
    world.licenses["grace"] = issue(service, -2)
    world.session = store.create_session(EMAIL)
    world.signin_token = store.create_token(EMAIL, purpose=SIGN_IN_PURPOSE, lifetime=timedelta(minutes=15))
    return world


@dataclass(frozen=True)
class Screen:
    name: str
    path: str
    signed_in: bool = True
    # Steps after loading the path (a form to submit), on the loaded page.
    then: Any = None


def _submit_login(page: Page) -> None:
    page.fill("#email", EMAIL)
    with page.expect_navigation():
        page.click("button[type=submit]")


def _ask_to_remove(page: Page) -> None:
    with page.expect_navigation():
        page.click("button[aria-label='Remove crm.globex-example.com']")


def _request_renewal(page: Page) -> None:
    with page.expect_navigation():
        page.click("button:has-text('Request renewal')")


def screens(world: World) -> list[Screen]:
    valid, expired, grace = (world.licenses[name].id for name in ("valid", "expired", "grace"))
    return [
        Screen("login", "/portal/login", signed_in=False),
        Screen("login-next", f"/portal/licenses/{valid}/renew", signed_in=False),
        Screen("check-email", "/portal/login", signed_in=False, then=_submit_login),
        Screen("auth", f"/portal/auth?token={world.signin_token}", signed_in=False),
        Screen("licenses", "/portal/"),
        Screen("license", f"/portal/licenses/{valid}"),
        Screen("license-expired", f"/portal/licenses/{expired}"),
        Screen("license-grace-stop", f"/portal/licenses/{grace}"),
        Screen("license-renewed", f"/portal/licenses/{valid}?renewed_from={today().isoformat()}"),
        Screen("confirm-remove", f"/portal/licenses/{valid}", then=_ask_to_remove),
        Screen("product", "/portal/products/pdf-merger"),
        Screen("renew", f"/portal/licenses/{valid}/renew"),
        Screen("renew-expired", f"/portal/licenses/{expired}/renew"),
        Screen("renew-request", f"/portal/licenses/{grace}/renew"),
        Screen("renewal-requested", f"/portal/licenses/{grace}/renew", then=_request_renewal),
        Screen("preferences", "/portal/preferences"),
        Screen("not-found", "/portal/licenses/lic_nobody"),
    ]


def open_screen(page: Page, base_url: str, screen: Screen, world: World) -> None:
    page.context.clear_cookies()
    if screen.signed_in:
        host = base_url.split("://", 1)[1].split(":")[0]
        page.context.add_cookies(
            [{"name": "lm_session", "value": world.session, "domain": host, "path": "/"}]
        )
    page.goto(f"{base_url}{screen.path}")
    if screen.then is not None:
        screen.then(page)
