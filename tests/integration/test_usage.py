"""Usage tracking (API.md section 2): each activated site records when it was last seen and with
which versions, at most one write per site per day, never slowing or failing the answer.

The conditional write is proven on moto and on AWS's DynamoDB Local (the `store` fixture); the
answers through the local gateway and the real handler."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests
from botocore.awsrequest import AWSResponse

from licensing import wiring
from licensing.adapters.dynamo import DynamoStore
from licensing.errors import Conflict, InvalidInput
from licensing.models import License, LicenseStatus
from licensing.services import reports
from licensing.services.issuing import issue_licenses
from licensing.services.licenses import Change, update_license
from licensing.services.validation import activate, validate
from tests import factories

TODAY = date(2026, 12, 1)
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
READS = {"GetItem", "Query", "BatchGetItem", "Scan"}


def _activated(store: DynamoStore, *sites: str, today: date = TODAY) -> License:
    product = factories.product()
    store.put_product(product)
    (license,) = issue_licenses(
        store, None, product=product, account=factories.account(), actor="t", starts_on=today - timedelta(1)
    )
    for site in sites:
        assert activate(store, key=license.key, site=site, product=None, today=today).valid
    fresh = store.get_license(license.id)
    assert fresh is not None
    return fresh


def _site(store: DynamoStore, license: License, host: str) -> Any:
    fresh = store.get_license(license.id)
    assert fresh is not None
    return fresh.sites[host]


# -- the conditional write, on both emulators -----------------------------------------------------


def test_a_site_is_written_once_a_day_and_again_when_its_versions_change(store: DynamoStore) -> None:
    license = _activated(store, "shop.globex.de")
    record = store.record_site_usage

    assert record(license.id, "shop.globex.de", seen_on=TODAY, version="1.2.0", host_version="8.4.1")
    site = _site(store, license, "shop.globex.de")
    assert (site.last_seen_on, site.version, site.host_version) == (TODAY, "1.2.0", "8.4.1")
    # The same day, the same versions: DynamoDB itself skips the write.
    assert not record(license.id, "shop.globex.de", seen_on=TODAY, version="1.2.0", host_version="8.4.1")
    # Not sent: the stored version stays.
    assert not record(license.id, "shop.globex.de", seen_on=TODAY, version=None, host_version=None)
    # Upgraded the same day: written again.
    assert record(license.id, "shop.globex.de", seen_on=TODAY, version="1.3.0", host_version="8.4.1")
    assert record(license.id, "shop.globex.de", seen_on=TODAY + timedelta(1), version=None, host_version=None)
    site = _site(store, license, "shop.globex.de")
    assert (site.last_seen_on, site.version, site.host_version) == (TODAY + timedelta(1), "1.3.0", "8.4.1")


def test_usage_changes_no_revision_and_costs_an_activation_no_race(store: DynamoStore) -> None:
    license = _activated(store, "shop.globex.de")
    assert store.record_site_usage(
        license.id, "shop.globex.de", seen_on=TODAY, version="1.2.0", host_version="8.4.1"
    )
    after = store.get_license(license.id)
    assert after is not None
    assert (after.revision, after.updated_at) == (license.revision, license.updated_at)
    # An activation decided on the license read before the usage write still wins.
    assert activate(store, key=license.key, site="crm.globex.de", product=None, today=TODAY).valid


def test_a_change_decided_before_a_usage_write_is_decided_again_and_keeps_the_usage(
    store: DynamoStore,
) -> None:
    license = _activated(store, "shop.globex.de")
    # Saved whole, a copy read before the usage write would drop it: it loses its lock.
    assert store.record_site_usage(
        license.id, "shop.globex.de", seen_on=TODAY, version="1.2.0", host_version=None
    )
    with pytest.raises(Conflict):
        store.save_license(license.model_copy(update={"name": "Stale"}))

    decided: list[str] = []

    def rename(current: License) -> Change:
        if not decided:  # the site checks in between this read and its save
            assert store.record_site_usage(
                license.id, "shop.globex.de", seen_on=TODAY, version="1.3.0", host_version="8.4.1"
            )
        decided.append(current.name)
        return Change(current.model_copy(update={"name": "Renamed"}))

    updated = update_license(store, license.id, rename)

    assert updated is not None and len(decided) == 2  # decided again on the fresh license
    fresh = store.get_license(license.id)
    assert fresh is not None and fresh.name == "Renamed"
    site = fresh.sites["shop.globex.de"]
    assert (site.last_seen_on, site.version, site.host_version) == (TODAY, "1.3.0", "8.4.1")


def test_a_site_that_is_not_activated_is_not_written(store: DynamoStore) -> None:
    license = _activated(store, "shop.globex.de")
    assert not store.record_site_usage(
        license.id, "other.globex.de", seen_on=TODAY, version="1.2.0", host_version=None
    )
    assert not store.record_site_usage(
        "lic_nobody", "shop.globex.de", seen_on=TODAY, version=None, host_version=None
    )
    fresh = store.get_license(license.id)
    assert fresh is not None and set(fresh.sites) == {"shop.globex.de"}


# -- through the license API ----------------------------------------------------------------------


class Counter:
    """The DynamoDB requests of the handler's own client, by operation."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        wiring.store().dynamodb.meta.events.register("before-call.dynamodb.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def count(self, kinds: set[str]) -> int:
        return sum(1 for call in self.calls if call in kinds)


