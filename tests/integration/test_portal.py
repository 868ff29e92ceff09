"""The customer portal through the local gateway, as a browser would use it (cookies kept,
redirects followed): passwordless sign-in, sessions, CSRF, the customer's licenses and downloads,
and nothing of another account's."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import boto3
import pytest
import requests

from licensing.adapters.dynamo import DynamoStore
from licensing.adapters.s3 import S3Files
from licensing.dates import utc_now
from licensing.devserver.mailbox import Mailbox
from licensing.services.issuing import issue_licenses
from licensing.services.releases import publish_release
from licensing.sessions import SIGN_IN_PURPOSE
from tests import factories
from tests.conftest import deliver_notifications

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TOKEN = re.compile(r"/portal/auth\?token=([A-Za-z0-9_\-]+)")


class Portal:
    def __init__(self, aws: dict[str, Any], url: str) -> None:
        self.aws = aws
        self.url = url
        self.store = DynamoStore(aws["names"].table)
        self.product = factories.product(description="Export your CRM.")
        self.store.put_product(self.product)
        self.account = factories.account("Acme Corp")
        self.store.create_account(self.account)
        self.store.add_contact(self.account.id, "bea@acme.test", "Bea")
        (self.license,) = issue_licenses(
            self.store, None, product=self.product, account=self.account, actor="t"
        )
        self.browser = requests.Session()

    def get(self, path: str, **options: Any) -> requests.Response:
        return self.browser.get(f"{self.url}{path}", timeout=20, **options)

    def post(self, path: str, data: dict[str, str], **options: Any) -> requests.Response:
        return self.browser.post(f"{self.url}{path}", data=data, timeout=20, **options)

    def deliver_mail(self) -> None:
        deliver_notifications(self.aws)

    def sign_in(self, email: str = "bea@acme.test") -> requests.Response:
        page = self.get("/portal/login")
        self.post("/portal/login", {"email": email, "csrf": CSRF.findall(page.text)[0]})
        self.deliver_mail()
        (mail,) = [m for m in Mailbox().messages() if m["to"] == [email]][-1:]
        token = TOKEN.findall(mail["text"])[0]
        button = self.get(f"/portal/auth?token={token}")
        return self.post("/portal/auth", {"token": token, "csrf": CSRF.findall(button.text)[0]})


@pytest.fixture
def portal(aws: dict[str, Any], gateway_url: str) -> Portal:
    return Portal(aws, gateway_url)


def test_sign_in_by_email_link_shows_the_customers_licenses(portal: Portal) -> None:
    home = portal.sign_in()
    assert home.status_code == 200 and home.url.endswith("/portal/")
    assert "Your licenses" in home.text and portal.license.name in home.text and "VALID" in home.text
    cookie = next(c for c in portal.browser.cookies if c.name == "lm_session")
    assert cookie.has_nonstandard_attr("HttpOnly") and not cookie.secure
    detail = portal.get(f"/portal/licenses/{portal.license.id}")
    assert portal.license.display_key in detail.text and "0 of 3 production sites" in detail.text


def page_text(answer: requests.Response, email: str) -> str:
    """The page but for the address and the style block's nonce (new in every answer): what tells
    one answer from another."""
    return re.sub(r'nonce="[^"]+"', "", answer.text.replace(email, "X"))


def test_the_login_answer_is_the_same_for_unknown_emails(portal: Portal) -> None:
    page = portal.get("/portal/login")
    csrf = CSRF.findall(page.text)[0]
    known = portal.post("/portal/login", {"email": "bea@acme.test", "csrf": csrf})
    unknown = portal.post("/portal/login", {"email": "nobody@nowhere.test", "csrf": csrf})
    assert known.status_code == unknown.status_code == 200
    assert page_text(known, "bea@acme.test") == page_text(unknown, "nobody@nowhere.test")
    portal.deliver_mail()
    assert [m["to"] for m in Mailbox().messages()] == [["bea@acme.test"]]


def test_a_sign_in_link_works_once_and_following_it_uses_nothing(portal: Portal) -> None:
    token = portal.store.create_token(
        "bea@acme.test", purpose=SIGN_IN_PURPOSE, lifetime=timedelta(minutes=15)
    )
    for _ in range(2):  # a mail scanner, then the customer
        assert portal.get(f"/portal/auth?token={token}").status_code == 200
    csrf = CSRF.findall(portal.get(f"/portal/auth?token={token}").text)[0]
    assert portal.post("/portal/auth", {"token": token, "csrf": csrf}).status_code == 200
    other = requests.Session()
    page = other.get(f"{portal.url}/portal/auth?token={token}", timeout=10)
    again = other.post(
        f"{portal.url}/portal/auth", data={"token": token, "csrf": CSRF.findall(page.text)[0]}, timeout=10
    )
    assert again.status_code == 400 and "expired" in again.text


def test_posts_without_the_pages_csrf_token_are_refused(portal: Portal) -> None:
    portal.get("/portal/login")
    refused = portal.post("/portal/login", {"email": "bea@acme.test", "csrf": "forged"})
    assert refused.status_code == 400
    portal.sign_in()
    assert portal.post("/portal/logout", {"csrf": "forged"}).status_code == 400
    assert portal.get("/portal/").url.endswith("/portal/")  # still signed in


def test_signed_out_pages_go_to_the_login_and_logout_ends_the_session(portal: Portal) -> None:
    assert portal.get("/portal/").url.endswith("/portal/login")
    home = portal.sign_in()
    session = next(str(c.value) for c in portal.browser.cookies if c.name == "lm_session")
    out = portal.post("/portal/logout", {"csrf": CSRF.findall(home.text)[0]})
    assert out.url.endswith("/portal/login")
    stolen = requests.get(f"{portal.url}/portal/", cookies={"lm_session": session}, timeout=10)
    assert stolen.url.endswith("/portal/login")


def test_an_idle_session_expires(portal: Portal) -> None:
    portal.sign_in()
    session = next(str(c.value) for c in portal.browser.cookies if c.name == "lm_session")
    from licensing.adapters.dynamo import hash_token

    idle = (utc_now() - timedelta(minutes=31)).isoformat()
    boto3.client("dynamodb").update_item(
        TableName=portal.aws["names"].table,
        Key={"pk": {"S": f"SESSION#{hash_token(session)}"}, "sk": {"S": "SESSION"}},
        UpdateExpression="SET last_seen_at = :idle",
        ExpressionAttributeValues={":idle": {"S": idle}},
    )
    assert portal.get("/portal/").url.endswith("/portal/login")


def test_another_accounts_license_and_product_are_not_found(portal: Portal) -> None:
    other_account = factories.account("Globex")
    portal.store.create_account(other_account)
    custom = factories.product("globex-custom", kind="custom", owner_account_id=other_account.id)
    portal.store.put_product(custom)
    (theirs,) = issue_licenses(portal.store, None, product=custom, account=other_account, actor="t")
    portal.sign_in()
    assert portal.get(f"/portal/licenses/{theirs.id}").status_code == 404
    assert portal.get("/portal/products/globex-custom").status_code == 404


def test_a_removed_contact_loses_access_at_the_next_request(portal: Portal) -> None:
    portal.sign_in()
    boto3.client("dynamodb").update_item(
        TableName=portal.aws["names"].table,
        Key={"pk": {"S": "CONTACT#bea@acme.test"}, "sk": {"S": "CONTACT"}},
        UpdateExpression="REMOVE account_ids",
    )
    assert portal.get("/portal/").url.endswith("/portal/login")


def publish(portal: Portal, version: str, notes: str) -> None:
    publish_release(
        portal.store,
        S3Files(portal.aws["names"].bucket),
        product="crm-exporter",
        version=version,
        filename=f"crm-exporter-{version}.zip",
        data=f"zip {version}".encode(),
        notes_markdown=notes,
    )


def test_every_version_with_its_notes_and_a_working_download(portal: Portal) -> None:
    publish(portal, "1.0.0", "First release")
    publish(portal, "1.1.0", "### New\n\n- **Excel** export")
    portal.sign_in()
    page = portal.get("/portal/products/crm-exporter")
    assert page.text.index("1.1.0") < page.text.index("1.0.0")
    assert "<strong>Excel</strong>" in page.text
    download = portal.get("/portal/products/crm-exporter/releases/1.1.0/download", allow_redirects=False)
    assert download.status_code == 303 and "X-Amz-Expires=300" in download.headers["Location"]
    assert requests.get(download.headers["Location"], timeout=10).content == b"zip 1.1.0"


def test_an_expired_license_downloads_only_what_it_paid_for(portal: Portal) -> None:
    publish(portal, "1.0.0", "Old")
    _age(portal, "1.0.0", days=60)
    publish(portal, "2.0.0", "New")
    license = portal.store.require_license(portal.license.id)
    portal.store.save_license(license.model_copy(update={"ends_on": utc_now().date() - timedelta(days=30)}))
    portal.sign_in()
    old = portal.get("/portal/products/crm-exporter/releases/1.0.0/download", allow_redirects=False)
    new = portal.get("/portal/products/crm-exporter/releases/2.0.0/download", allow_redirects=False)
    assert (old.status_code, new.status_code) == (303, 404)
    assert "renew to download it" in portal.get("/portal/products/crm-exporter").text


def _age(portal: Portal, version: str, *, days: int) -> None:
    release = portal.store.get_release("crm-exporter", version)
    assert release is not None
    moved = release.model_copy(update={"published_at": utc_now() - timedelta(days=days)})
    from licensing.versions import version_sort_key

    boto3.client("dynamodb").delete_item(
        TableName=portal.aws["names"].table,
        Key={"pk": {"S": "PRODUCT#crm-exporter"}, "sk": {"S": f"RELEASE#{version_sort_key(version)}"}},
    )
    portal.store.put_release(moved)


def test_a_site_is_deactivated_from_the_license_page(portal: Portal) -> None:
    from licensing.services.validation import activate

    activate(
        portal.store, key=portal.license.key, site="old.example.com", product=None, today=utc_now().date()
    )
    portal.sign_in()
    page = portal.get(f"/portal/licenses/{portal.license.id}")
    assert "old.example.com" in page.text and "1 of 3 production sites" in page.text
    csrf = CSRF.findall(page.text)[0]
    action = f"/portal/licenses/{portal.license.id}/sites/deactivate"
    confirm = portal.post(action, {"site": "old.example.com", "csrf": csrf})  # asks first
    assert confirm.status_code == 200 and "Remove old.example.com?" in confirm.text
    assert "old.example.com" in portal.store.require_license(portal.license.id).sites
    after = portal.post(
        action, {"site": "old.example.com", "csrf": CSRF.findall(confirm.text)[0], "confirm": "yes"}
    )
    assert after.status_code == 200 and "0 of 3 production sites" in after.text
    assert portal.store.require_license(portal.license.id).sites == {}


def test_the_renewal_page_and_button_lead_to_checkout(portal: Portal) -> None:
    from licensing.dates import add_months
    from licensing.models import Price

    portal.store.put_product(
        portal.product.model_copy(update={"renewal_price": Price(amount=4900, currency="eur")})
    )
    portal.sign_in()
    page = portal.get(f"/portal/licenses/{portal.license.id}/renew")
    assert str(add_months(portal.license.ends_on, 12)) in page.text and "49.00 EUR" in page.text
    answer = portal.post(
        f"/portal/licenses/{portal.license.id}/renew",
        {"csrf": CSRF.findall(page.text)[0]},
        allow_redirects=False,
    )
    assert answer.status_code == 303
    location = answer.headers["Location"]
    assert location.startswith("/_dev/checkout?") and f"license_id={portal.license.id}" in location
    assert "amount=4900" in location


def test_release_mail_preferences_per_product(portal: Portal) -> None:
    portal.sign_in()
    page = portal.get("/portal/preferences")
    assert 'value="crm-exporter" checked' in page.text
    saved = portal.post("/portal/preferences", {"csrf": CSRF.findall(page.text)[0]})
    assert "Saved." in saved.text and 'value="crm-exporter" checked' not in saved.text
    contact = portal.store.get_contact("bea@acme.test")
    assert contact is not None and contact.release_mail_opt_out == ["crm-exporter"]


def test_sign_in_mails_are_limited_per_address(portal: Portal) -> None:
    page = portal.get("/portal/login")
    csrf = CSRF.findall(page.text)[0]
    for _ in range(5):
        assert portal.post("/portal/login", {"email": "bea@acme.test", "csrf": csrf}).status_code == 200
    portal.deliver_mail()
    assert len(Mailbox().messages()) == 1
