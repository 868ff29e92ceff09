"""Mail at scale: a release reaches every contact exactly once, a page at a time, paced on one
shared schedule, through SES throttling and a worker that dies mid-page; bulk mail yields to
transactional mail and to the daily quota. Real table, bus, queues and mailbox (moto); only SES's
throttling is a fake port."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from licensing import catalogue, wiring
from licensing.adapters.dynamo import DynamoStore
from licensing.adapters.events import EventBridgePublisher
from licensing.adapters.s3 import S3Files
from licensing.adapters.ses import SesMailer
from licensing.cli import main as cli
from licensing.devserver.functions import invoker
from licensing.devserver.mailbox import Mailbox
from licensing.devserver.workers import QueueWorker
from licensing.mail import Message
from licensing.models import Site
from licensing.services.issuing import issue_licenses
from licensing.services.pacing import DailyQuota, Deferred, Pacer, Quota, Throttled
from licensing.services.releases import publish_release, release_published_event
from tests import factories
from tests.conftest import ROOT

PAGE = 7


class ThrottlingSes:
    """SES as a throttled account answers: every third call refused as too fast; the others sent
    for real (to the emulator's mailbox)."""

    def __init__(self) -> None:
        self.real = SesMailer(wiring.settings().require("mail_from"))
        self.calls = 0
        self.throttled = 0

    def send(self, message: Message) -> str:
        self.calls += 1
        if self.calls % 3 == 0:
            self.throttled += 1
            raise Throttled("TooManyRequestsException")
        return self.real.send(message)


class WorkerDied(BaseException):
    """The process ends mid-invocation (timeout, out of memory): nothing of its batch is deleted."""


class CrashOnce:
    """The bus, for a worker that dies after publishing part of its page."""

    def __init__(self, after: int) -> None:
        self.real = EventBridgePublisher(wiring.settings().require("event_bus_name"))
        self.after = after
        self.crashed = False

    def publish(self, events: list[Any]) -> None:
        if not self.crashed and len(events) > self.after:
            self.real.publish(events[: self.after])
            self.crashed = True
            raise WorkerDied()
        self.real.publish(events)


def drain(aws: dict[str, Any]) -> None:
    """Run both notifiers until their queues are empty; a dead worker's batch comes back at once
    (as after its visibility timeout)."""
    sqs = boto3.client("sqs")
    invoke = invoker(catalogue.FUNCTIONS, ROOT)

    def invoke_or_die(name: str, event: dict[str, Any]) -> Any:
        try:
            return invoke(name, event)
        except WorkerDied:
            for record in event["Records"]:
                url = sqs.get_queue_url(QueueName=record["eventSourceARN"].rsplit(":", 1)[1])["QueueUrl"]
                sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                )
            return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    workers = [
        QueueWorker(function, aws["queues"][function.queue], invoke_or_die, sqs, wait_seconds=0)
        for function in catalogue.FUNCTIONS
        if function.queue
    ]
    for _ in range(500):
        if not sum(worker.poll_once() for worker in workers) and not visible(sqs, aws):
            return
    raise AssertionError("the queues did not empty")


def visible(sqs: Any, aws: dict[str, Any]) -> int:
    return sum(
        int(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ]["ApproximateNumberOfMessages"]
        )
        for url in aws["queues"].values()
    )


