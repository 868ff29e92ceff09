"""SES bounces and complaints, as SES publishes them (EventBridge's default bus -> the mail events
queue -> the ses_events function), and the notifier that then leaves the address alone."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from licensing import catalogue
from licensing.adapters.dynamo import keys
from licensing.adapters.dynamo.base import serialize
from licensing.devserver.functions import LambdaContext, load_handler
from licensing.devserver.resources import LOCAL
from licensing.devserver.workers import QueueWorker
from licensing.services.suppression import SUPPRESSED, UNSUPPRESSED, unsuppress

from .test_notifier import BEA, CARL, ROOT, Invoke, Shop, batch, failed_ids, inbox, open_shop, sqs_record

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "aws-events"
SES_EVENTS = catalogue.function("ses_events")


def ses_event(name: str, address: str, **changes: Any) -> dict[str, Any]:
    """SES's sample event (sesBounceEvent.json, sesComplaintEvent.json) for `address`."""
    event = copy.deepcopy(json.loads((SAMPLES / name).read_text()))
    detail = event["detail"]
    feedback = detail.get("bounce") or detail["complaint"]
    feedback.update(changes)
    for recipient in feedback.get("bouncedRecipients", []) + feedback.get("complainedRecipients", []):
        recipient["emailAddress"] = address
    detail["mail"]["destination"] = [address]
    return event


@pytest.fixture
def shop(aws: dict[str, Any]) -> Shop:
    return open_shop("Acme Corp", {BEA: "Bea Buyer", CARL: "Carl Admin"})


@pytest.fixture
def ses_events(aws: dict[str, Any]) -> Invoke:
    handler = load_handler(SES_EVENTS, ROOT)
    return lambda event: handler(event, LambdaContext(SES_EVENTS))


@pytest.fixture
def notifier(aws: dict[str, Any]) -> Invoke:
    function = catalogue.function("notifier")
    handler = load_handler(function, ROOT)
    return lambda event: handler(event, LambdaContext(function))


def history(shop: Shop, license_id: str, action: str) -> list[Any]:
    return [entry for entry in shop.store.license_history(license_id) if entry.action == action]


def test_a_permanent_bounce_suppresses_the_contact_and_every_license_says_so(
    shop: Shop, ses_events: Invoke
) -> None:
    licenses = shop.issue(quantity=2)
    record = sqs_record(ses_event("sesBounceEvent.json", "Bea@Acme.test"))

    assert failed_ids(ses_events(batch(record))) == []
    # SQS delivers at least once: the same event again adds nothing.
    assert failed_ids(ses_events(batch(record))) == []

    contact = shop.store.get_contact(BEA)
    assert contact is not None and contact.suppressed is not None
    assert contact.suppressed.reason == "bounce: General (5.1.1)"
    assert contact.suppressed.at.isoformat().startswith("2017-08-05T00:41:02")
    for license in licenses:
        (entry,) = history(shop, license.id, SUPPRESSED)
        assert entry.actor == "ses" and entry.detail == {"email": BEA, "reason": "bounce: General (5.1.1)"}
        assert not entry.customer_visible
    carl = shop.store.get_contact(CARL)
    assert carl is not None and carl.suppressed is None


def test_a_complaint_suppresses_and_a_transient_bounce_does_not(shop: Shop, ses_events: Invoke) -> None:
    shop.issue()
    transient = ses_event("sesBounceEvent.json", BEA, bounceType="Transient", bounceSubType="MailboxFull")
    complaint = ses_event("sesComplaintEvent.json", CARL)
    stranger = ses_event("sesComplaintEvent.json", "nobody@elsewhere.test")

    answer = ses_events(batch(sqs_record(transient), sqs_record(complaint), sqs_record(stranger)))

    assert failed_ids(answer) == []
    bea, carl = shop.store.get_contact(BEA), shop.store.get_contact(CARL)
    assert bea is not None and bea.suppressed is None
    assert carl is not None and carl.suppressed is not None and carl.suppressed.reason == "complaint: abuse"
    assert shop.store.get_contact("nobody@elsewhere.test") is None


