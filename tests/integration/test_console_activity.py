"""The licenses issued and renewed in the last 30 days (the console's overview, its two paged lists,
`licensing reports activity`), on the emulator with every DynamoDB call counted: 2,000 licenses
with their history, of which a few dozen were issued or renewed in the window, and the overview
reads the counts and the rows it shows, never every license and never a Scan.

The clock is set to 2026-12-10 (as `licensing dev clock` does), so that the window (from
2026-11-10) spans two month partitions; the licenses in it are issued and renewed by the services
that do it for real, each on its own day."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug.test import Client

from licensing import dates
from licensing.adapters.aws import client
from licensing.adapters.dynamo import DynamoStore, license_item
from licensing.adapters.dynamo.base import serialize
from licensing.adapters.dynamo.licenses import _history_item
from licensing.adapters.events import EventBridgePublisher
from licensing.adapters.staff_queries import StaffQueries
from licensing.cli import context as cli_context
from licensing.cli import main
from licensing.cli.context import CliContext
from licensing.console import Console, Guard
from licensing.console.app import OVERVIEW_ROWS
from licensing.models import HistoryEntry, License
from licensing.paging import BadCursor
from licensing.services.activity import activity_count, activity_page
from licensing.services.issuing import issue_licenses
from licensing.services.renewals import renew_manually
from licensing.settings import get_settings
from tests import factories
from tests.integration.test_console_security import PORT, signed_in

TODAY = date(2026, 12, 10)
SINCE = TODAY - timedelta(days=30)  # 2026-11-10: the window's first day
MANY = 2000
NEXT = re.compile(r'<a href="([^"]+)" rel="next">Next page</a>')
ROW = re.compile(
    r'<tr><td><span class="nowrap">([^<]+) UTC</span><br><span class="muted">by [^<]*</span></td>\s*'
    r'<td class="nowrap"><a href="/licenses/(lic_[0-9a-z]+)"'
)


class Calls:
    """Every DynamoDB call the store's client makes, and the license and history items they return."""

    def __init__(self) -> None:
        self.operations: Counter[str] = Counter()
        self.items: Counter[str] = Counter()

    def __call__(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        self.operations[model.name] += 1
        items = list(parsed.get("Items", [])) + ([parsed["Item"]] if "Item" in parsed else [])
        for answered in parsed.get("Responses", {}).values():
            items += answered if isinstance(answered, list) else []
        self.items.update(item.get("item_type", {}).get("S", "?") for item in items)

    def reset(self) -> None:
        self.operations.clear()
        self.items.clear()


@pytest.fixture
def calls() -> Iterator[Calls]:
    counter = Calls()
    events = client("dynamodb").meta.events
    events.register("after-call.dynamodb", counter)
    yield counter
    events.unregister("after-call.dynamodb", counter)


def batch_write(store: DynamoStore, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        request: dict[str, Any] = {
            store.table_name: [
                {"PutRequest": {"Item": serialize(item)}} for item in items[start : start + 25]
            ]
        }
        while request:
            request = store.dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


def on_day(day: date) -> None:
    dates.set_local_day(day)


@pytest.fixture
def shop(aws: dict[str, Any]) -> Iterator[dict[str, Any]]:
    store = DynamoStore(aws["names"].table)
    events = EventBridgePublisher(aws["names"].bus)
    product = factories.product()
    store.put_product(product)
    account = factories.account("Big Agency")
    store.create_account(account)

    # 2,000 licenses issued in 2025, 100 of them renewed early in November 2026 (the window's first
    # month partition, before the window): none of it is in the window.
    old = datetime(2025, 3, 1, 9, tzinfo=UTC)
    background = [
        factories.license(
            account.id,
            created_at=old + timedelta(minutes=n),
            ends_on=date(2027, 6, 1) + timedelta(days=n % 90),
        )
        for n in range(MANY)
    ]
    history = [
        HistoryEntry(license_id=lic.id, at=lic.created_at, actor="stripe", action="issued")
        for lic in background
    ]
    history += [
        HistoryEntry(
            license_id=lic.id,
            at=datetime(2026, 11, 1 + n % 9, 12, tzinfo=UTC),
            actor="stripe",
            action="renewed",
        )
        for n, lic in enumerate(background[:100])
    ]
    history += [  # other actions are not activity, in the window or not
        HistoryEntry(license_id=lic.id, at=datetime(2026, 12, 1, tzinfo=UTC), actor="ann", action="suspended")
        for lic in background[100:130]
    ]
    # The licenses renewed in the window first: the emulator copies the whole table for each
    # transaction, so the services' transactions run before the bulk of the items is written.
    targets = background[199:214]
    batch_write(store, [license_item(lic) for lic in targets])

    # In the window: 58 licenses issued (2 of them imported), one a day or more, and 15 renewals (one
    # license renewed twice); and one of each the day before the window opens.
    try:
        issued: list[License] = []
        for n in range(-1, 58):
            on_day(SINCE + timedelta(days=n % 31) if n >= 0 else SINCE - timedelta(days=1))
            action = "imported" if n < 2 else "issued"
            issued += issue_licenses(
                store, None, product=product, account=account, actor="staff:ann", action=action
            )
        renewed: list[str] = []
        for n in range(-1, 15):
            on_day(SINCE + timedelta(days=2 * n) if n >= 0 else SINCE - timedelta(days=1))
            target = targets[1 + min(n, 13) if n >= 0 else 0]  # 13 and 14: the same license
            renew_manually(
                store,
                events,
                target.id,
                product=product,
                today=dates.today(),
                actor="staff:bo",
                method="invoice",
            )
            renewed.append(target.id)
        on_day(TODAY)
        rest = [lic for lic in background if lic not in targets]
        batch_write(store, [license_item(lic) for lic in rest] + [_history_item(entry) for entry in history])
        app = Console(CliContext(connected=True, by="Dana"), Guard(port=PORT), get_settings().templates_dir)
        yield {
            "store": store,
            "account": account,
            "client": signed_in(app),
            "issued": expected(store, issued[1:], {"issued", "imported"}),
            "renewed": expected(
                store, [store.require_license(i) for i in dict.fromkeys(renewed[1:])], {"renewed"}
            ),
            "outside": (issued[0].id, renewed[0]),
        }
    finally:
        dates.set_local_day(None)


def expected(store: DynamoStore, licenses: list[License], actions: set[str]) -> list[str]:
    """The license ids of the window's entries with these actions, the latest first (by time)."""
    entries = [
        entry
        for lic in licenses
        for entry in store.license_history(lic.id)
        if entry.action in actions and entry.at.date() >= SINCE
    ]
    return [entry.license_id for entry in sorted(entries, key=lambda e: (e.at, e.license_id), reverse=True)]


def test_the_counts_are_count_queries_on_the_window_s_month_partitions(
    shop: dict[str, Any], calls: Calls
) -> None:
    queries = StaffQueries(shop["store"])
    calls.reset()
    assert activity_count(queries, "issued", today=TODAY) == len(shop["issued"]) == 58
    assert activity_count(queries, "renewed", today=TODAY) == len(shop["renewed"]) == 15
    # Two months each (December, November from the 10th): four COUNT queries, not one item read.
    assert calls.operations == Counter({"Query": 4}) and sum(calls.items.values()) == 0
    assert activity_count(queries, "issued", today=TODAY, days=60) == 58 + 1
    assert activity_count(queries, "renewed", today=TODAY, days=60) == 15 + 1 + 100


def test_walking_the_pages_returns_each_once_the_latest_first(shop: dict[str, Any], calls: Calls) -> None:
    queries = StaffQueries(shop["store"])
    for kind in ("issued", "renewed"):
        seen: list[str] = []
        after = None
        while True:
            calls.reset()
            page = activity_page(queries, kind, today=TODAY, after=after, page_size=7)
            assert calls.operations["Scan"] == 0 and calls.operations["BatchGetItem"] == 1
            assert calls.items["history"] <= 7 + 1 + 1  # a page and one more (and where a month ends)
            # One read of each license on the page (a license renewed twice in a page is read once).
            assert calls.items["license"] == len({found.license.id for found in page.items}) <= 7
            seen += [found.license.id for found in page.items]
            assert all(found.entry.at.date() >= SINCE for found in page.items)
            if page.next is None:
                break
            after = page.next
        assert seen == shop[kind]  # the latest first, each entry once (the twice-renewed license twice)
    issued, renewed = shop["outside"]
    assert issued not in shop["issued"] and renewed not in shop["renewed"]


def test_the_overview_reads_what_it_shows(shop: dict[str, Any], calls: Calls) -> None:
    client: Client = shop["client"]
    calls.reset()
    page = client.get("/overview")
    assert page.status_code == 200
    assert calls.operations["Scan"] == 0
    # The licenses of the rows it shows (the one renewed twice read once), and one more history
    # entry each to know there are more; no other license.
    shown = [lic for _, lic in ROW.findall(page.text)]
    assert (
        len(shown) == 2 * OVERVIEW_ROWS and calls.items["license"] == len(set(shown)) == 2 * OVERVIEW_ROWS - 1
    )
    assert calls.items["history"] <= 2 * (OVERVIEW_ROWS + 1)
    assert sum(calls.operations.values()) < 50  # 31 days of `ends`, 2 x (2 counts, 1 page, 1 batch), ...

    assert "Issued in the last 30 days (58)" in page.text and "Renewed in the last 30 days (15)" in page.text
    rows = ROW.findall(page.text)
    assert [lic for _, lic in rows] == shop["issued"][:OVERVIEW_ROWS] + shop["renewed"][:OVERVIEW_ROWS]
    assert '<a href="/activity/issued">All 58 licenses issued</a>' in page.text
    assert '<a href="/activity/renewed">All 15 renewals</a>' in page.text
    assert "not paged" not in page.text


def test_the_issued_list_pages_through_the_console(shop: dict[str, Any], calls: Calls) -> None:
    client: Client = shop["client"]
    page = client.get("/activity/issued")
    assert page.status_code == 200 and "Issued in the last 30 days (58)" in page.text
    assert "First page" not in page.text
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        rows = ROW.findall(page.text)
        assert [when for when, _ in rows] == sorted((when for when, _ in rows), reverse=True)
        seen += [lic for _, lic in rows]
        link = NEXT.search(page.text)
        if link is None:
            break
        calls.reset()
        page = client.get(link.group(1).replace("&amp;", "&"))
        assert page.status_code == 200 and "First page" in page.text
        assert calls.operations["Scan"] == 0 and calls.items["license"] <= 50
    assert pages == 2 and seen == shop["issued"]

    renewed = client.get("/activity/renewed")
    assert "Renewed in the last 30 days (15)" in renewed.text and "Next page" not in renewed.text
    assert [lic for _, lic in ROW.findall(renewed.text)] == shop["renewed"]
    assert '<span class="muted">by staff:bo</span>' in renewed.text  # who recorded the renewal


def test_a_forged_or_foreign_cursor_or_list_is_refused(shop: dict[str, Any]) -> None:
    client: Client = shop["client"]
    first = client.get("/activity/issued")
    link = NEXT.search(first.text)
    assert link is not None
    cursor = re.search(r"after=([A-Za-z0-9_-]+)", link.group(1))
    assert cursor is not None
    for after in ("garbage", cursor.group(1)[:-4], "x" * 3000):
        answer = client.get(f"/activity/issued?after={after}")
        assert answer.status_code == 400 and "next-page cursor is not valid" in answer.text
    assert client.get(f"/activity/renewed?after={cursor.group(1)}").status_code == 400  # another list's
    assert client.get("/activity/expired").status_code == 404
    # The next day the window moved: yesterday's cursor starts the list again rather than skip.
    with pytest.raises(BadCursor):
        activity_page(
            StaffQueries(shop["store"]), "issued", today=TODAY + timedelta(days=1), after=cursor.group(1)
        )


def test_the_cli_reports_the_same_a_page_at_a_time(
    shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_context, "_stack_environment", dict)
    report = ["--json", "reports", "activity", "issued"]
    first = CliRunner().invoke(main, [*report, "--limit", "40"])
    assert first.exit_code == 0, first.output
    hint = re.fullmatch(r"More on the next page: --after (\S+)\n", first.stderr)
    assert hint is not None
    rest = CliRunner().invoke(main, [*report, "--limit", "40", "--after", hint.group(1)])
    assert rest.exit_code == 0 and rest.stderr == ""
    rows = json.loads(first.stdout) + json.loads(rest.stdout)
    assert [row["id"] for row in rows] == shop["issued"] and len(json.loads(first.stdout)) == 40
    every = CliRunner().invoke(main, ["--json", "reports", "activity", "renewed", "--all"])
    assert [row["id"] for row in json.loads(every.stdout)] == shop["renewed"]
    counted = CliRunner().invoke(
        main, ["--json", "reports", "activity", "renewed", "--count", "--days", "60"]
    )
    assert json.loads(counted.stdout) == {"renewed": 116, "days": 60}


def test_backfill_gives_older_history_entries_their_keys(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_context, "_stack_environment", dict)
    store = DynamoStore(aws["names"].table)
    store.put_product(factories.product())
    account = factories.account("Old Shop")
    store.create_account(account)
    queries = StaffQueries(store)
    # Entries as written before they had index keys: 3 issued in the window, one 50 days ago, one
    # renewal in 2025 (beyond the default 60 days) and a suspension (no activity); and one written
    # since, with its keys.
    stored = []
    for at, action in [(datetime(2026, 12, 9, n, tzinfo=UTC), "issued") for n in range(3)] + [
        (datetime(2026, 10, 21, tzinfo=UTC), "issued"),
        (datetime(2025, 5, 5, tzinfo=UTC), "renewed"),
        (datetime(2026, 12, 8, tzinfo=UTC), "suspended"),
    ]:
        lic = factories.license(account.id, created_at=at)
        entry = {
            k: v
            for k, v in _history_item(
                HistoryEntry(license_id=lic.id, at=at, actor="stripe", action=action)
            ).items()
            if not k.startswith("gsi2")
        }
        stored.append(lic.id)
        batch_write(store, [license_item(lic), entry])
    recent = factories.license(account.id)
    now = HistoryEntry(
        license_id=recent.id, at=datetime(2026, 12, 9, 12, tzinfo=UTC), actor="ann", action="issued"
    )
    batch_write(store, [license_item(recent), _history_item(now)])
    try:
        on_day(TODAY)
        assert activity_count(queries, "issued", today=TODAY) == 1

        result = CliRunner().invoke(main, ["--json", "admin", "backfill-indexes", "--yes"])
        assert result.exit_code == 0, result.output
        answer = json.loads(result.stdout)
        assert answer["history"] == 4 and answer["licenses"] == 0
        assert activity_count(queries, "issued", today=TODAY) == 1 + 3
        listed = [found.license.id for found in activity_page(queries, "issued", today=TODAY).items]
        assert listed == [recent.id, *stored[2::-1]]
        assert activity_count(queries, "issued", today=TODAY, days=60) == 1 + 4

        again = CliRunner().invoke(main, ["--json", "admin", "backfill-indexes", "--yes"])
        assert json.loads(again.stdout)["history"] == 0
        every = CliRunner().invoke(main, ["--json", "admin", "backfill-indexes", "--yes", "--days", "0"])
        assert json.loads(every.stdout)["history"] == 1  # the 2025 renewal
        assert activity_count(queries, "renewed", today=date(2025, 5, 20), days=30) == 1
    finally:
        dates.set_local_day(None)
