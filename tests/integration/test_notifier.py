"""The notifier, as Lambda runs it: SQS batches whose bodies are EventBridge events (shaped like
AWS's samples in tests/fixtures/aws-events), the real store, templates and SES mailer on the
emulator, and the mail read back from the emulator's SES as a customer's inbox would show it."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from licensing import catalogue
from licensing.adapters.dynamo import DynamoStore
from licensing.adapters.events import EventBridgePublisher
from licensing.adapters.ses import SesMailer
from licensing.dates import iso_timestamp, utc_now
from licensing.devserver.functions import ACCOUNT_ID, REGION, LambdaContext, load_handler
from licensing.devserver.mailbox import Mailbox
from licensing.devserver.resources import LOCAL
from licensing.devserver.workers import QueueWorker
from licensing.mail import Message
from licensing.models import Account, License, LicenseStatus, Product
from licensing.services.issuing import issue_licenses, issued_event
from licensing.services.notifications import notify
from licensing.sessions import SIGN_IN_PURPOSE
from licensing.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "fixtures" / "aws-events"
SQS_SAMPLE = json.loads((SAMPLES / "sqsEvent.json").read_text())["Records"][0]
EVENTBRIDGE_SAMPLE = json.loads((SAMPLES / "eventBridgeEvent.json").read_text())
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{LOCAL.queue('transactional')}"

NOTIFIER = catalogue.Function(
    name="notifier",
    description="Renders and sends transactional email.",
    queue="transactional",
    timeout_seconds=60,
)

BEA, CARL = "bea@acme.test", "carl@acme.test"
SIGNIN_LINK = re.compile(r"(https?://\S+/portal/auth\?token=([A-Za-z0-9_-]+))")

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


# -- events as AWS delivers them --------------------------------------------------------------------


def eventbridge_event(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    """An event as EventBridge puts it on a queue: the sample's envelope, this system's source."""
    event = copy.deepcopy(EVENTBRIDGE_SAMPLE)
    event.pop("replay-name")  # only replayed events carry it
    event.update(
        {
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": catalogue.EVENT_SOURCE,
            "account": ACCOUNT_ID,
            "time": iso_timestamp(utc_now()),
            "region": REGION,
            "resources": [],
            "detail": detail,
        }
    )
    return event


def sqs_record(envelope: dict[str, Any]) -> dict[str, Any]:
    """One SQS message carrying the event, shaped like the sample record."""
    record = copy.deepcopy(SQS_SAMPLE)
    body = json.dumps(envelope)
    record.update(
        {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": uuid.uuid4().hex,
            "body": body,
            "messageAttributes": {},
            "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 (SQS's own checksum)
            "eventSourceARN": QUEUE_ARN,
            "awsRegion": REGION,
        }
    )
    return record


def record_for(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return sqs_record(eventbridge_event(detail_type, detail))


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def failed_ids(answer: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in answer["batchItemFailures"]]


# -- the shop -----------------------------------------------------------------------------------------


@dataclass
class Shop:
    store: DynamoStore
    product: Product
    account: Account

    def issue(self, quantity: int = 1, status: LicenseStatus = LicenseStatus.ACTIVE) -> list[License]:
        return issue_licenses(
            self.store,
            None,
            product=self.product,
            account=self.account,
            actor="test",
            quantity=quantity,
            status=status,
        )

    def issued_record(self, licenses: list[License], dedupe_key: str | None = None) -> dict[str, Any]:
        event = issued_event(licenses, dedupe_key=dedupe_key)
        return record_for(event.detail_type, event.detail)

    def detail(self, license: License, **fields: object) -> dict[str, Any]:
        return {
            "account_id": self.account.id,
            "product": self.product.slug,
            "license_id": license.id,
            **fields,
        }


def open_shop(account_name: str, contacts: dict[str, str]) -> Shop:
    store = DynamoStore(LOCAL.table)
    product = Product(slug="crm-exporter", name="CRM Exporter", term_months=12, max_sites=3)
    store.put_product(product)
    account = Account(id=f"acc_{uuid.uuid4().hex[:12]}", name=account_name)
    store.create_account(account)
    for email, name in contacts.items():
        store.add_contact(account.id, email, name)
    return Shop(store, product, account)


@pytest.fixture
def shop(aws: dict[str, Any]) -> Shop:
    return open_shop("Acme Corp", {BEA: "Bea Buyer", CARL: "Carl Admin"})


@pytest.fixture
def notifier(aws: dict[str, Any]) -> Invoke:
    handler = load_handler(NOTIFIER, ROOT)
    return lambda event: handler(event, LambdaContext(NOTIFIER))


@pytest.fixture
def logs(notifier: Invoke) -> Iterator[list[str]]:
    """The JSON lines the notifier and the licensing package log, as CloudWatch would get them."""
    lines: list[str] = []
    loggers = [logging.getLogger(name) for name in ("notifier", "licensing")]

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    collectors = []
    for logger in loggers:
        collector = Collect()
        collector.setFormatter(logger.handlers[0].formatter)
        logger.addHandler(collector)
        collectors.append(collector)
    yield lines
    for logger, collector in zip(loggers, collectors, strict=True):
        logger.removeHandler(collector)


def inbox(email: str | None = None) -> list[dict[str, Any]]:
    return [message for message in Mailbox().messages() if email is None or message["to"] == [email]]


def ses_identity(present: bool) -> None:
    ses = boto3.client("sesv2")
    if present:
        ses.create_email_identity(EmailIdentity=LOCAL.sender)
    else:
        ses.delete_email_identity(EmailIdentity=LOCAL.sender)


# -- the license email ----------------------------------------------------------------------------------


def test_the_license_email_reaches_every_contact_with_the_key_and_a_single_use_signin_link(
    shop: Shop, notifier: Invoke
) -> None:
    (license,) = shop.issue()
    answer = notifier(batch(shop.issued_record([license], dedupe_key="checkout:cs_test_1")))

    assert failed_ids(answer) == []
    base = get_settings().public_base_url
    links = {}
    for email, name in ((BEA, "Bea Buyer"), (CARL, "Carl Admin")):
        (message,) = inbox(email)
        assert message["subject"] == "Your CRM Exporter license"
        assert message["headers"]["From"] == get_settings().require("mail_from")
        for part in (message["text"], message["html"]):
            assert f"Hello {name}," in part
            assert license.display_key in part and "CRM Exporter — Acme Corp" in part
            assert license.starts_on.isoformat() in part and license.ends_on.isoformat() in part
            assert "up to 3 production sites" in part
            assert f"{base}/portal/products/crm-exporter" in part
        match = SIGNIN_LINK.search(message["text"])
        assert match is not None and match.group(1).startswith(f"{base}/portal/auth?token=")
        assert f'href="{match.group(1)}"' in message["html"]
        links[email] = match.group(2)

    assert links[BEA] != links[CARL]
    for person in (BEA, CARL):  # each link signs its own person in, once
        session = shop.store.exchange_token(links[person], purpose=SIGN_IN_PURPOSE)
        assert session is not None and shop.store.get_session(session).email == person  # type: ignore[union-attr]
        assert shop.store.exchange_token(links[person], purpose=SIGN_IN_PURPOSE) is None


def test_a_purchase_of_three_is_one_email_listing_the_three_keys(
    aws: dict[str, Any], notifier: Invoke
) -> None:
    shop = open_shop("Acme Corp", {BEA: "Bea Buyer"})
    licenses = shop.issue(quantity=3)

    assert failed_ids(notifier(batch(shop.issued_record(licenses)))) == []

    (message,) = inbox()
    assert message["subject"] == "Your 3 CRM Exporter licenses"
    for position, license in enumerate(licenses, start=1):
        assert license.display_key in message["text"] and license.display_key in message["html"]
        assert f"CRM Exporter — Acme Corp ({position} of 3)" in message["text"]
    assert len(SIGNIN_LINK.findall(message["text"])) == 1


# -- exactly once ---------------------------------------------------------------------------------------


def test_a_redelivered_record_and_a_duplicated_event_mail_each_contact_once(
    shop: Shop, notifier: Invoke
) -> None:
    licenses = shop.issue()
    record = shop.issued_record(licenses, dedupe_key="checkout:cs_test_2")
    # The webhook published the same purchase twice: two EventBridge events, two SQS messages.
    duplicate = shop.issued_record(licenses, dedupe_key="checkout:cs_test_2")

    assert failed_ids(notifier(batch(record))) == []
    assert failed_ids(notifier(batch(record, duplicate))) == []
    assert failed_ids(notifier(batch(record))) == []

    assert sorted(message["to"][0] for message in inbox()) == [BEA, CARL]


def test_without_a_dedupe_key_the_license_ids_keep_the_email_to_one(shop: Shop, notifier: Invoke) -> None:
    licenses = shop.issue(quantity=2)
    detail = issued_event(licenses).detail
    del detail["dedupe_key"]
    for _ in range(2):
        assert failed_ids(notifier(batch(record_for("LicenseIssued", detail)))) == []
    assert len(inbox(BEA)) == 1 and len(inbox(CARL)) == 1


def test_an_ses_failure_fails_its_record_alone_and_the_retry_mails_exactly_once(
    shop: Shop, notifier: Invoke, logs: list[str]
) -> None:
    served = shop.issued_record(shop.issue(), dedupe_key="checkout:cs_served")
    assert failed_ids(notifier(batch(served))) == []
    assert len(inbox()) == 2
    (license,) = shop.issue()
    fresh = shop.issued_record([license], dedupe_key="checkout:cs_fresh")
    unknown = record_for("SomethingUnheardOf", {"account_id": shop.account.id, "product": "crm-exporter"})

    ses_identity(present=False)
    answer = notifier(batch(served, fresh, unknown))

    assert failed_ids(answer) == [fresh["messageId"]]
    assert len(inbox()) == 2
    assert any(license.id in line and "MessageRejected" in line for line in logs)
    assert not any("@acme.test" in line for line in logs)

    ses_identity(present=True)
    assert failed_ids(notifier(batch(fresh))) == []
    assert failed_ids(notifier(batch(fresh))) == []
    assert [message["to"] for message in inbox() if license.display_key in message["text"]] == [[BEA], [CARL]]


def test_a_record_that_cannot_be_read_does_not_hold_back_its_batch(shop: Shop, notifier: Invoke) -> None:
    licenses = shop.issue()
    broken = record_for("LicenseIssued", {"license_ids": [licenses[0].id]})  # no account_id
    good = shop.issued_record(licenses)

    answer = notifier(batch(broken, good))

    assert failed_ids(answer) == [broken["messageId"]]
    assert sorted(message["to"][0] for message in inbox()) == [BEA, CARL]


class RefusingMailer:
    """SES that refuses one recipient (moto cannot fail one send and not another) and sends the rest."""

    def __init__(self, refused: str) -> None:
        self.refused = refused
        self.ses = SesMailer(get_settings().require("mail_from"))

    def send(self, message: Message) -> str:
        if self.refused in message.to:
            raise ClientError({"Error": {"Code": "MessageRejected", "Message": "refused"}}, "SendEmail")
        return self.ses.send(message)


def test_after_a_partial_failure_the_retry_mails_only_the_recipients_not_yet_served(shop: Shop) -> None:
    licenses = shop.issue()
    event = issued_event(licenses, dedupe_key="checkout:cs_partial")
    settings = get_settings()

    with pytest.raises(ClientError):
        notify(event, store=shop.store, mailer=RefusingMailer(CARL), settings=settings)
    assert [message["to"] for message in inbox()] == [[BEA]]

    sent = notify(
        event,
        store=shop.store,
        mailer=SesMailer(settings.require("mail_from")),
        settings=settings,
    )

    assert sent == 1
    assert [message["to"] for message in inbox()] == [[BEA], [CARL]]


def test_events_on_the_bus_reach_the_inbox_through_the_queue(shop: Shop, notifier: Invoke) -> None:
    publisher = EventBridgePublisher(LOCAL.bus)
    issue_licenses(shop.store, publisher, product=shop.product, account=shop.account, actor="test")
    sqs = boto3.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=LOCAL.queue("transactional"))["QueueUrl"]
    worker = QueueWorker(NOTIFIER, queue_url, lambda _, event: notifier(event), sqs, wait_seconds=0)

    assert worker.poll_once() == 1

    assert sorted(message["to"][0] for message in inbox()) == [BEA, CARL]
    assert worker.poll_once() == 0


# -- the other emails ------------------------------------------------------------------------------------


def test_the_payment_pending_email_promises_the_key_without_giving_it(shop: Shop, notifier: Invoke) -> None:
    (license,) = shop.issue(status=LicenseStatus.PENDING)
    record = shop.issued_record([license])
    assert json.loads(record["body"])["detail-type"] == "LicensePending"

    assert failed_ids(notifier(batch(record))) == []

    (message,) = inbox(BEA)
    assert message["subject"] == "Your CRM Exporter order: payment pending"
    for part in (message["text"], message["html"]):
        assert license.display_key not in part
        assert "/portal/auth" not in part
        assert "CRM Exporter — Acme Corp" in part
        assert "As soon as the payment arrives, we email you the license key" in part


@pytest.mark.parametrize(
    ("cancelled", "product", "subject"),
    [
        (0, "crm-exporter", "Your payment for CRM Exporter did not go through"),
        (1, "crm-exporter", "Your payment for CRM Exporter did not go through"),
        (0, None, "Your payment did not go through"),
    ],
    ids=["nothing-pending", "pending-license-cancelled", "product-unknown"],
)
def test_the_payment_failed_email_says_nothing_was_granted_and_how_to_try_again(
    shop: Shop, notifier: Invoke, cancelled: int, product: str | None, subject: str
) -> None:
    licenses = shop.issue(status=LicenseStatus.PENDING)[:cancelled]
    detail = {
        "account_id": shop.account.id,
        "product": product,
        "license_ids": [x.id for x in licenses],
        "dedupe_key": "PaymentFailed:cs_test_sepa",
    }

    assert failed_ids(notifier(batch(record_for("PaymentFailed", detail)))) == []

    (message,) = inbox(BEA)
    assert message["subject"] == subject
    text = " ".join(message["text"].split())
    assert "no license has been issued" in text
    assert "To try again, place the order again" in text
    assert "reply to this email" in text
    assert ("the pending order below is cancelled" in text) is bool(licenses)
    for license in licenses:
        assert license.name in text
        assert license.display_key not in text and license.display_key not in message["html"]


def test_the_renewal_email_gives_the_new_end_date(shop: Shop, notifier: Invoke) -> None:
    (license,) = shop.issue()
    renewed = shop.store.save_license(
        license.model_copy(update={"ends_on": license.ends_on + timedelta(days=365)})
    )
    detail = shop.detail(
        license,
        previous_ends_on=license.ends_on.isoformat(),
        ends_on=renewed.ends_on.isoformat(),
        dedupe_key=f"renewal:{license.id}:1",
    )

    assert failed_ids(notifier(batch(record_for("LicenseRenewed", detail)))) == []

    (message,) = inbox(BEA)
    assert message["subject"] == f"Your CRM Exporter license is renewed until {renewed.ends_on}"
    for part in (message["text"], message["html"]):
        assert f"now runs until {renewed.ends_on}" in part.replace("<strong>", "").replace("</strong>", "")
        assert f"(it was due to end on {license.ends_on})" in part
        assert license.display_key in part
        assert f"{get_settings().public_base_url}/portal/licenses/{license.id}" in part


@pytest.mark.parametrize(
    ("status", "reason", "subject", "facts"),
    [
        (
            LicenseStatus.REVOKED,
            "refund",
            "Your CRM Exporter license has been revoked",
            ["Reason: refund.", "no longer validates", "cannot be reinstated"],
        ),
        (
            LicenseStatus.SUSPENDED,
            "payment dispute",
            "Your CRM Exporter license is suspended",
            ["Reason: payment dispute.", "does not validate", "we reinstate the license"],
        ),
        (
            LicenseStatus.ACTIVE,
            "dispute won",
            "Your CRM Exporter license is active again",
            ["is active again and valid until {ends_on}.", "next license check"],
        ),
    ],
)
def test_a_status_change_email_names_the_license_and_what_changed(
    shop: Shop, notifier: Invoke, status: LicenseStatus, reason: str, subject: str, facts: list[str]
) -> None:
    (license,) = shop.issue()
    shop.store.save_license(license.model_copy(update={"status": status, "status_reason": reason}))
    detail = shop.detail(license, status=status.value, previous_status="ACTIVE", reason=reason)

    assert failed_ids(notifier(batch(record_for("LicenseStatusChanged", detail)))) == []

    messages = inbox()
    assert sorted(message["to"][0] for message in messages) == [BEA, CARL]
    for message in messages:
        assert message["subject"] == subject
        text = " ".join(message["text"].split())
        assert license.display_key in text and license.name in text
        for fact in facts:
            assert fact.format(ends_on=license.ends_on) in text


def test_two_real_changes_of_one_license_are_both_mailed(shop: Shop, notifier: Invoke) -> None:
    (license,) = shop.issue()
    suspended = record_for(
        "LicenseStatusChanged", shop.detail(license, status="SUSPENDED", previous_status="ACTIVE")
    )
    reinstated = record_for(
        "LicenseStatusChanged", shop.detail(license, status="ACTIVE", previous_status="SUSPENDED")
    )

    assert failed_ids(notifier(batch(suspended, reinstated, suspended))) == []

    assert [message["subject"] for message in inbox(BEA)] == [
        "Your CRM Exporter license is suspended",
        "Your CRM Exporter license is active again",
    ]


# -- permanent problems ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("detail_type", "status"),
    [("SomethingUnheardOf", None), ("LicenseStatusChanged", "EXPIRED")],
    ids=["unknown-detail-type", "status-without-email"],
)
def test_an_event_without_an_email_is_done_with_a_warning(
    shop: Shop, notifier: Invoke, logs: list[str], detail_type: str, status: str | None
) -> None:
    (license,) = shop.issue()
    record = record_for(detail_type, shop.detail(license, status=status))

    assert failed_ids(notifier(batch(record))) == []

    assert inbox() == []
    (line,) = [json.loads(line) for line in logs if detail_type in line]
    assert line["level"] == "WARNING"


def test_an_event_for_a_license_that_does_not_exist_is_done_with_an_error(
    shop: Shop, notifier: Invoke, logs: list[str]
) -> None:
    detail = {"account_id": shop.account.id, "product": "crm-exporter", "license_ids": ["lic_gone"]}

    assert failed_ids(notifier(batch(record_for("LicenseIssued", detail)))) == []

    assert inbox() == []
    (line,) = [json.loads(line) for line in logs if "lic_gone" in line]
    assert line["level"] == "ERROR"
    assert not any("@acme.test" in line for line in logs)


# -- hostile names --------------------------------------------------------------------------------------


def test_every_email_escapes_hostile_account_and_contact_names_in_html(
    aws: dict[str, Any], notifier: Invoke
) -> None:
    shop = open_shop('<script>alert("acme")</script> & Sons', {BEA: "<img src=x onerror=alert(1)>"})
    (issued,) = shop.issue()
    (pending,) = shop.issue(status=LicenseStatus.PENDING)
    other = {"account_id": shop.account.id, "product": "crm-exporter"}
    records = [
        shop.issued_record([issued]),
        shop.issued_record([pending]),
        record_for("PaymentFailed", other | {"license_ids": [pending.id]}),
        record_for(
            "LicenseRenewed", shop.detail(issued, previous_ends_on="2026-01-01", ends_on="2027-01-01")
        ),
        *(
            record_for("LicenseStatusChanged", shop.detail(issued, status=status, reason="<b>fraud</b>"))
            for status in ("SUSPENDED", "ACTIVE", "REVOKED")
        ),
    ]

    assert failed_ids(notifier(batch(*records))) == []

    messages = inbox()
    assert len(messages) == len(records)
    for message in messages:
        assert (
            "<script>" not in message["html"]
            and "<img" not in message["html"]
            and "<b>fraud" not in message["html"]
        )
        assert "&lt;script&gt;alert(&#34;acme&#34;)&lt;/script&gt; &amp; Sons" in message["html"]
        assert '<script>alert("acme")</script> & Sons' in message["text"]
        assert "Hello &lt;img src=x onerror=alert(1)&gt;," in message["html"]


def test_a_send_whose_worker_died_is_taken_over_once_it_is_stale(shop: Shop, notifier: Invoke) -> None:
    licenses = shop.issue()
    record = shop.issued_record(licenses, dedupe_key="checkout:cs_crash")
    since = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    # A worker claimed Bea's email, then died before sending; Carl's was never started.
    shop.store.claim(
        f"mail:checkout:cs_crash:{BEA}", ttl_days=30, detail={"state": "sending", "since": since}
    )
    assert failed_ids(notifier(batch(record))) == []
    assert sorted(message["to"][0] for message in inbox()) == [BEA, CARL]
    assert shop.store.get_claim(f"mail:checkout:cs_crash:{BEA}")["state"] == "sent"  # type: ignore[index]
    assert failed_ids(notifier(batch(record))) == []
    assert len(inbox()) == 2


def test_a_send_in_progress_elsewhere_is_neither_doubled_nor_lost(shop: Shop, notifier: Invoke) -> None:
    licenses = shop.issue()
    record = shop.issued_record(licenses, dedupe_key="checkout:cs_busy")
    claim = f"mail:checkout:cs_busy:{BEA}"
    shop.store.claim(claim, ttl_days=30, detail={"state": "sending", "since": datetime.now(UTC).isoformat()})
    # Carl is served; the message is not acknowledged while Bea's mail is in another worker's hands.
    assert failed_ids(notifier(batch(record))) == [record["messageId"]]
    assert [message["to"][0] for message in inbox()] == [CARL]
    # That worker died. By the queue's redelivery (its visibility timeout) the claim is stale.
    redelivered_at = datetime.now(UTC) - timedelta(seconds=catalogue.TRANSACTIONAL.visibility_timeout_seconds)
    shop.store.take_over_claim(
        claim,
        expected_since=shop.store.get_claim(claim)["since"],  # type: ignore[index]
        detail={"state": "sending", "since": redelivered_at.isoformat()},
    )
    assert failed_ids(notifier(batch(record))) == []
    assert sorted(message["to"][0] for message in inbox()) == [BEA, CARL]  # each once


def test_a_pending_notice_that_arrives_after_the_payment_is_not_sent(shop: Shop, notifier: Invoke) -> None:
    (license,) = shop.issue(status=LicenseStatus.PENDING)
    pending = shop.issued_record([license])
    confirmed = shop.store.save_license(license.model_copy(update={"status": LicenseStatus.ACTIVE}))
    issued = shop.issued_record([confirmed])
    assert failed_ids(notifier(batch(issued))) == []
    assert failed_ids(notifier(batch(pending))) == []
    assert [message["subject"] for message in inbox(BEA)] == ["Your CRM Exporter license"]


def test_the_last_site_slot_filling_is_mailed(shop: Shop, notifier: Invoke) -> None:
    (license,) = shop.issue()
    detail = shop.detail(license, site="shop3.example.com", dedupe_key="SiteLimitReached:x:1")
    assert failed_ids(notifier(batch(record_for("SiteLimitReached", detail)))) == []
    (message, *_) = inbox(BEA)
    assert message["subject"] == "All 3 sites of your CRM Exporter license are in use"
    assert "shop3.example.com" in message["text"] and license.display_key in message["text"]
