"""Staff search pages on the table's indexes, on the emulator, with every DynamoDB call counted (a
botocore hook on the store's client): thousands of licenses, page one reads one page (at most 51
licenses), no Scan anywhere, and walking the cursors returns each license once, in order."""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from licensing.adapters.aws import client
from licensing.adapters.dynamo import DynamoStore, license_item
from licensing.adapters.dynamo.base import serialize
from licensing.adapters.staff_queries import StaffQueries
from licensing.errors import InvalidInput
from licensing.models import License, LicenseStatus, Site
from licensing.paging import BadCursor, encode_cursor
from licensing.services.search import LicenseQuery, search_licenses, search_page
from tests import factories

MANY = 2000
EMAIL = "ops@agency.test"


class Calls:
    """Every DynamoDB call the store's client makes, and the license items those calls return."""

    def __init__(self) -> None:
        self.operations: Counter[str] = Counter()
        self.licenses_read = 0

    def __call__(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        self.operations[model.name] += 1
        items = parsed.get("Items", []) + ([parsed["Item"]] if "Item" in parsed else [])
        self.licenses_read += sum(1 for item in items if item.get("item_type", {}).get("S") == "license")

    def reset(self) -> None:
        self.operations.clear()
        self.licenses_read = 0


@pytest.fixture
def calls() -> Iterator[Calls]:
    counter = Calls()
    events = client("dynamodb").meta.events
    events.register("after-call.dynamodb", counter)
    yield counter
    events.unregister("after-call.dynamodb", counter)


def put_licenses(store: DynamoStore, licenses: list[License]) -> None:
    """Write licenses as the store does (`license_item`: every index key), 25 a batch."""
    for start in range(0, len(licenses), 25):
        request: dict[str, Any] = {
            store.table_name: [
                {"PutRequest": {"Item": serialize(license_item(lic))}} for lic in licenses[start : start + 25]
            ]
        }
        while request:
            request = store.dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


@pytest.fixture
def agency(aws: dict[str, Any]) -> dict[str, Any]:
    """2,000 licenses of one product in one account (one in ten expired) and 30 of another product
    in a second account; one contact belongs to both accounts."""
    store = DynamoStore(aws["names"].table)
    store.put_product(factories.product())
    store.put_product(factories.product("seo-tool", name="SEO Tool"))
    big, small = factories.account("Big Agency"), factories.account("Small Shop")
    store.create_account(big)
    store.create_account(small)
    store.add_contact(big.id, EMAIL)
    store.add_contact(small.id, EMAIL)
    created = datetime(2026, 1, 1, tzinfo=UTC)
    many = [
        factories.license(
            big.id,
            status=LicenseStatus.EXPIRED if n % 10 == 0 else LicenseStatus.ACTIVE,
            ends_on=date(2027, 1, 1) + timedelta(days=n % 365),
            created_at=created + timedelta(minutes=n),
        )
        for n in range(MANY)
    ]
    few = [
        factories.license(small.id, product="seo-tool", created_at=created + timedelta(minutes=n))
        for n in range(30)
    ]
    put_licenses(store, many + few)
    return {"store": store, "big": big, "small": small, "many": many, "few": few}


def walk(store: DynamoStore, query: LicenseQuery, calls: Calls) -> tuple[list[str], list[int]]:
    """Every page of a search by its cursors: the ids in page order, and the licenses each page read."""
    ids: list[str] = []
    reads: list[int] = []
    after = None
    while True:
        calls.reset()
        page = search_page(store, StaffQueries(store), query, after=after)
        reads.append(calls.licenses_read)
        assert calls.operations["Scan"] == 0
        ids += [license.id for license in page.items]
        if page.next is None:
            return ids, reads
        assert len(page.items) == 50
        after = page.next


def newest_end_first(licenses: list[License]) -> list[str]:
    return [lic.id for lic in sorted(licenses, key=lambda lic: (lic.ends_on, lic.id), reverse=True)]


def newest_created_first(licenses: list[License]) -> list[str]:
    return [lic.id for lic in sorted(licenses, key=lambda lic: (lic.created_at, lic.id), reverse=True)]


def test_a_product_and_status_search_reads_one_page_of_the_index(
    agency: dict[str, Any], calls: Calls
) -> None:
    store = agency["store"]
    active = [lic for lic in agency["many"] if lic.status is LicenseStatus.ACTIVE]
    query = LicenseQuery(product="crm-exporter", status="active")

    calls.reset()
    first = search_page(store, StaffQueries(store), query)
    assert len(first.items) == 50 and first.next is not None
    assert calls.licenses_read <= 51
    assert calls.operations["Query"] == 1 and calls.operations["Scan"] == 0

    ids, reads = walk(store, query, calls)
    assert ids == newest_end_first(active)  # each once, latest end date first
    assert len(ids) == len(set(ids)) == len(active) == 1800
    assert max(reads) <= 51

    # Without a status: the product's active licenses, then its expired ones, each range in turn.
    expired = [lic for lic in agency["many"] if lic.status is LicenseStatus.EXPIRED]
    calls.reset()
    first = search_page(store, StaffQueries(store), LicenseQuery(product="crm-exporter"))
    assert [lic.id for lic in first.items] == newest_end_first(active)[:50] and calls.licenses_read <= 51
    # A status alone: product by product, the same ranges.
    ids, _ = walk(store, LicenseQuery(status="EXPIRED"), calls)
    assert ids == newest_end_first(expired)


def test_an_email_or_account_search_pages_account_by_account(agency: dict[str, Any], calls: Calls) -> None:
    store, big, small = agency["store"], agency["big"], agency["small"]
    by_account = {big.id: agency["many"], small.id: agency["few"]}
    expected = [i for account_id in sorted(by_account) for i in newest_created_first(by_account[account_id])]

    calls.reset()
    first = search_page(store, StaffQueries(store), LicenseQuery(email="OPS@agency.test"))
    assert len(first.items) == 50 and first.next is not None
    assert calls.licenses_read <= 51 and calls.operations["Scan"] == 0

    ids, reads = walk(store, LicenseQuery(email=EMAIL), calls)
    assert ids == expected and len(set(ids)) == MANY + 30
    assert max(reads) <= 51

    calls.reset()
    first = search_page(store, StaffQueries(store), LicenseQuery(account="Big Agency"))
    assert [lic.id for lic in first.items] == newest_created_first(agency["many"])[:50]
    assert calls.licenses_read <= 51
    # The email and a product: the accounts' ranges, filtered.
    assert search_licenses(
        store, StaffQueries(store), LicenseQuery(email=EMAIL, product="seo-tool")
    ) == sorted(agency["few"], key=lambda lic: (lic.created_at, lic.id), reverse=True)


def test_a_search_no_index_serves_reads_a_bounded_page_and_goes_on(
    agency: dict[str, Any], calls: Calls
) -> None:
    store = agency["store"]
    deep = agency["many"][7]  # among the last of the active range read newest end first
    site = "shop.deep.test"
    store.save_license(deep.model_copy(update={"sites": {site: Site(host=site)}}))
    query = LicenseQuery(site=f"https://{site}/checkout")
    found: list[str] = []
    after = None
    pages = 0
    while True:
        calls.reset()
        page = search_page(store, StaffQueries(store), query, after=after)
        pages += 1
        assert calls.operations["Scan"] == 0 and calls.licenses_read <= 2000 + 200
        found += [license.id for license in page.items]
        if page.next is None:
            break
        after = page.next
    assert found == [deep.id] and pages > 1  # 2,030 licenses: more than one bounded page


def test_a_garbled_or_foreign_cursor_is_refused_before_any_read(agency: dict[str, Any], calls: Calls) -> None:
    store = agency["store"]
    queries = StaffQueries(store)
    by_product = LicenseQuery(product="crm-exporter", status="ACTIVE")
    cursor = search_page(store, queries, by_product).next
    by_email = search_page(store, queries, LicenseQuery(email=EMAIL)).next
    assert cursor and by_email
    # The scope is inside the token: forge ones with this search's scope but keys outside its range.
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    other_range = dict(data["k"], gsi2pk="PRODUCT#seo-tool")
    forged = [
        "not-a-cursor",
        cursor[:-7],
        "",
        "x" * 5000,
        by_email,  # another search's
        encode_cursor(data["s"], 1, data["k"]),  # a range this search does not have
        encode_cursor(data["s"], 0, other_range),  # another product's range
        encode_cursor(data["s"], 0, dict(data["k"], gsi2sk="EXPIRED#2027-01-01#x")),  # another status
        encode_cursor(data["s"], 0, dict(data["k"], pk="")),  # an empty key DynamoDB would refuse
        encode_cursor(data["s"], 0, {"pk": "a"}),
    ]
    for token in forged:
        calls.reset()
        with pytest.raises(BadCursor) as refused:
            search_page(store, queries, by_product, after=token)
        assert isinstance(refused.value, InvalidInput)
        assert "Query" not in calls.operations and "Scan" not in calls.operations, token
    # The genuine one still goes on.
    assert search_page(store, queries, by_product, after=encode_cursor(data["s"], 0, data["k"])).items


@pytest.mark.dynamodb_local
def test_the_cursors_page_dynamodb_locals_indexes_the_same_way(local_store: DynamoStore) -> None:
    """AWS's own DynamoDB Local: Limit and ExclusiveStartKey on gsi1 and gsi2 as the emulator does."""
    store = local_store
    calls = Calls()
    store.dynamodb.meta.events.register("after-call.dynamodb", calls)
    store.put_product(factories.product())
    account = factories.account("Big Agency")
    store.create_account(account)
    store.add_contact(account.id, EMAIL)
    created = datetime(2026, 1, 1, tzinfo=UTC)
    licenses = [
        factories.license(
            account.id,
            status=LicenseStatus.EXPIRED if n % 10 == 0 else LicenseStatus.ACTIVE,
            ends_on=date(2027, 1, 1) + timedelta(days=n % 100),
            created_at=created + timedelta(minutes=n),
        )
        for n in range(600)
    ]
    put_licenses(store, licenses)
    active = [lic for lic in licenses if lic.status is LicenseStatus.ACTIVE]

    ids, reads = walk(store, LicenseQuery(product="crm-exporter", status="ACTIVE"), calls)
    assert ids == newest_end_first(active) and max(reads) <= 51
    ids, reads = walk(store, LicenseQuery(email=EMAIL), calls)
    assert ids == newest_created_first(licenses) and max(reads) <= 51
