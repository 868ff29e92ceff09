"""The daily lifecycle job on the emulator: reminders at 30, 7 and 1 days (one mail per contact and
day listing every license due), the expired mail the day after the end, EXPIRED written after the
grace period; each once per license and term."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import boto3
import pytest

from licensing import catalogue, events
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

    def reminded(self) -> dict[str, int]:
        """The licenses the job announced as due a reminder (drained from the bulk queue), with the
        days left of each."""
        return {
            reminder["license_id"]: reminder["days_left"]
            for event in self.announced()
            if event["detail-type"] == "RemindersDue"
            for reminder in event["detail"]["reminders"]
        }

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
    # The day's reminders of the account, every offset, in one announcement.
    (due_today,) = [e["detail"] for e in events if e["detail-type"] == "RemindersDue"]
    assert due_today["account_id"] == shop.account.id and due_today["day"] == TODAY.isoformat()
    reminders = {r["license_id"]: r["days_left"] for r in due_today["reminders"]}
    assert reminders == {due[30].id: 30, due[7].id: 7, due[1].id: 1}
    assert [e["detail"]["license_id"] for e in events if e["detail-type"] == "LicenseExpired"] == [ended.id]
    assert not_due.id not in reminders
    assert (report.reminders, report.reminder_accounts, report.expired_mails) == (3, 1, 1)


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
    assert shop.reminded() == {missed.id: 7}


def test_the_job_reads_only_what_is_due(shop: Shop) -> None:
    for offset in range(40, 80):
        shop.license(TODAY + timedelta(days=offset))
    due = shop.license(TODAY + timedelta(days=30))
    report = shop.run()
    assert report.licenses_read == 1
    assert shop.reminded() == {due.id: 30}


def test_the_scheduled_handler_runs_for_the_scheduled_day(shop: Shop) -> None:
    due = shop.license(TODAY + timedelta(days=1))
    invoke = invoker(catalogue.FUNCTIONS, ROOT)
    result = invoke("lifecycle_job", {"scheduled_time": f"{TODAY.isoformat()}T06:15:00Z"})
    assert result["days"] == [TODAY.isoformat()] and result["reminders"] == 1
    assert result["reminder_accounts"] == 1
    assert shop.reminded() == {due.id: 1}


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


# One reminder mail per contact and day, listing every license due that day.

RENEW = "http://127.0.0.1:8000/portal/licenses/{}/renew"


def mails_since(seen: int) -> list[dict[str, Any]]:
    return Mailbox().messages()[seen:]


def listed(mail: dict[str, Any], licenses: list[License]) -> set[str]:
    """Which of `licenses` the mail lists, each with its key and its own renew link in both parts."""
    found = set()
    for license in licenses:
        link = RENEW.format(license.id)
        in_text = link in mail["text"] and license.display_key in mail["text"]
        in_html = f'href="{link}"' in mail["html"] and license.display_key in mail["html"]
        assert in_text == in_html, "the text and html parts list different licenses"
        if in_text:
            found.add(license.id)
    return found


def test_five_licenses_ending_the_same_week_get_one_mail_per_reminder_day(
    shop: Shop, aws: dict[str, Any]
) -> None:
    week = TODAY + timedelta(days=7)
    monday = [shop.license(week) for _ in range(3)]
    wednesday = [shop.license(week + timedelta(days=2)) for _ in range(2)]
    everything = monday + wednesday
    expected = {
        TODAY: (monday, 7),
        TODAY + timedelta(days=2): (wednesday, 7),
        TODAY + timedelta(days=6): (monday, 1),
        TODAY + timedelta(days=8): (wednesday, 1),
    }
    seen = 0
    for offset in range(9):
        day = TODAY + timedelta(days=offset)
        report = shop.run(day)
        deliver_notifications(aws)
        sent = mails_since(seen)
        seen += len(sent)
        # The day after its end each license gets its own "has ended" mail: these are the reminders.
        mails = [mail for mail in sent if not mail["subject"].endswith("has ended")]
        if day not in expected:
            assert mails == [], f"no reminder is due on {day}"
            continue
        due, days_left = expected[day]
        (mail,) = mails  # one mail that day, listing each license due with its own renew link
        assert mail["to"] == ["bea@acme.test"]
        assert listed(mail, everything) == {license.id for license in due}
        when = "tomorrow" if days_left == 1 else f"in {days_left} days"
        assert mail["subject"] == f"{len(due)} of your licenses end soon, the first {when}"
        assert mail["text"].count(f"{due[0].ends_on}, {when}") == len(due)
        assert mail["text"].count("CRM Exporter keeps working; updates and support stop") == len(due)
        assert (report.reminders, report.reminder_accounts) == (len(due), 1)


def test_one_day_lists_every_offset_and_what_the_end_costs_for_each_product(
    shop: Shop, aws: dict[str, Any]
) -> None:
    service = factories.product("saas-sync", name="SaaS Sync", on_expiry="stop", grace_days=3)
    shop.store.put_product(service)
    (saas,) = issue_licenses(
        shop.store,
        None,
        product=service,
        account=shop.account,
        actor="t",
        starts_on=TODAY - timedelta(days=334),
        ends_on=TODAY + timedelta(days=30),
    )
    tomorrow = shop.license(TODAY + timedelta(days=1))
    shop.run()
    deliver_notifications(aws)
    (mail,) = Mailbox().messages()
    assert listed(mail, [saas, tomorrow]) == {saas.id, tomorrow.id}
    assert mail["subject"] == "2 of your licenses end soon, the first tomorrow"
    text = mail["text"]
    # Soonest first, each with its product, end date and days left, and what its own end costs.
    assert text.index(tomorrow.display_key) < text.index(saas.display_key)
    assert f"{tomorrow.ends_on}, tomorrow" in text and f"{saas.ends_on}, in 30 days" in text
    assert "Product:      SaaS Sync" in text and "Product:      CRM Exporter" in text
    assert "SaaS Sync stops working (after a grace period of 3 days) until the license is renewed" in text
    assert "CRM Exporter keeps working; updates and support stop" in text


def test_two_accounts_get_separate_mails(shop: Shop, aws: dict[str, Any]) -> None:
    other = factories.account("Initech")
    shop.store.create_account(other)
    shop.store.add_contact(other.id, "peter@initech.test", "Peter")
    acme = [shop.license(TODAY + timedelta(days=7)) for _ in range(2)]
    (initech,) = issue_licenses(
        shop.store,
        None,
        product=shop.product,
        account=other,
        actor="t",
        starts_on=TODAY - timedelta(days=358),
        ends_on=TODAY + timedelta(days=7),
    )
    report = shop.run()
    assert (report.reminders, report.reminder_accounts) == (3, 2)
    deliver_notifications(aws)
    mails = {mail["to"][0]: mail for mail in Mailbox().messages()}
    assert sorted(mails) == ["bea@acme.test", "peter@initech.test"]
    assert listed(mails["bea@acme.test"], [*acme, initech]) == {license.id for license in acme}
    assert listed(mails["peter@initech.test"], [*acme, initech]) == {initech.id}
    assert mails["peter@initech.test"]["subject"] == "Your CRM Exporter license ends in 7 days"
    assert "Hello Peter," in mails["peter@initech.test"]["text"]


def test_an_account_with_two_contacts_mails_each_once(shop: Shop, aws: dict[str, Any]) -> None:
    shop.store.add_contact(shop.account.id, "carl@acme.test", "Carl")
    due = [shop.license(TODAY + timedelta(days=30)) for _ in range(2)]
    shop.run()
    deliver_notifications(aws)
    mails = Mailbox().messages()
    assert sorted(mail["to"][0] for mail in mails) == ["bea@acme.test", "carl@acme.test"]
    for mail in mails:
        assert listed(mail, due) == {license.id for license in due}
    assert {mail["text"].splitlines()[0] for mail in mails} == {"Hello Bea,", "Hello Carl,"}


def test_a_rerun_and_a_redelivered_message_send_nothing_twice(shop: Shop, aws: dict[str, Any]) -> None:
    first = shop.license(TODAY + timedelta(days=7))
    shop.run()
    (message,) = [event for event in shop.announced() if event["detail-type"] == "RemindersDue"]
    shop.events.publish([events.parse(message["detail-type"], message["detail"])])  # delivered
    deliver_notifications(aws)
    (mail,) = Mailbox().messages()
    assert listed(mail, [first]) == {first.id}
    shop.events.publish([events.parse(message["detail-type"], message["detail"])])  # redelivered
    later = shop.license(TODAY + timedelta(days=7))  # issued after the morning's run
    shop.run()  # re-run the same day: both are due, only the new one is not reminded yet
    deliver_notifications(aws)
    (second,) = mails_since(1)
    assert listed(second, [first, later]) == {later.id}
    shop.run()
    deliver_notifications(aws)
    assert mails_since(2) == []


def test_a_license_renewed_or_revoked_before_the_send_is_left_out(shop: Shop, aws: dict[str, Any]) -> None:
    kept = shop.license(TODAY + timedelta(days=7))
    renewed = shop.license(TODAY + timedelta(days=7))
    revoked = shop.license(TODAY + timedelta(days=1))
    shop.run()
    shop.store.save_license(renewed.model_copy(update={"ends_on": renewed.ends_on + timedelta(days=365)}))
    shop.store.save_license(revoked.model_copy(update={"status": LicenseStatus.REVOKED}))
    deliver_notifications(aws)
    (mail,) = Mailbox().messages()
    assert listed(mail, [kept, renewed, revoked]) == {kept.id}
    assert mail["subject"] == "Your CRM Exporter license ends in 7 days"


def test_no_mail_when_nothing_is_left_to_remind(shop: Shop, aws: dict[str, Any]) -> None:
    renewed = shop.license(TODAY + timedelta(days=7))
    shop.run()
    shop.store.save_license(renewed.model_copy(update={"ends_on": renewed.ends_on + timedelta(days=365)}))
    deliver_notifications(aws)
    assert Mailbox().messages() == []


def test_after_a_failed_send_the_retry_lists_only_what_that_contact_was_not_sent(
    shop: Shop, aws: dict[str, Any]
) -> None:
    from botocore.exceptions import ClientError

    from licensing.adapters.ses import SesMailer
    from licensing.services.notifications import notify
    from licensing.settings import get_settings
    from tests.integration.test_notifier import RefusingMailer

    shop.store.add_contact(shop.account.id, "carl@acme.test", "Carl")
    due = [shop.license(TODAY + timedelta(days=7)) for _ in range(2)]
    shop.run()
    (message,) = [event for event in shop.announced() if event["detail-type"] == "RemindersDue"]
    event = events.parse(message["detail-type"], message["detail"])
    settings = get_settings()
    with pytest.raises(ClientError):
        notify(event, store=shop.store, mailer=RefusingMailer("carl@acme.test"), settings=settings)
    assert [mail["to"] for mail in Mailbox().messages()] == [["bea@acme.test"]]
    # The redelivery mails Carl, who was not served, both licenses; Bea nothing again.
    assert (
        notify(event, store=shop.store, mailer=SesMailer(settings.require("mail_from")), settings=settings)
        == 1
    )
    mails = Mailbox().messages()
    assert [mail["to"] for mail in mails] == [["bea@acme.test"], ["carl@acme.test"]]
    assert listed(mails[1], due) == {license.id for license in due}
