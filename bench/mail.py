"""`make bench`, the mail leg: a release announced to RECIPIENTS (5,000) license holders, sent
through the real notifier handlers, queues and workers, merged into bench/results.json.

- `notify_ses_calls_per_100`: SES requests (botocore's `before-send`, one per HTTP attempt) per 100
  recipients mailed; nobody is mailed twice (goal 100: the sending client retries nothing itself).
- `notify_emails_per_s`, `notify_rate_ratio`: the rate two concurrent bulk workers reach, first
  send to last, and that rate over the configured MAIL_RATE_PER_SECOND (at most 1 by design).
- `transactional_delay_during_blast`: a license mail published while the announcement is under way
  (at least BLAST_SENT_BEFORE of it sent, and just after one of its pages handed on, when the bulk
  queue holds the most), from the transactional notifier's start to the license mail's SES call,
  in send intervals (1 / MAIL_RATE_PER_SECOND; goal at most 5).
- `transactional_sends_ahead_during_blast`: the announcement's SES calls in that time (the license
  mail's place among the sends); `transactional_blast_left_when_sent`: how much of the
  announcement was still to be sent when the license mail went; `transactional_bulk_queued_when_
  published`: the bulk queue's visible messages then (about one page: each page's next page is
  queued behind its own mails).

The run ends BLAST_SENT_AFTER sends after the license mail, with the rest of the announcement
still queued: sending all 5,000 at a rate this machine sustains would take 17 minutes and measure
nothing more (the fan-out's whole walk is `bench/fanout.py`'s).

The table is on AWS's DynamoDB Local (moto's Query reads a whole index partition per call, so each
mail's reads would grow with the audience there); the bus, queues and bucket on moto in a process of
its own; SES is a local SES v2 endpoint (`tests/sesv2_endpoint.py`) that answers at once. The
workers run as the dev server runs them: one on the transactional queue, two on the bulk queue
(the mapping's maximum concurrency), each invoking the notifier's handler with SQS batches.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import merge_results
from bench.dynamodb_local import dynamodb_local

# Mails per second: below what two workers sustain on this shared 2-core machine (about 7 to 11 a
# second, with other test runs), so that the shared schedule, not the machine, sets the pace (the
# rate ratio shows it) and a send interval is 1 / RATE.
RATE = 5.0
RECIPIENTS = 5_000
# The license mail is published once at least this many of the announcement went out, and the run
# ends this many sends after the license mail.
BLAST_SENT_BEFORE = 300
BLAST_SENT_AFTER = 100
BUYER = "buyer@buyer.test"


def measure_mail(session: Any, *, recipients: int, rate: float) -> dict[str, float]:
    from licensing import wiring

    os.environ["MAIL_RATE_PER_SECOND"] = str(rate)
    wiring.reset()
    return _blast(session, recipients=recipients, rate=rate)


def _seed(store: Any, product: Any, recipients: int) -> None:
    """`recipients` accounts, each with one contact and one active license of `product`, written
    with BatchWriteItem as the store writes them (the store's own transactions take a minute per
    thousand holders here)."""
    from licensing.adapters.dynamo import keys, license_item
    from licensing.adapters.dynamo.base import serialize
    from licensing.adapters.dynamo.imports import ImportRepository
    from licensing.dates import utc_now
    from licensing.models import Account, License, LicenseStatus

    accounts = [Account(id=f"acc_mail_{n}", name=f"Mail {n}") for n in range(recipients)]
    ImportRepository(store.table_name, store.dynamodb).put_new_accounts(accounts)
    now = utc_now().isoformat()
    items: list[dict[str, Any]] = []
    for n, account in enumerate(accounts):
        email = f"it{n}@mail{n}.test"
        license = License.model_validate(
            {
                "id": f"lic_mail_{n:06d}",
                "key": f"KEYM-{n:06d}",
                "name": product.name,
                "product": product.slug,
                "status": LicenseStatus.ACTIVE,
                "account_id": account.id,
                "starts_on": "2026-01-01",
                "ends_on": "2030-01-01",
                "max_sites": 3,
                "grace_days": 7,
            }
        )
        items += [
            license_item(license),
            {
                **keys.contact(email).as_item(),
                "item_type": "contact",
                "email": email,
                "name": "",
                "created_at": now,
                "release_mail_opt_out": [],
                "account_ids": {account.id},
            },
            {**keys.membership(account.id, email).as_item(), "item_type": "membership", "email": email},
        ]

    def write(batch: list[dict[str, Any]]) -> None:
        requests: dict[str, Any] = {store.table_name: [{"PutRequest": {"Item": serialize(i)}} for i in batch]}
        while requests:
            requests = store.dynamodb.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, [items[start : start + 25] for start in range(0, len(items), 25)]))


def _blast(session: Any, *, recipients: int, rate: float) -> dict[str, float]:
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
    began = time.perf_counter()
    _seed(store, product, recipients)
    print(f"{recipients:,} license holders written in {time.perf_counter() - began:.0f} s")
    buyer = Account(id="acc_buyer", name="Buyer")
    store.create_account(buyer)
    store.add_contact(buyer.id, BUYER)

    sends: list[tuple[float, str]] = []
    lock = threading.Lock()

    def on_send(params: dict[str, Any], **_: Any) -> None:
        with lock:
            sends.append((time.time(), params["Destination"]["ToAddresses"][0]))

    sending_client("sesv2").meta.events.register("provide-client-params.sesv2.SendEmail", on_send)
    attempts: list[float] = []  # every HTTP request to SES, botocore's retries included (none)
    sending_client("sesv2").meta.events.register(
        "before-send.sesv2.SendEmail", lambda **_: attempts.append(time.time())
    )
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
        if function.queue in queues  # not the SES feedback queue's consumer
    ]
    release = publish_release(
        store, S3Files(LOCAL.bucket), product=product.slug, version="1.1.0", filename="b.zip", data=b"zip"
    )
    bus.publish([release_published_event(release)])
    sending = time.perf_counter()
    for thread in threads:
        thread.start()
    deadline = time.time() + (BLAST_SENT_BEFORE + 2 * wiring.settings().fanout_page_size) / rate * 3 + 120

    def waiting(done: Any) -> None:
        while not done():
            if time.time() > deadline:
                stop.set()
                raise SystemExit(f"the mail benchmark stalled after {len(sends)} mails")
            time.sleep(0.2)

    before = min(BLAST_SENT_BEFORE, recipients // 3)

    def depth() -> int:
        attributes = sqs.get_queue_attributes(
            QueueUrl=queues["bulk"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    # The announcement under way with thousands to go, just after a page handed on: a page's next
    # page is queued behind its mails, so the bulk queue holds at most about a page at a time.
    page = wiring.settings().fanout_page_size
    waiting(lambda: len(sends) >= before and depth() >= min(page, recipients) * 0.8)
    queued = depth()
    print(f"the license mail is published after {len(sends)} mails, {queued:,} on the bulk queue")
    # A customer buys while the announcement goes out.
    issue_licenses(store, bus, product=product, account=buyer, actor="bench")
    waiting(lambda: any(to == BUYER for _, to in sends))
    at_license = len(sends)
    waiting(lambda: len(sends) >= at_license + BLAST_SENT_AFTER)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    wiring.reset()
    print(f"{len(sends):,} mails sent in {time.perf_counter() - sending:.0f} s")
    blast = [at for at, to in sends if to != BUYER]
    (license_sent,) = [at for at, to in sends if to == BUYER]
    mailed = {to for _, to in sends}
    if len(mailed) != len(sends):
        raise SystemExit("someone was mailed twice")
    achieved = (len(blast) - 1) / (max(blast) - min(blast))
    figures = {
        "notify_ses_calls_per_100": len(attempts) * 100 / len(mailed),
        "notify_emails_per_s": achieved,
        "notify_rate_ratio": achieved / rate,
        "transactional_delay_during_blast": (license_sent - started["license"]) * rate,
        "transactional_sends_ahead_during_blast": float(
            sum(1 for at in blast if started["license"] <= at < license_sent)
        ),
        "transactional_blast_left_when_sent": float(recipients - sum(1 for at in blast if at < license_sent)),
        "transactional_bulk_queued_when_published": float(queued),
    }
    return figures


@contextmanager
def moto_server() -> Iterator[str]:
    """The emulator in a process of its own (its request handling then competes with the workers
    for a core, not for this interpreter's lock): its endpoint."""
    import subprocess
    import sys

    from bench.dynamodb_local import free_port, wait_for_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, "the emulator")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def main() -> None:
    import secrets

    import boto3

    from licensing.devserver.resources import LOCAL, provision
    from licensing.devserver.server import local_environment
    from tests.sesv2_endpoint import sesv2_endpoint

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=RECIPIENTS)
    parser.add_argument("--rate", type=float, default=RATE, help="MAIL_RATE_PER_SECOND of the run")
    arguments = parser.parse_args()

    with dynamodb_local(None) as dynamodb, moto_server() as endpoint, sesv2_endpoint() as ses:
        os.environ.update(
            {
                **local_environment(endpoint, "http://127.0.0.1:8000"),
                "AWS_ENDPOINT_URL_DYNAMODB": dynamodb.meta.endpoint_url,
                "SIGNING_KEY": secrets.token_hex(32),
                "TOKEN_KEY": secrets.token_hex(32),
                "POWERTOOLS_LOG_LEVEL": "ERROR",
            }
        )
        os.environ.pop("POWERTOOLS_METRICS_NAMESPACE", None)  # no metric lines in the table
        provision(boto3.session.Session(), LOCAL)
        # SES from here on: the local SES v2 endpoint, which sends nothing and answers at once.
        os.environ["AWS_ENDPOINT_URL_SESV2"] = ses.url
        figures = measure_mail(boto3.session.Session(), recipients=arguments.recipients, rate=arguments.rate)
        if len(ses.requests) != len(ses.sent):
            raise SystemExit(f"SES received {len(ses.requests)} requests for {len(ses.sent)} mails")
    merge_results(figures)


if __name__ == "__main__":
    main()