@pytest.fixture
def api(aws: dict[str, Any], gateway_url: str) -> tuple[str, DynamoStore]:
    return gateway_url, DynamoStore(aws["names"].table)


def _post(url: str, path: str, body: dict[str, Any]) -> requests.Response:
    answer = requests.post(f"{url}/v1/{path}", json=body, timeout=20)
    assert answer.status_code == 200, answer.text
    return answer


def test_ten_validations_of_a_site_in_a_day_make_one_write_and_one_read_each(
    api: tuple[str, DynamoStore],
) -> None:
    url, store = api
    today = datetime.now(UTC).date()
    license = _activated(store, "shop.globex.de", today=today)
    counter = Counter()
    body = {"key": license.key, "product": "crm-exporter", "site": "https://shop.globex.de/crm"}
    for _ in range(10):
        answer = _post(url, "licenses/validate", body | {"version": "1.2.0", "host_version": "8.4.1"})
        assert answer.json()["valid"] is True
    assert (counter.count(READS), counter.count(WRITES)) == (10, 1)
    site = _site(store, license, "shop.globex.de")
    assert (site.last_seen_on, site.version, site.host_version) == (today, "1.2.0", "8.4.1")

    # An update check after the upgrade records the new version; the one after it writes nothing.
    counter.calls.clear()
    for _ in range(2):
        check = body | {"current_version": "1.3.0", "host_version": "8.4.1"}
        assert _post(url, "updates", check).json()["code"] == "VALID"
    assert counter.count(WRITES) == 1
    assert _site(store, license, "shop.globex.de").version == "1.3.0"


def test_usage_is_recorded_for_activated_sites_only_and_never_for_another_product(
    api: tuple[str, DynamoStore],
) -> None:
    url, store = api
    today = datetime.now(UTC).date()
    license = _activated(store, "shop.globex.de", "crm.localhost", today=today)
    versions = {"version": "1.2.0", "host_version": "8.4.1"}
    unactivated = _post(url, "licenses/validate", {"key": license.key, "site": "else.globex.de", **versions})
    assert unactivated.json()["code"] == "SITE_NOT_ACTIVATED"
    other = {"key": license.key, "product": "another-product", "site": "shop.globex.de", **versions}
    assert _post(url, "licenses/validate", other).json()["code"] == "PRODUCT_MISMATCH"
    fresh = store.get_license(license.id)
    assert fresh is not None and set(fresh.sites) == {"shop.globex.de", "crm.localhost"}
    assert fresh.sites["shop.globex.de"].last_seen_on is None
    # A development host that was activated is recorded like any site; so is a suspended license's
    # site (it was seen, whatever the answer).
    _post(url, "licenses/validate", {"key": license.key, "site": "crm.localhost", **versions})
    current = store.get_license(license.id)
    assert current is not None
    store.save_license(current.model_copy(update={"status": LicenseStatus.SUSPENDED}))
    assert (
        _post(url, "licenses/validate", {"key": license.key, "site": "shop.globex.de"}).json()["valid"]
        is False
    )
    fresh = store.get_license(license.id)
    assert fresh is not None
    assert fresh.sites["crm.localhost"].version == "1.2.0"
    assert (fresh.sites["shop.globex.de"].last_seen_on, fresh.sites["shop.globex.de"].version) == (
        today,
        None,
    )


