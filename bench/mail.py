"""Mail at scale, on the emulator (`make bench`), through the real notifier handlers and queues.

- `notify_ses_calls_per_100`: SES calls per 100 recipients of an announcement (healthy SES).
- `notify_emails_per_s`, `notify_rate_ratio`: the rate two concurrent bulk workers reach, first
  send to last, and that rate over the configured MAIL_RATE_PER_SECOND (at most 1 by design).
- `transactional_delay_during_blast`: a license mail published while the announcement is being
  sent, from the transactional notifier's start to its SES call, in send intervals.
- `fanout_max_items_per_invocation`: the most licenses one fan-out invocation read, walking a
  10,000-license audience page by page (the continuation events are followed in process). 50,000
  was tried: it did not finish in 18 minutes on the shared 2-core machine, because the emulator's
  Query reads the whole index partition for every page (its cost grows with the audience; the
  page, and DynamoDB's work per page, do not).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path
from typing import Any

RATE = 5.0  # mails per second: below what the busy emulator sustains with two workers (about 8)
RECIPIENTS = 150
AUDIENCE = 10_000


def measure_mail(session: Any) -> dict[str, float]:
    from licensing import wiring

    os.environ["MAIL_RATE_PER_SECOND"] = str(RATE)
    wiring.reset()
    results = _blast(session)
    results["fanout_max_items_per_invocation"] = _fan_out(session)
    return results


def _blast(session: Any) -> dict[str, float]:
    from licensing import catalogue, wiring
    from licensing.adapters.aws import sending_client
    from licensing.adapters.dynamo import DynamoStore
    from licensing.adapters.events import EventBridgePublisher
    from licensing.adapters.s3 import S3Files
    from licensing.devserver.functions import invoker
    from licensing.devserver.resources import LOCAL
    from licensing.devserver.workers import QueueWorker
    from licensing.models import Account, Product
    from licensing.services.issuing import issue_licenses
    from licensing.services.releases import publish_release, release_published_event

    store = DynamoStore(LOCAL.table)
    bus = EventBridgePublisher(LOCAL.bus)
    product = Product(slug="mail-bench", name="Mail Bench")
    store.put_product(product)
    for n in range(RECIPIENTS):
        account = Account(id=f"acc_mail_{n}", name=f"Mail {n}")
        store.create_account(account)
        store.add_contact(account.id, f"it{n}@mail{n}.test")
        issue_licenses(store, None, product=product, account=account, actor="bench")
    buyer = Account(id="acc_buyer", name="Buyer")
    store.create_account(buyer)
    store.add_contact(buyer.id, "buyer@buyer.test")

    sends: list[tuple[float, str]] = []
    lock = threading.Lock()

    def on_send(params: dict[str, Any], **_: Any) -> None:
        with lock:
            sends.append((time.time(), params["Destination"]["ToAddresses"][0]))

    sending_client("sesv2").meta.events.register("provide-client-params.sesv2.SendEmail", on_send)
    sqs = session.client("sqs")
    queues = {
        queue.name: sqs.get_queue_url(QueueName=LOCAL.queue(queue.name))["QueueUrl"]
        for queue in catalogue.QUEUES
    }
    bulk = catalogue.function("bulk_notifier")
    # Two bulk workers, as the mapping's maximum concurrency starts: each its own handler module.
    functions = [*catalogue.FUNCTIONS, dataclasses.replace(bulk, name="bulk_notifier_2", code="notifier")]
    invoke = invoker(functions, Path(__file__).resolve().parents[1])
    started: dict[str, float] = {}

    def timed(name: str, event: dict[str, Any]) -> Any:
        if name == "notifier":
            started.setdefault("license", time.time())
        return invoke(name, event)

    stop = threading.Event()

    def work(function: Any) -> None:
        worker = QueueWorker(function, queues[str(function.queue)], timed, sqs, wait_seconds=0)
        while not stop.is_set():
            if not worker.poll_once():
                time.sleep(0.05)

    threads = [
        threading.Thread(target=work, args=(function,), daemon=True)
        for function in functions
        if function.queue
    ]
    release = publish_release(
        store, S3Files(LOCAL.bucket), product=product.slug, version="1.1.0", filename="b.zip", data=b"zip"
    )
    bus.publish([release_published_event(release)])
    for thread in threads:
        thread.start()
    deadline = time.time() + RECIPIENTS / RATE * 3 + 60
    while len([s for s in sends if s[1] != "buyer@buyer.test"]) < RECIPIENTS // 3 and time.time() < deadline:
        time.sleep(0.1)
    # A customer buys while the announcement goes out.
    issue_licenses(store, bus, product=product, account=buyer, actor="bench")
    while len(sends) < RECIPIENTS + 1 and time.time() < deadline:
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    wiring.reset()
    if len(sends) != RECIPIENTS + 1:
        raise SystemExit(f"the mail benchmark sent {len(sends)} mails, not {RECIPIENTS + 1}")
    blast = [at for at, to in sends if to != "buyer@buyer.test"]
    (license_sent,) = [at for at, to in sends if to == "buyer@buyer.test"]
    rate = (len(blast) - 1) / (max(blast) - min(blast))
    return {
        "notify_ses_calls_per_100": len(sends) * 100 / (RECIPIENTS + 1),
        "notify_emails_per_s": rate,
        "notify_rate_ratio": rate / RATE,
        "transactional_delay_during_blast": (license_sent - started["license"]) * RATE,
    }


def _fan_out(session: Any) -> float:
    from licensing.adapters.dynamo import DynamoStore, license_item
    from licensing.adapters.dynamo.base import serialize
    from licensing.devserver.resources import LOCAL
    from licensing.events import ReleasePublished
    from licensing.models import License, LicenseStatus
    from licensing.services.releases import fan_out_release
    from licensing.settings import get_settings

    dynamodb = session.client("dynamodb")
    store = DynamoStore(LOCAL.table, dynamodb)
    template = License.model_validate(
        {
            "id": "lic_x",
            "key": "KEYX",
            "name": "Fan-out",
            "product": "fanout-bench",
            "status": LicenseStatus.ACTIVE,
            "account_id": "acc_x",
            "starts_on": "2026-01-01",
            "ends_on": "2030-01-01",
            "max_sites": 3,
            "grace_days": 7,
        }
    )
    batch: list[dict[str, Any]] = []
    for n in range(AUDIENCE):
        item = license_item(
            template.model_copy(
                update={"id": f"lic_f{n:06d}", "key": f"KEYF{n:06d}", "account_id": f"acc_f{n}"}
            )
        )
        batch.append({"PutRequest": {"Item": serialize(item)}})
        if len(batch) == 25:
            _write(dynamodb, batch)
            batch = []
    if batch:
        _write(dynamodb, batch)

    class Follow:
        """The bus, followed in process: announcements counted, continuations run next."""

        def __init__(self) -> None:
            self.pending: list[ReleasePublished] = []
            self.announced = 0

        def publish(self, events: list[Any]) -> None:
            for event in events:
                if isinstance(event, ReleasePublished):
                    self.pending.append(event)
                else:
                    self.announced += 1

    bus = Follow()
    bus.pending.append(ReleasePublished(product="fanout-bench", version="1.0.0", run="bench"))
    page_size = get_settings().fanout_page_size
    largest = 0
    while bus.pending:
        largest = max(largest, fan_out_release(store, bus, bus.pending.pop(), page_size=page_size))
    if bus.announced != AUDIENCE:
        raise SystemExit(f"the fan-out announced {bus.announced} accounts, not {AUDIENCE}")
    return float(largest)


def _write(dynamodb: Any, batch: list[dict[str, Any]]) -> None:
    from licensing.devserver.resources import LOCAL

    requests = {LOCAL.table: batch}
    while requests:
        requests = dynamodb.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
