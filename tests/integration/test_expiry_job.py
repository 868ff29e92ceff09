"""The daily lifecycle job on the emulator: reminders at 30, 7 and 1 days, the expired mail the day
after the end, EXPIRED written after the grace period; each once per license and term."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import boto3
import pytest

from licensing import catalogue
from licensing.adapters.dynamo import DynamoStore
from licensing.adapters.events import EventBridgePublisher
from licensing.devserver.functions import invoker
from licensing.devserver.mailbox import Mailbox
from licensing.models import License, LicenseStatus
from licensing.services.expiry import run_expiry
from licensing.services.issuing import issue_licenses
from tests import factories
from tests.conftest import ROOT, deliver_notifications

TODAY = date(2027, 3, 10)


class Shop:
    def __init__(self, aws: dict[str, Any]) -> None:
        self.aws = aws
        self.store = DynamoStore(aws["names"].table)
        self.events = EventBridgePublisher(aws["names"].bus)
        self.product = factories.product(grace_days=7)
        self.store.put_product(self.product)
        self.account = factories.account("Acme Corp")
        self.store.create_account(self.account)
        self.store.add_contact(self.account.id, "bea@acme.test", "Bea")

    def license(self, ends_on: date, **changes: Any) -> License:
        (license,) = issue_licenses(
            self.store,
            None,
            product=self.product,
            account=self.account,
            actor="t",
            starts_on=ends_on - timedelta(days=365),
            ends_on=ends_on,
        )
        return self.store.save_license(license.model_copy(update=changes)) if changes else license

    def run(self, day: date = TODAY) -> Any:
        return run_expiry(self.store, self.events, today=day)

    def announced(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            answer = sqs.receive_message(QueueUrl=self.aws["queues"]["bulk"], MaxNumberOfMessages=10)
            if not answer.get("Messages"):
                return found
            for message in answer["Messages"]:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(
                    QueueUrl=self.aws["queues"]["bulk"], ReceiptHandle=message["ReceiptHandle"]
                )


@pytest.fixture
def shop(aws: dict[str, Any]) -> Shop:
    return Shop(aws)


def test_reminders_go_out_30_7_and_1_days_before_and_the_expired_mail_after(shop: Shop) -> None:
    due = {days: shop.license(TODAY + timedelta(days=days)) for days in (30, 7, 1)}
    ended = shop.license(TODAY - timedelta(days=1))
    not_due = shop.license(TODAY + timedelta(days=8))
    report = shop.run()
    events = shop.announced()
    reminders = {
        e["detail"]["license_id"]: e["detail"]["days_left"]
        for e in events
        if e["detail-type"] == "LicenseExpiring"
    }
    assert reminders == {due[30].id: 30, due[7].id: 7, due[1].id: 1}
    assert [e["detail"]["license_id"] for e in events if e["detail-type"] == "LicenseExpired"] == [ended.id]
    assert not_due.id not in reminders
    assert (report.reminders, report.expired_mails) == (3, 1)


def test_renewed_revoked_and_self_renewing_licenses_get_no_reminder(shop: Shop) -> None:
    shop.license(TODAY + timedelta(days=7), status=LicenseStatus.REVOKED)
    shop.license(TODAY + timedelta(days=7), auto_renews=True)
    shop.license(TODAY + timedelta(days=7), status=LicenseStatus.SUSPENDED)
    shop.run()
    assert shop.announced() == []


def test_the_status_is_written_expired_once_the_grace_is_over(shop: Shop) -> None:
    in_grace = shop.license(TODAY - timedelta(days=7))  # grace ends today: still GRACE_PERIOD
    lapsed = shop.license(TODAY - timedelta(days=8))  # grace ended yesterday
    report = shop.run()
    assert report.expired == 1
    assert shop.store.require_license(lapsed.id).status is LicenseStatus.EXPIRED
    assert shop.store.require_license(in_grace.id).status is LicenseStatus.ACTIVE
    assert "expired" in [entry.action for entry in shop.store.license_history(lapsed.id)]
    assert [lic.id for lic in shop.store.active_licenses("crm-exporter")] == [in_grace.id]


def test_running_twice_a_day_mails_once(shop: Shop, aws: dict[str, Any]) -> None:
    shop.license(TODAY + timedelta(days=7))
    shop.run()
    shop.run()
    deliver_notifications(aws)  # two runs announced it twice: the notifier mails it once
    (mail,) = Mailbox().messages()
    assert mail["subject"] == "Your CRM Exporter license ends in 7 days"
    assert "/portal/licenses/" in mail["text"] and "/renew" in mail["text"]


def test_missed_days_are_caught_up(shop: Shop) -> None:
    shop.run(TODAY - timedelta(days=3))
    shop.announced()
    missed = shop.license(TODAY - timedelta(days=2) + timedelta(days=7))  # its 7-day reminder was 2 days ago
    report = shop.run()
    assert report.days == [(TODAY - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    assert [e["detail"]["license_id"] for e in shop.announced()] == [missed.id]


def test_the_job_reads_only_what_is_due(shop: Shop) -> None:
    for offset in range(40, 80):
        shop.license(TODAY + timedelta(days=offset))
    due = shop.license(TODAY + timedelta(days=30))
    report = shop.run()
    assert report.licenses_read == 1
    assert [e["detail"]["license_id"] for e in shop.announced()] == [due.id]


def test_the_scheduled_handler_runs_for_the_scheduled_day(shop: Shop) -> None:
    due = shop.license(TODAY + timedelta(days=1))
    invoke = invoker(catalogue.FUNCTIONS, ROOT)
    result = invoke("lifecycle_job", {"scheduled_time": f"{TODAY.isoformat()}T06:15:00Z"})
    assert result["days"] == [TODAY.isoformat()] and result["reminders"] == 1
    assert [e["detail"]["license_id"] for e in shop.announced()] == [due.id]


def test_without_grace_the_expired_mail_still_goes_out_as_the_status_is_written(shop: Shop) -> None:
    product = factories.product("no-grace", grace_days=0)
    shop.store.put_product(product)
    (license,) = issue_licenses(
        shop.store,
        None,
        product=product,
        account=shop.account,
        actor="t",
        starts_on=TODAY - timedelta(days=366),
        ends_on=TODAY - timedelta(days=1),
    )
    report = shop.run()
    assert (report.expired_mails, report.expired) == (1, 1)
    assert shop.store.require_license(license.id).status is LicenseStatus.EXPIRED
    deliver_notifications(shop.aws)
    assert [mail["subject"] for mail in Mailbox().messages()] == ["Your CRM Exporter license has ended"]
