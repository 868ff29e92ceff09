"""Mail at scale, on the emulator (`make bench`), through the real notifier handlers and queues.

- `notify_ses_calls_per_100`: SES calls per 100 recipients of an announcement (healthy SES).
- `notify_emails_per_s`, `notify_rate_ratio`: the rate two concurrent bulk workers reach, first
  send to last, and that rate over the configured MAIL_RATE_PER_SECOND (at most 1 by design).
- `transactional_delay_during_blast`: a license mail published while the announcement is being
  sent, from the transactional notifier's start to its SES call, in send intervals.

`fanout_max_items_per_invocation` (50,000 licenses) is measured on DynamoDB Local: `bench/fanout.py`.
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


def measure_mail(session: Any) -> dict[str, float]:
    from licensing import wiring

    os.environ["MAIL_RATE_PER_SECOND"] = str(RATE)
    wiring.reset()
    return _blast(session)


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
