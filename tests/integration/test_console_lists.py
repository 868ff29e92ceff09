"""The console's lists, in process (werkzeug's test client on the real app, the emulator's store):
search results a page at a time by their next-page links, a forged cursor a 400 page, the
overview's count of suppressed addresses with their list, and the backfill of the new index."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug.test import Client

from licensing.adapters.dynamo import DynamoStore, license_item
from licensing.adapters.dynamo.base import serialize
from licensing.adapters.staff_queries import StaffQueries
from licensing.cli import context as cli_context
from licensing.cli import main
from licensing.cli.context import CliContext
from licensing.console import Console, Guard
from licensing.models import LicenseStatus, Suppression
from licensing.services import reports
from licensing.services.search import LicenseQuery, search_licenses
from licensing.settings import get_settings
from tests import factories
from tests.integration.test_console_security import PORT, signed_in

NEXT = re.compile(r'<a href="([^"]+)" rel="next">Next page</a>')
LICENSE_LINK = re.compile(r'href="/licenses/(lic_[0-9a-z]+)"')


@pytest.fixture
def world(aws: dict[str, Any]) -> dict[str, Any]:
    store = DynamoStore(aws["names"].table)
    store.put_product(factories.product())
    account = factories.account("Acme Corp")
    store.create_account(account)
    licenses = [factories.license(account.id) for _ in range(120)]
    licenses += [factories.license(account.id, status=LicenseStatus.REVOKED) for _ in range(3)]
    for start in range(0, len(licenses), 25):
        batch = [
            {"PutRequest": {"Item": serialize(license_item(lic))}} for lic in licenses[start : start + 25]
        ]
        store.dynamodb.batch_write_item(RequestItems={store.table_name: batch})
    app = Console(CliContext(connected=True, by="Dana"), Guard(port=PORT), get_settings().templates_dir)
    return {"store": store, "account": account, "licenses": licenses, "client": signed_in(app)}


def test_search_results_come_a_page_at_a_time_by_the_next_link(world: dict[str, Any]) -> None:
    client: Client = world["client"]
    active = {lic.id for lic in world["licenses"] if lic.status is LicenseStatus.ACTIVE}
    page = client.get("/?product=crm-exporter&status=ACTIVE")
    assert page.status_code == 200 and "50 licenses on this page; more on the next" in page.text
    assert "First page" not in page.text
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        seen += LICENSE_LINK.findall(page.text)
        link = NEXT.search(page.text)
        if link is None:
            break
        page = client.get(link.group(1).replace("&amp;", "&"))
        assert page.status_code == 200 and "First page" in page.text
    assert pages == 3 and len(seen) == len(set(seen)) and set(seen) == active
    assert "20 licenses on this page</h2>" in page.text  # the last page: no next link

    few = client.get("/?product=crm-exporter&status=REVOKED")
    assert "3 licenses found" in few.text and "Next page" not in few.text


def test_a_forged_or_foreign_cursor_is_a_400_page(world: dict[str, Any]) -> None:
    client: Client = world["client"]
    first = client.get("/?product=crm-exporter&status=ACTIVE")
    link = NEXT.search(first.text)
    assert link is not None
    cursor = re.search(r"after=([A-Za-z0-9_-]+)", link.group(1))
    assert cursor is not None
    for after in ("garbage", cursor.group(1)[:-5], "%00%ff", "x" * 3000):
        answer = client.get(f"/?product=crm-exporter&status=ACTIVE&after={after}")
        assert answer.status_code == 400 and "next-page cursor is not valid" in answer.text
    # A genuine cursor from another search (another status) is refused too.
    answer = client.get(f"/?product=crm-exporter&status=EXPIRED&after={cursor.group(1)}")
    assert answer.status_code == 400
    assert client.get("/suppressed?after=garbage").status_code == 400


def test_the_overview_counts_suppressed_addresses_and_lists_them(world: dict[str, Any]) -> None:
    store, client, account = world["store"], world["client"], world["account"]
    assert "0 addresses" in client.get("/overview").text
    store.add_contact(account.id, "bea@acme.test", "Bea")
    store.add_contact(account.id, "carl@acme.test", "Carl")
    store.set_suppression(
        "bea@acme.test", Suppression(reason="bounce: NoEmail", at=datetime(2026, 3, 1, tzinfo=UTC))
    )
    store.set_suppression(
        "carl@acme.test", Suppression(reason="complaint", at=datetime(2026, 3, 2, tzinfo=UTC))
    )

    overview = client.get("/overview").text
    assert '<a href="/suppressed">2 addresses</a>' in overview
    listed = client.get("/suppressed")
    assert listed.status_code == 200
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td[^>]*>([^<]+)</td>", listed.text)
    assert rows == [
        ("carl@acme.test", "complaint", "2026-03-02 00:00 UTC"),
        ("bea@acme.test", "bounce: NoEmail", "2026-03-01 00:00 UTC"),
    ]
    assert f'<a href="/accounts/{account.id}">Acme Corp</a>' in listed.text
    assert "Next page" not in listed.text

    store.set_suppression("carl@acme.test", None)  # the address works again
    assert '<a href="/suppressed">1 address</a>' in client.get("/overview").text
    assert "carl@acme.test" not in client.get("/suppressed").text
    assert store.get_contact("carl@acme.test").suppressed is None


def test_the_suppressed_list_pages_on_its_index(aws: dict[str, Any]) -> None:
    store = DynamoStore(aws["names"].table)
    account = factories.account("Bulk Ltd")
    store.create_account(account)
    emails = [f"gone{n:02}@bulk.test" for n in range(55)]
    for n, email in enumerate(emails):
        store.add_contact(account.id, email)
        store.set_suppression(email, Suppression(reason="bounce", at=datetime(2026, 1, 1, 0, n, tzinfo=UTC)))
    queries = StaffQueries(store)
    first = reports.suppressed(queries)
    second = reports.suppressed(queries, after=first.next)
    assert [c.email for c in first.items + second.items] == emails[::-1]
    assert len(first.items) == 50 and second.next is None
    assert reports.suppressed_count(queries) == 55


def test_backfill_writes_the_index_keys_items_stored_before_it_lack(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, account = world["store"], world["account"]
    # The CLI reads a stage's resource names from its stack; here they are the emulator's, set already.
    monkeypatch.setattr(cli_context, "_stack_environment", dict)
    old = factories.license(account.id, product="crm-exporter", status=LicenseStatus.SUSPENDED)
    item = {k: v for k, v in license_item(old).items() if not k.startswith("gsi2")}
    store.dynamodb.put_item(TableName=store.table_name, Item=serialize(item))  # as written before gsi2
    store.add_contact(account.id, "old@acme.test")
    store.dynamodb.update_item(
        TableName=store.table_name,
        Key=serialize({"pk": "CONTACT#old@acme.test", "sk": "CONTACT"}),
        UpdateExpression="SET suppressed = :s",
        ExpressionAttributeValues=serialize(
            {":s": {"reason": "complaint", "at": "2025-12-01T00:00:00+00:00"}}
        ),
    )
    queries = StaffQueries(store)
    by_status = LicenseQuery(product="crm-exporter", status="SUSPENDED")
    assert search_licenses(store, queries, by_status) == []
    assert reports.suppressed_count(queries) == 0

    # It reads the 124 licenses and the 1 suppressed contact, and writes the keys the two lack.
    result = CliRunner().invoke(main, ["--json", "admin", "backfill-indexes", "--yes"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "licenses": 1,
        "history": 0,  # none of these licenses has history
        "contacts": 1,
        "read": 124 + 1,
    }
    assert [lic.id for lic in search_licenses(store, queries, by_status)] == [old.id]
    assert [c.email for c in reports.suppressed(queries).items] == ["old@acme.test"]

    again = CliRunner().invoke(main, ["--json", "admin", "backfill-indexes", "--yes"])
    assert json.loads(again.stdout)["licenses"] == 0 and json.loads(again.stdout)["contacts"] == 0


def test_the_cli_search_prints_a_page_and_the_cursor_of_the_next(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_context, "_stack_environment", dict)
    active = {lic.display_key for lic in world["licenses"] if lic.status is LicenseStatus.ACTIVE}
    search = ["--json", "licenses", "search", "--product", "crm-exporter", "--status", "active"]

    first = CliRunner().invoke(main, [*search, "--limit", "100"])
    assert first.exit_code == 0, first.output
    hint = re.fullmatch(r"More on the next page: --after (\S+)\n", first.stderr)
    assert hint is not None and len(json.loads(first.stdout)) == 100
    rest = CliRunner().invoke(main, [*search, "--limit", "100", "--after", hint.group(1)])
    assert rest.exit_code == 0 and rest.stderr == ""
    keys = [row["key"] for row in json.loads(first.stdout) + json.loads(rest.stdout)]
    assert len(keys) == len(set(keys)) and set(keys) == active

    every = CliRunner().invoke(main, [*search, "--all"])
    assert {row["key"] for row in json.loads(every.stdout)} == active and every.stderr == ""
    forged = CliRunner().invoke(main, [*search, "--after", "garbage"])
    assert forged.exit_code != 0 and "next-page cursor is not valid" in forged.output


def test_an_accounts_licenses_come_a_page_at_a_time(world: dict[str, Any]) -> None:
    client: Client = world["client"]
    account = world["account"]
    page = client.get(f"/accounts/{account.id}")
    assert page.status_code == 200 and "Acme Corp" in page.text
    seen: list[str] = []
    while True:
        seen += LICENSE_LINK.findall(page.text)
        link = NEXT.search(page.text)
        if link is None:
            break
        page = client.get(link.group(1).replace("&amp;", "&").split("#")[0])
        assert page.status_code == 200 and "First page" in page.text
    newest_first = sorted(world["licenses"], key=lambda lic: (lic.created_at, lic.id), reverse=True)
    assert seen == [lic.id for lic in newest_first]  # 123 licenses: 50, 50, 23, each once
    assert client.get(f"/accounts/{account.id}?after=garbage").status_code == 400