def test_an_event_that_is_not_ses_shaped_is_dropped_without_holding_back_its_batch(
    shop: Shop, ses_events: Invoke
) -> None:
    garbled = ses_event("sesBounceEvent.json", BEA)
    del garbled["detail"]["bounce"]
    good = sqs_record(ses_event("sesComplaintEvent.json", CARL))

    assert failed_ids(ses_events(batch(sqs_record(garbled), good))) == []
    bea, carl = shop.store.get_contact(BEA), shop.store.get_contact(CARL)
    assert bea is not None and bea.suppressed is None
    assert carl is not None and carl.suppressed is not None


def test_a_bounce_the_store_cannot_apply_is_retried_not_dropped(shop: Shop, ses_events: Invoke) -> None:
    shop.issue()
    # A contact item this version cannot read (written by hand, or by a newer schema).
    item = shop.store.dynamodb.get_item(TableName=LOCAL.table, Key=serialize(keys.contact(BEA).as_item()))[
        "Item"
    ]
    item["created_at"] = {"S": "not a time"}
    shop.store.dynamodb.put_item(TableName=LOCAL.table, Item=item)
    record = sqs_record(ses_event("sesBounceEvent.json", BEA))
    assert failed_ids(ses_events(batch(record))) == [record["messageId"]]


def test_the_notifier_mails_nobody_suppressed_and_marks_nothing_sent_until_staff_lift_it(
    shop: Shop, ses_events: Invoke, notifier: Invoke
) -> None:
    licenses = shop.issue()
    assert failed_ids(ses_events(batch(sqs_record(ses_event("sesBounceEvent.json", BEA))))) == []

    record = shop.issued_record(licenses, dedupe_key="checkout:cs_suppressed")
    assert failed_ids(notifier(batch(record))) == []
    assert [message["to"] for message in inbox()] == [[CARL]]
    # No "sent" entry for Bea: once the address works again, the same event reaches her.
    unsuppress(shop.store, BEA, actor="staff:ann")
    assert failed_ids(notifier(batch(record))) == []
    assert sorted(message["to"][0] for message in inbox()) == [BEA, CARL]
    (entry,) = history(shop, licenses[0].id, UNSUPPRESSED)
    assert entry.actor == "staff:ann" and entry.detail["was"] == "bounce: General (5.1.1)"
    contact = shop.store.get_contact(BEA)
    assert contact is not None and contact.suppressed is None


def test_the_local_mail_events_queue_feeds_the_function(shop: Shop, ses_events: Invoke) -> None:
    sqs = boto3.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=LOCAL.queue(catalogue.MAIL_EVENTS.name))["QueueUrl"]
    worker = QueueWorker(SES_EVENTS, queue_url, lambda _, event: ses_events(event), sqs, wait_seconds=0)
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(ses_event("sesComplaintEvent.json", BEA)))

    assert worker.poll_once() == 1
    contact = shop.store.get_contact(BEA)
    assert contact is not None and contact.suppressed is not None


def test_each_suppression_is_counted_in_the_stage_s_namespace(
    shop: Shop, ses_events: Invoke, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Licensing/test-licensing")
    capsys.readouterr()
    record = sqs_record(ses_event("sesComplaintEvent.json", BEA))
    assert failed_ids(ses_events(batch(record, sqs_record(ses_event("sesComplaintEvent.json", CARL))))) == []
    assert failed_ids(ses_events(batch(record))) == []  # already suppressed: not counted again

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    counted = [line["AddressesSuppressed"] for line in lines if "AddressesSuppressed" in line]
    assert counted == [[1.0], [1.0]]
    namespaces = {line["_aws"]["CloudWatchMetrics"][0]["Namespace"] for line in lines if "_aws" in line}
    assert namespaces == {"Licensing/test-licensing"}
