"""`make bench`, the fan-out's leg: a release announced to FANOUT_AUDIENCE license holders on AWS's
DynamoDB Local, merged into bench/results.json.

- `fanout_max_items_per_invocation`: the most licenses one fan-out invocation read, walking the
  whole audience page by page (goal: the page size, at most 1,000, whatever the audience).
- `fanout_invocations_50k`: how many invocations the walk took (the audience over the page size,
  plus the hand-on of the last page).

FANOUT_AUDIENCE licenses of one product, each of its own account (one contact each), are written
with BatchWriteItem as the store writes them (the sparse `active` index included). Then the first
`ReleasePublished` and every continuation it hands on are run, one after another, through the
notifier's own service (`fan_out_release`, the setting's page size, the store's ledger and counters
on the table); each published event goes through its JSON detail and back, as EventBridge and SQS
carry it. The walk must queue one `ReleaseMail` per account, none twice, and the release's
counters must say so. Not on moto: its Query reads the whole index partition for every page, so
50,000 licenses did not finish there in 18 minutes.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench import merge_results
from bench.dynamodb_local import dynamodb_local

FANOUT_AUDIENCE = 50_000
TABLE = "licensing-fanout"
PRODUCT = "fanout-bench"


def seed(dynamodb: Any, audience: int) -> None:
    from licensing.adapters.dynamo import license_item
    from licensing.adapters.dynamo.base import serialize
    from licensing.models import License, LicenseStatus

    template = License.model_validate(
        {
            "id": "lic_x",
            "key": "KEYX",
            "name": "Fan-out",
            "product": PRODUCT,
            "status": LicenseStatus.ACTIVE,
            "account_id": "acc_x",
            "starts_on": "2026-01-01",
            "ends_on": "2030-01-01",
            "max_sites": 3,
            "grace_days": 7,
        }
    )
    items = (
        {
            "PutRequest": {
                "Item": serialize(
                    license_item(
                        template.model_copy(
                            update={
                                "id": f"lic_f{n:06d}",
                                "key": f"KEYF{n:06d}",
                                "account_id": f"acc_f{n:06d}",
                            }
                        )
                    )
                )
            }
        }
        for n in range(audience)
    )
    batches: list[list[dict[str, Any]]] = []
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) == 25:
            batches.append(batch)
            batch = []
    if batch:
        batches.append(batch)

    def write(batch: list[dict[str, Any]]) -> None:
        requests: dict[str, Any] = {TABLE: batch}
        while requests:
            requests = dynamodb.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, batches))


class Bus:
    """EventBridge and the bulk queue, followed in process: each event through its JSON detail and
    back; announcements counted per account, continuations run next."""

    def __init__(self) -> None:
        from licensing.events import ReleasePublished

        self.pending: list[ReleasePublished] = []
        self.announced: Counter[str] = Counter()

    def publish(self, events: list[Any]) -> None:
        from licensing import events as domain

        for event in events:
            carried = domain.parse(event.detail_type, json.loads(json.dumps(event.detail, default=str)))
            if isinstance(carried, domain.ReleasePublished):
                self.pending.append(carried)
            elif isinstance(carried, domain.ReleaseMail):
                self.announced[carried.account_id] += 1
            else:
                raise SystemExit(f"the fan-out published an unexpected {event.detail_type}")


def fan_out_figures(dynamodb: Any, audience: int = FANOUT_AUDIENCE) -> dict[str, float]:
    from licensing.adapters.dynamo import DynamoStore
    from licensing.events import ReleasePublished
    from licensing.settings import get_settings

    started = time.perf_counter()
    seed(dynamodb, audience)
    seeded = time.perf_counter()
    store = DynamoStore(TABLE, dynamodb)
    bus = Bus()
    from licensing.services.releases import fan_out_release

    bus.pending.append(ReleasePublished(product=PRODUCT, version="1.0.0", run="bench"))
    page_size = get_settings().fanout_page_size
    pages: list[int] = []
    while bus.pending:
        pages.append(fan_out_release(store, bus, bus.pending.pop(0), page_size=page_size))
    walked = time.perf_counter()
    expected = {f"acc_f{n:06d}" for n in range(audience)}
    twice = [account for account, times in bus.announced.items() if times != 1]
    if set(bus.announced) != expected or twice:
        raise SystemExit(
            f"the fan-out queued {len(bus.announced)} of {audience} accounts, {len(twice)} more than once"
        )
    tally = store.release_tally(PRODUCT, "1.0.0")
    if tally["queued"] != audience or tally["pages"] != len(pages) or not tally["fanned_out"]:
        raise SystemExit(f"the release's counters say {tally}, not {audience} queued in {len(pages)} pages")
    print(
        f"fan-out of {audience:,} licenses: seeded in {seeded - started:.0f} s, "
        f"walked in {walked - seeded:.0f} s ({len(pages)} invocations of at most {page_size})"
    )
    return {"fanout_max_items_per_invocation": float(max(pages)), "fanout_invocations_50k": float(len(pages))}


def main() -> None:
    with dynamodb_local(TABLE) as dynamodb:
        figures = fan_out_figures(dynamodb)
    merge_results(figures)


if __name__ == "__main__":
    main()