@pytest.fixture
def release(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("FANOUT_PAGE_SIZE", str(PAGE))
    monkeypatch.setenv("MAIL_RATE_PER_SECOND", "500")
    wiring.reset()
    store = DynamoStore(aws["names"].table)
    product = factories.product("crm-exporter")
    store.put_product(product)
    contacts: list[str] = []
    for n in range(24):
        account = factories.account(f"Firm {n}")
        store.create_account(account)
        email = f"it{n}@firm{n}.test"
        store.add_contact(account.id, email)
        contacts.append(email)
        issue_licenses(store, None, product=product, account=account, actor="t")
        if n % 5 == 0:  # some hold two licenses of the product: still one mail
            issue_licenses(store, None, product=product, account=account, actor="t")
        if n == 3:  # a contact of two accounts: one mail
            store.add_contact(account.id, contacts[0])
    # An account whose every site already runs the new version hears nothing.
    current = factories.account("Up To Date")
    store.create_account(current)
    store.add_contact(current.id, "ops@uptodate.test")
    (license,) = issue_licenses(store, None, product=product, account=current, actor="t")
    store.save_license(
        license.model_copy(
            update={"sites": {"crm.uptodate.test": Site(host="crm.uptodate.test", version="2.0.0")}}
        )
    )
    published = publish_release(
        store,
        S3Files(aws["names"].bucket),
        product=product.slug,
        version="2.0.0",
        filename="x.zip",
        data=b"zip",
    )
    return {
        "store": store,
        "contacts": contacts,
        "event": release_published_event(published),
        "product": product,
    }


def dead_letters(aws: dict[str, Any]) -> int:
    sqs = boto3.client("sqs")
    total = 0
    for url in aws["queues"].values():
        attributes = sqs.get_queue_attributes(
            QueueUrl=f"{url}-dlq", AttributeNames=["ApproximateNumberOfMessages"]
        )
        total += int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    return total


def test_throttled_ses_and_a_dead_worker_still_mail_every_contact_exactly_once(
    aws: dict[str, Any], release: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ses = ThrottlingSes()
    crash = CrashOnce(after=3)
    monkeypatch.setattr(wiring, "mailer", lambda: ses)
    monkeypatch.setattr(wiring, "publisher", lambda: crash)
    pages: list[int] = []
    real_page = DynamoStore.active_license_page

    def counted_page(self: DynamoStore, product: str, *, start: Any, limit: int) -> Any:
        answer = real_page(self, product, start=start, limit=limit)
        pages.append(len(answer[0]))
        return answer

    monkeypatch.setattr(DynamoStore, "active_license_page", counted_page)
    EventBridgePublisher(aws["names"].bus).publish([release["event"]])

    drain(aws)

    received = Counter(address for message in Mailbox().messages() for address in message["to"])
    assert received == Counter({email: 1 for email in release["contacts"]})
    assert "ops@uptodate.test" not in received
    assert crash.crashed and ses.throttled == ses.calls // 3
    assert ses.calls == len(release["contacts"]) + ses.throttled  # a throttled call is tried again
    assert dead_letters(aws) == 0
    assert max(pages) <= PAGE and len(pages) >= 29 // PAGE + 1  # 29 licenses, pages of at most 7
    status = CliRunner().invoke(
        cli,
        [
            "--local",
            "--aws-port",
            aws["endpoint"].rsplit(":", 1)[1],
            "--json",
            "releases",
            "status",
            "crm-exporter",
            "2.0.0",
        ],
    )
    assert status.exit_code == 0, status.output
    tally = json.loads(status.output)
    assert tally["sent"] == len(release["contacts"])
    assert tally["skipped"] == 1 and tally["fanned_out"] is True
    assert tally["queued"] >= 24 and tally["failed"] == 0


def test_a_redelivered_page_neither_restarts_the_list_nor_mails_twice(
    aws: dict[str, Any], release: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    EventBridgePublisher(aws["names"].bus).publish([release["event"]])
    drain(aws)
    first = len(Mailbox().messages())
    # The same first page again (SQS delivers at least once): nothing more is queued or sent.
    EventBridgePublisher(aws["names"].bus).publish([release["event"]])
    drain(aws)
    assert len(Mailbox().messages()) == first == len(release["contacts"])
    tally = release["store"].release_tally("crm-exporter", "2.0.0")
    assert tally["pages"] == 29 // PAGE + 1


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_license_mail_waits_behind_no_more_than_the_slots_the_bulk_workers_hold(
    aws: dict[str, Any],
) -> None:
    clock = Clock()
    store = DynamoStore(aws["names"].table)
    rate = 10.0
    pacers = [Pacer(store, rate_per_second=rate, clock=clock, sleep=clock.sleep) for _ in range(3)]
    # Two bulk workers try to book as far ahead as they can without time passing.
    booked = 0
    for _ in range(20):
        for pacer in pacers[:2]:
            if (
                store.book_send_slot("ses", now=clock(), interval=pacer.interval, horizon=pacer.interval)
                is not None
            ):
                booked += 1
    before = clock()
    pacers[2].wait_turn(bulk=False)
    waited_intervals = (clock() - before) * rate
    assert booked == 2  # bulk holds one slot ahead, not the blast
    assert waited_intervals <= 2 + 1e-9


def test_a_throttled_send_slows_everyone_down_instead_of_failing(aws: dict[str, Any]) -> None:
    clock = Clock()
    store = DynamoStore(aws["names"].table)
    pacer = Pacer(store, rate_per_second=10, clock=clock, sleep=clock.sleep)
    pacer.wait_turn(bulk=True)
    pacer.slow_down()
    before = clock()
    pacer.wait_turn(bulk=False)
    assert clock() - before >= 1.0  # the schedule paused for a second


def test_bulk_mail_yields_the_last_tenth_of_the_daily_quota_to_license_mail() -> None:
    quota = DailyQuota(
        lambda: Quota(max_send_rate=14, max_24_hour_send=1000, sent_last_24_hours=899), bulk_share=0.9
    )
    quota.check(bulk=True)
    quota.note_sent()
    with pytest.raises(Deferred) as deferred:
        quota.check(bulk=True)
    assert deferred.value.delay_seconds > 0
    quota.check(bulk=False)  # keys and sign-in links still go out
    spent = DailyQuota(
        lambda: Quota(max_send_rate=14, max_24_hour_send=1000, sent_last_24_hours=1000), bulk_share=0.9
    )
    with pytest.raises(Deferred):
        spent.check(bulk=False)


def test_a_deferred_mail_goes_back_to_its_queue_with_a_later_visibility(
    aws: dict[str, Any], release: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    spent = DailyQuota(
        lambda: Quota(max_send_rate=14, max_24_hour_send=100, sent_last_24_hours=95), bulk_share=0.9
    )
    monkeypatch.setattr(wiring, "daily_quota", lambda: spent)
    EventBridgePublisher(aws["names"].bus).publish([release["event"]])
    drain(aws)  # the fan-out runs; every announcement is deferred (bulk has no quota left)
    assert Mailbox().messages() == []
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=aws["queues"]["bulk"], AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert int(attributes["ApproximateNumberOfMessagesNotVisible"]) >= 24
    assert dead_letters(aws) == 0