def test_a_throttled_usage_write_never_fails_the_answer(api: tuple[str, DynamoStore]) -> None:
    url, store = api
    today = datetime.now(UTC).date()
    license = _activated(store, "shop.globex.de", today=today)

    def throttle(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        # What DynamoDB answers a write beyond the table's capacity (the emulator never does).
        error = {"Code": "ThrottlingException", "Message": "Rate of requests exceeds the allowed throughput."}
        return AWSResponse("", 400, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}

    events = wiring.store().dynamodb.meta.events
    events.register("before-call.dynamodb.UpdateItem", throttle)
    try:
        body = {"key": license.key, "site": "shop.globex.de", "version": "1.2.0", "nonce": "n"}
        answer = _post(url, "licenses/validate", body)
    finally:
        events.unregister("before-call.dynamodb.UpdateItem", throttle)
    assert (answer.json()["valid"], answer.json()["nonce"]) == (True, "n")
    assert _site(store, license, "shop.globex.de").last_seen_on is None
    # The next call writes it.
    _post(url, "licenses/validate", body)
    assert _site(store, license, "shop.globex.de").version == "1.2.0"


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("licenses/validate", "version", "1.2.0<script>"),
        ("licenses/validate", "host_version", "8 . 4"),
        ("licenses/validate", "version", "9" * 65),
        ("updates", "host_version", "8.4\n1"),
    ],
)
def test_a_malformed_version_is_refused_and_nothing_is_written(
    api: tuple[str, DynamoStore], path: str, field: str, value: str
) -> None:
    url, store = api
    license = _activated(store, "shop.globex.de", today=datetime.now(UTC).date())
    body = {"key": license.key, "product": "crm-exporter", "site": "shop.globex.de", field: value}
    answer = requests.post(f"{url}/v1/{path}", json=body, timeout=20)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "INVALID_REQUEST"
    assert answer.json()["error"]["details"][0]["field"] == field
    assert _site(store, license, "shop.globex.de").last_seen_on is None


def test_the_validation_itself_still_reads_once(store: DynamoStore) -> None:
    license = _activated(store, "shop.globex.de")
    calls: list[str] = []
    store.dynamodb.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    assert validate(store, key=license.key, product=None, site="shop.globex.de", today=TODAY).valid
    assert calls == ["GetItem"]


def test_the_versions_report_counts_recently_seen_sites_of_active_licenses(store: DynamoStore) -> None:
    first = _activated(store, "a.globex.de", "b.globex.de", "c.globex.de")
    second = _activated(store, "d.globex.de", "e.globex.de")
    lapsed = _activated(store, "f.globex.de")
    record = store.record_site_usage
    record(first.id, "a.globex.de", seen_on=TODAY, version="1.2.0", host_version="8.4.1")
    record(first.id, "b.globex.de", seen_on=TODAY - timedelta(3), version="1.2.0", host_version="8.4.1")
    record(first.id, "c.globex.de", seen_on=TODAY - timedelta(40), version="1.0.0", host_version="7.5.0")
    record(second.id, "d.globex.de", seen_on=TODAY, version="1.3.0", host_version="9.0.0")
    record(second.id, "e.globex.de", seen_on=TODAY, version=None, host_version=None)
    record(lapsed.id, "f.globex.de", seen_on=TODAY, version="0.9.0", host_version="7.0.0")
    current = store.get_license(lapsed.id)
    assert current is not None
    store.save_license(current.model_copy(update={"status": LicenseStatus.SUSPENDED}))

    assert reports.versions(store, "crm-exporter", today=TODAY, days=30) == [
        {"version": "1.2.0", "host_version": "8.4.1", "sites": 2},
        {"version": "1.3.0", "host_version": "9.0.0", "sites": 1},
        {"version": None, "host_version": None, "sites": 1},
    ]
    older = {"version": "1.0.0", "host_version": "7.5.0", "sites": 1}
    assert older in reports.versions(store, "crm-exporter", today=TODAY, days=60)
    assert reports.versions(store, "another-product", today=TODAY, days=30) == []
    with pytest.raises(InvalidInput):
        reports.versions(store, "crm-exporter", today=TODAY, days=0)
