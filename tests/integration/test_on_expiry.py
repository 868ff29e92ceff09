"""What the end of the term costs, per product (`on_expiry`, API.md section 2), through the real
handlers on the emulator: validate, updates, downloads, the portal and the mails, for
`keep_working` (the default: updates and support stop) and `stop` (the software stops)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from licensing.adapters.dynamo import DynamoStore, keys
from licensing.adapters.events import EventBridgePublisher
from licensing.cli import main
from licensing.cli.context import CliContext
from licensing.dates import today
from licensing.devserver.mailbox import Mailbox
from licensing.models import License, LicenseStatus, OnExpiry
from licensing.services.expiry import run_expiry
from licensing.services.issuing import issue_licenses
from tests import factories
from tests.conftest import deliver_notifications
from tests.integration.test_license_api import Api, publish, updates
from tests.integration.test_portal import Portal

SETTINGS = ["keep_working", "stop"]
KEEPS = "keeps working; updates and support stop"
STOPS = "stops working"


def expired_license(api: Api, on_expiry: str, days_ago: int = 30) -> License:
    """A license of a product with this setting whose end date and 7 grace days have passed."""
    return api.issue(product={"on_expiry": on_expiry}, ends_on=today() - timedelta(days=days_ago))


@pytest.fixture
def api(aws: dict[str, Any], gateway_url: str) -> Api:
    return Api(url=gateway_url, store=DynamoStore(aws["names"].table), aws=aws)


def test_the_cli_sets_on_expiry_and_new_licenses_carry_it(aws: dict[str, Any]) -> None:
    store = DynamoStore(aws["names"].table)
    runner = CliRunner()

    def cli(*args: str) -> Any:
        return runner.invoke(main, [*args, "--yes", "--json"], obj=CliContext(connected=True))

    created = cli("products", "create", "saas-sync", "--name", "SaaS Sync", "--on-expiry", "stop")
    assert created.exit_code == 0, created.output
    assert '"on_expiry": "stop"' in created.output
    product = store.require_product("saas-sync")
    assert product.on_expiry is OnExpiry.STOP
    (license,) = issue_licenses(store, None, product=product, account=factories.account(), actor="t")
    assert store.require_license(license.id).on_expiry is OnExpiry.STOP
    assert cli("products", "update", "saas-sync", "--on-expiry", "keep_working").exit_code == 0
    assert store.require_product("saas-sync").on_expiry is OnExpiry.KEEP_WORKING
    refused = cli("products", "update", "saas-sync", "--on-expiry", "sometimes")
    assert refused.exit_code != 0 and "sometimes" in refused.output
    assert store.require_product("saas-sync").on_expiry is OnExpiry.KEEP_WORKING
    plain = cli("products", "create", "plain", "--name", "Plain")
    assert plain.exit_code == 0 and store.require_product("plain").on_expiry is OnExpiry.KEEP_WORKING


@pytest.mark.parametrize("setting", SETTINGS)
def test_after_the_grace_period_valid_follows_the_product(api: Api, setting: str) -> None:
    in_grace = api.issue(product={"on_expiry": setting}, ends_on=today() - timedelta(days=7))
    grace = api.post("validate", {"key": in_grace.key}).json()
    assert (grace["valid"], grace["code"]) == (True, "GRACE_PERIOD")
    lapsed = expired_license(api, setting, days_ago=8)
    body = api.post("validate", {"key": lapsed.key, "product": "crm-exporter"}).json()
    assert (body["valid"], body["code"]) == (setting == "keep_working", "EXPIRED")
    assert body["license"]["status"] == "EXPIRED"
    assert body["license"]["updates_until"] == lapsed.ends_on.isoformat()


@pytest.mark.parametrize("status", [LicenseStatus.SUSPENDED, LicenseStatus.REVOKED, LicenseStatus.PENDING])
def test_keep_working_never_makes_a_paused_or_ended_license_valid(api: Api, status: LicenseStatus) -> None:
    license = api.issue(status=status, ends_on=today() - timedelta(days=30))
    body = api.post("validate", {"key": license.key}).json()
    assert (body["valid"], body["code"]) == (False, status.value)
    unknown = api.post("validate", {"key": "SOME-IMPORTED-KEY-NOBODY-HAS"}).json()
    assert (unknown["valid"], unknown["code"]) == (False, "NOT_FOUND")


def test_an_expired_keep_working_license_is_valid_only_on_its_own_sites(api: Api) -> None:
    license = expired_license(api, "keep_working")
    api.store.save_license(license.model_copy(update={"sites": {}}))
    elsewhere = api.post("validate", {"key": license.key, "site": "https://stranger.example.com"}).json()
    assert (elsewhere["valid"], elsewhere["code"]) == (False, "SITE_NOT_ACTIVATED")
    new_site = api.post("activate", {"key": license.key, "site": "https://new.example.com"})
    assert new_site.status_code == 403 and new_site.json()["code"] == "EXPIRED"  # new sites need a term


def test_a_license_stored_before_the_setting_existed_keeps_working(api: Api) -> None:
    license = expired_license(api, "stop")
    api.store.dynamodb.update_item(
        TableName=api.store.table_name,
        Key={name: {"S": value} for name, value in keys.license(license.id).as_item().items()},
        UpdateExpression="REMOVE on_expiry",
    )
    body = api.post("validate", {"key": license.key}).json()
    assert (body["valid"], body["code"]) == (True, "EXPIRED")


@pytest.mark.parametrize("setting", SETTINGS)
def test_an_expired_license_is_offered_the_newest_release_it_may_download(api: Api, setting: str) -> None:
    license = expired_license(api, setting)
    publish(api, "1.0.0", days_ago=90)
    publish(api, "1.1.0", days_ago=60)
    publish(api, "1.2.0")  # after the end date: renewal brings it
    body = updates(api, key=license.key, product="crm-exporter", current_version="1.0.0").json()
    assert (body["code"], body["update_available"]) == ("EXPIRED", True)
    assert body["latest"]["version"] == "1.1.0" and body["renewal_brings"] == "1.2.0"
    assert "1.2.0" in body["detail"] and "renew" in body["detail"]
    download = requests.get(body["latest"]["download_url"], allow_redirects=False, timeout=10)
    assert download.status_code == 303
    assert requests.get(download.headers["Location"], timeout=10).content == b"zip of 1.1.0"
    current = updates(api, key=license.key, product="crm-exporter", current_version="1.1.0").json()
    assert current["update_available"] is False and current["renewal_brings"] == "1.2.0"


def test_a_license_in_term_is_offered_the_newest_release_and_nothing_about_renewal(api: Api) -> None:
    license = api.issue(product={"on_expiry": "stop"})
    publish(api, "1.0.0", days_ago=60)
    publish(api, "1.2.0")
    body = updates(api, key=license.key, product="crm-exporter").json()
    assert (body["code"], body["latest"]["version"], body["renewal_brings"]) == ("VALID", "1.2.0", None)
    assert body["latest"]["download_url"] and body["detail"] is None


@pytest.mark.parametrize("setting", SETTINGS)
def test_the_portal_says_what_the_end_of_the_term_costs(
    aws: dict[str, Any], gateway_url: str, setting: str
) -> None:
    portal = Portal(aws, gateway_url)
    product = portal.product.model_copy(update={"on_expiry": OnExpiry(setting)})
    portal.store.put_product(product)
    (in_term,) = issue_licenses(portal.store, None, product=product, account=portal.account, actor="t")
    (ended,) = issue_licenses(portal.store, None, product=product, account=portal.account, actor="t")
    ended = portal.store.save_license(ended.model_copy(update={"ends_on": today() - timedelta(days=30)}))
    publish(Api(gateway_url, portal.store, aws), "1.0.0", days_ago=60)
    publish(Api(gateway_url, portal.store, aws), "1.1.0")
    portal.sign_in()
    home = portal.get("/portal/")
    assert "CRM Exporter" in home.text and ">crm-exporter<" not in home.text
    assert f"Updates until {ended.ends_on}" in home.text
    page = portal.get(f"/portal/licenses/{in_term.id}").text
    assert (KEEPS if setting == "keep_working" else STOPS) in page
    assert f"Updates until</th><td>{in_term.ends_on}" in page
    expired_page = portal.get(f"/portal/licenses/{ended.id}").text
    if setting == "keep_working":
        assert "keeps working, but updates and support have stopped" in expired_page
    else:
        assert "has stopped working" in expired_page and "keeps working" not in expired_page
    renew = portal.get(f"/portal/licenses/{ended.id}/renew").text
    assert (KEEPS if setting == "keep_working" else STOPS) in renew


@pytest.mark.parametrize("setting", SETTINGS)
def test_an_expired_license_downloads_what_it_paid_for_in_the_portal(
    aws: dict[str, Any], gateway_url: str, setting: str
) -> None:
    portal = Portal(aws, gateway_url)
    portal.store.put_product(portal.product.model_copy(update={"on_expiry": OnExpiry(setting)}))
    lapsed = portal.license.model_copy(update={"ends_on": today() - timedelta(days=30)})
    portal.store.save_license(lapsed)
    api = Api(gateway_url, portal.store, aws)
    publish(api, "1.0.0", days_ago=60)
    publish(api, "1.1.0")
    portal.sign_in()
    releases = portal.get("/portal/products/crm-exporter").text
    assert "/releases/1.0.0/download" in releases and "/releases/1.1.0/download" not in releases
    assert (
        portal.get("/portal/products/crm-exporter/releases/1.0.0/download", allow_redirects=False).status_code
        == 303
    )
    assert portal.get("/portal/products/crm-exporter/releases/1.1.0/download").status_code == 404


@pytest.mark.parametrize("setting", SETTINGS)
def test_the_reminder_and_the_expired_mail_say_what_the_end_costs(aws: dict[str, Any], setting: str) -> None:
    store = DynamoStore(aws["names"].table)
    product = factories.product(on_expiry=setting, grace_days=7)
    store.put_product(product)
    account = factories.account("Acme Corp")
    store.create_account(account)
    store.add_contact(account.id, "bea@acme.test", "Bea")
    ends_on = today() + timedelta(days=30)
    issue_licenses(store, None, product=product, account=account, actor="t", ends_on=ends_on)
    events = EventBridgePublisher(aws["names"].bus)
    run_expiry(store, events, today=ends_on - timedelta(days=7))
    run_expiry(store, events, today=ends_on + timedelta(days=1))
    deliver_notifications(aws)
    mails = {mail["subject"]: mail for mail in Mailbox().messages()}
    expiring = mails["Your CRM Exporter license ends in 7 days"]
    expired = mails["Your CRM Exporter license has ended"]
    for mail in (expiring, expired):
        for part in (mail["text"], mail["html"]):
            if setting == "keep_working":
                assert KEEPS in part and STOPS not in part
            else:
                assert STOPS in part and "updates and support stop" not in part
        assert "Hello Bea,\n\nYour license for CRM Exporter" in mail["text"]
    if setting == "stop":
        assert "keeps working for a grace period of 7 days, then stops working" in expired["text"]
