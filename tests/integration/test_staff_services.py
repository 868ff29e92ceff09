"""The staff services behind `licensing licenses ...` and `accounts export|erase`, on the emulator:
each change follows the lifecycle, writes history with the staff member, announces what the
customer must hear, and a refused change writes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from licensing.adapters.dynamo import DynamoStore, hash_token, keys
from licensing.adapters.dynamo.base import serialize
from licensing.adapters.events import EventBridgePublisher
from licensing.adapters.staff_queries import StaffQueries
from licensing.dates import today
from licensing.errors import Conflict, InvalidInput, NotFound, TransitionRefused
from licensing.lifecycle import Action
from licensing.models import Billing, LicenseStatus, PaymentStatus
from licensing.services import license_admin, privacy, reports
from licensing.services.activity import activity_page
from licensing.services.issuing import issue_licenses
from licensing.services.lookup import find_account, find_license
from licensing.services.renewals import renew_manually
from licensing.services.search import LicenseQuery, export_rows, export_text, search_licenses
from licensing.sessions import SIGN_IN_PURPOSE
from tests import factories

STAFF = "staff:ann"


def queued(aws: dict[str, Any]) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    for url in aws["queues"].values():  # transactional and bulk mail
        while True:
            answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                break
            found += [json.loads(message["Body"]) for message in messages]
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


@pytest.fixture
def world(aws: dict[str, Any]) -> dict[str, Any]:
    store = DynamoStore(aws["names"].table)
    events = EventBridgePublisher(aws["names"].bus)
    product = factories.product(max_sites=2)
    store.put_product(product)
    account = factories.account("Globex GmbH")
    store.create_account(account)
    store.add_contact(account.id, "Maria@Globex.test", "Maria Muster")
    (license,) = issue_licenses(
        store, None, product=product, account=account, actor=STAFF, starts_on=today() - timedelta(days=30)
    )
    return {"store": store, "events": events, "product": product, "account": account, "license": license}


def test_an_account_is_found_by_a_contacts_email_and_a_license_by_key(world: dict[str, Any]) -> None:
    store, account, license = world["store"], world["account"], world["license"]
    assert find_account(store, "maria@globex.TEST").id == account.id
    assert find_account(store, "globex gmbh").id == account.id
    assert find_license(store, license.display_key.lower()).id == license.id
    with pytest.raises(NotFound, match="no account has the contact"):
        find_account(store, "nobody@globex.test")
    with pytest.raises(NotFound):
        find_license(store, "not a key")


def test_suspend_reinstate_revoke_follow_the_lifecycle_and_mail_the_customer(
    aws: dict[str, Any], world: dict[str, Any]
) -> None:
    store, events, license = world["store"], world["events"], world["license"]
    suspended = license_admin.change_status(
        store, events, license.id, Action.SUSPEND, actor=STAFF, reason="chargeback check"
    )
    assert (suspended.status, suspended.status_reason) == (LicenseStatus.SUSPENDED, "chargeback check")
    back = license_admin.change_status(store, events, license.id, Action.REINSTATE, actor=STAFF)
    assert (back.status, back.status_reason) == (LicenseStatus.ACTIVE, None)
    license_admin.change_status(store, events, license.id, Action.REVOKE, actor=STAFF, reason="fraud")
    before = store.require_license(license.id)
    with pytest.raises(TransitionRefused, match="revocation is final"):
        license_admin.change_status(store, events, license.id, Action.REINSTATE, actor=STAFF)
    assert store.require_license(license.id) == before  # nothing changed
    history = [(entry.action, entry.actor) for entry in store.license_history(license.id)]
    assert history[1:] == [("suspended", STAFF), ("reinstated", STAFF), ("revoked", STAFF)]
    statuses = [
        event["detail"]["status"] for event in queued(aws) if event["detail-type"] == "LicenseStatusChanged"
    ]
    assert sorted(statuses) == ["ACTIVE", "REVOKED", "SUSPENDED"]


def test_extend_moves_the_end_and_refuses_an_end_before_the_start(world: dict[str, Any]) -> None:
    store, license = world["store"], world["license"]
    extended = license_admin.extend(store, license.id, actor=STAFF, today=today(), days=10)
    assert extended.ends_on == license.ends_on + timedelta(days=10)
    before = store.require_license(license.id)
    with pytest.raises(InvalidInput, match="before the license's start"):
        license_admin.extend(
            store, license.id, actor=STAFF, today=today(), ends_on=license.starts_on - timedelta(days=1)
        )
    assert store.require_license(license.id) == before


def test_a_manual_renewal_follows_the_renewal_rule_records_the_payment_and_mails(
    aws: dict[str, Any], world: dict[str, Any]
) -> None:
    store, events, license, product = world["store"], world["events"], world["license"], world["product"]
    renewed = renew_manually(
        store,
        events,
        license.id,
        product=product,
        today=today(),
        actor=STAFF,
        method="bank_transfer",
        invoice_url="https://invoices.test/2027-001",
        amount=4900,
        currency="EUR",
    )
    from licensing.dates import add_months

    assert renewed.ends_on == add_months(max(today(), license.ends_on), product.term_months)
    (payment,) = renewed.payments
    assert (payment.amount, payment.currency, payment.method, payment.status) == (
        4900,
        "eur",
        "bank_transfer",
        PaymentStatus.PAID,
    )
    entry = store.license_history(license.id)[-1]
    assert (entry.action, entry.actor, entry.detail["previous_ends_on"]) == (
        "renewed",
        STAFF,
        license.ends_on.isoformat(),
    )
    (event,) = [e for e in queued(aws) if e["detail-type"] == "LicenseRenewed"]
    assert event["detail"]["ends_on"] == renewed.ends_on.isoformat()
    license_admin.change_status(store, events, license.id, Action.REVOKE, actor=STAFF)
    before = store.require_license(license.id)
    with pytest.raises(TransitionRefused):
        renew_manually(store, events, license.id, product=product, today=today(), actor=STAFF)
    assert store.require_license(license.id) == before


def test_a_pending_email_sale_becomes_paid_and_the_customer_is_mailed(
    aws: dict[str, Any], world: dict[str, Any]
) -> None:
    store, events = world["store"], world["events"]
    (sale,) = issue_licenses(
        store,
        None,
        product=world["product"],
        account=world["account"],
        actor=STAFF,
        billing=Billing(method="bank_transfer", payment_status=PaymentStatus.PENDING),
    )
    paid = license_admin.update_billing(
        store,
        events,
        sale.id,
        actor=STAFF,
        today=today(),
        payment_status=PaymentStatus.PAID,
        invoice_url="https://invoices.test/7",
        paid_on=today() - timedelta(days=1),
    )
    assert (paid.billing.payment_status, paid.billing.paid_on) == (
        PaymentStatus.PAID,
        today() - timedelta(days=1),
    )
    assert [e["detail-type"] for e in queued(aws)] == ["PaymentReceived"]
    with pytest.raises(InvalidInput, match="nothing to change"):
        license_admin.update_billing(
            store, events, sale.id, actor=STAFF, today=today(), payment_status=PaymentStatus.PAID
        )
    with pytest.raises(InvalidInput, match="future"):
        license_admin.update_billing(
            store, events, sale.id, actor=STAFF, today=today(), paid_on=today() + timedelta(days=1)
        )
    before = store.get_license(sale.id)
    with pytest.raises(InvalidInput, match="invoice link"):  # it would be an href in the customer's mail
        license_admin.update_billing(
            store, events, sale.id, actor=STAFF, today=today(), invoice_url="javascript:alert(1)"
        )
    with pytest.raises(InvalidInput, match="invoice link"):
        renew_manually(store, events, sale.id, product=None, today=today(), actor=STAFF, invoice_url="INV-7")
    assert store.get_license(sale.id) == before


def test_sites_are_added_within_the_limit_and_removed(world: dict[str, Any]) -> None:
    store, license = world["store"], world["license"]
    license = license_admin.add_site(
        store, license, "https://Shop.Example.com/path", actor=STAFF, today=today()
    )
    license = license_admin.add_site(store, license, "crm.globex.de", actor=STAFF, today=today())
    assert sorted(license.sites) == ["crm.globex.de", "shop.example.com"]
    with pytest.raises(Conflict, match="site limit"):
        license_admin.add_site(store, license, "third.globex.de", actor=STAFF, today=today())
    with pytest.raises(Conflict, match="already activated"):
        license_admin.add_site(store, license, "http://shop.example.com", actor=STAFF, today=today())
    license = license_admin.remove_site(store, license, "https://shop.example.com/", actor=STAFF)
    assert sorted(license.sites) == ["crm.globex.de"]
    with pytest.raises(NotFound):
        license_admin.remove_site(store, license, "shop.example.com", actor=STAFF)


def test_search_finds_a_license_from_whatever_the_customer_wrote(world: dict[str, Any]) -> None:
    store, license = world["store"], world["license"]
    queries = StaffQueries(store)
    other_account = factories.account("Initech")
    store.create_account(other_account)
    (other,) = issue_licenses(store, None, product=world["product"], account=other_account, actor=STAFF)
    license = license_admin.add_site(store, license, "shop.globex.test", actor=STAFF, today=today())
    license = license_admin.add_site(store, license, "crm.globex.de", actor=STAFF, today=today())

    def ids(**criteria: str) -> list[str]:
        return [found.id for found in search_licenses(store, queries, LicenseQuery(**criteria))]

    assert ids(key=license.display_key[6:17].lower()) == [license.id]
    assert ids(key=license.display_key) == [license.id]
    assert ids(email="MARIA@globex.test") == [license.id]
    assert ids(account="globex") == [license.id]
    assert ids(site="https://CRM.globex.de/admin") == [license.id]
    assert sorted(ids(product="crm-exporter")) == sorted([license.id, other.id])
    assert sorted(ids(product="crm-exporter", status="active")) == sorted([license.id, other.id])
    assert ids(status="revoked") == []
    assert ids(email="maria@globex.test", product="crm-exporter", status="ACTIVE") == [license.id]
    assert ids(email="nobody@globex.test") == []
    with pytest.raises(InvalidInput, match="no status"):
        ids(status="gone")
    with pytest.raises(NotFound):
        ids(product="nope")


def test_export_has_every_license_with_its_account_and_contacts(world: dict[str, Any]) -> None:
    store = world["store"]
    rows = list(export_rows(store, StaffQueries(store), product="crm-exporter", status=None))
    assert [(row["key"], row["account"], row["emails"]) for row in rows] == [
        (world["license"].display_key, "Globex GmbH", ["maria@globex.test"])
    ]
    text = export_text(rows, "csv")
    assert text.splitlines()[0].startswith("id,key,name,product") and "maria@globex.test" in text
    assert json.loads(export_text(rows, "json"))[0]["id"] == world["license"].id


def test_expiring_lists_active_licenses_ending_within_the_days(world: dict[str, Any]) -> None:
    store, license = world["store"], world["license"]
    license_admin.extend(store, license.id, actor=STAFF, today=today(), ends_on=today() + timedelta(days=5))
    assert [lic.id for lic in reports.expiring(store, today=today(), days=7)] == [license.id]
    assert reports.expiring(store, today=today(), days=4) == []


def test_after_an_erase_no_item_holds_the_email_and_licenses_are_kept(world: dict[str, Any]) -> None:
    store, account, license = world["store"], world["account"], world["license"]
    email = "maria@globex.test"
    token = store.create_token(email, purpose=SIGN_IN_PURPOSE, lifetime=timedelta(days=7))
    session = store.create_session(email)
    license_admin.change_status(
        store, world["events"], license.id, Action.SUSPEND, actor=STAFF, reason=f"asked by {email}"
    )
    exported = privacy.export_account(store, account)
    assert exported["contacts"][0]["contact"]["name"] == "Maria Muster"
    assert len(exported["contacts"][0]["sign_in_links"]) == 1
    assert len(exported["contacts"][0]["portal_sessions"]) == 1
    assert any("asked by" in str(entry["detail"]) for entry in exported["licenses"][0]["history"])

    privacy.erase_account(store, account, actor=STAFF)

    partitions = [
        f"ACCOUNT#{account.id}",
        f"LICENSE#{license.id}",
        f"CONTACT#{email}",
        f"TOKEN#{hash_token(token)}",
        f"SESSION#{hash_token(session)}",
    ]
    held = [
        item
        for pk in partitions
        for item in store.dynamodb.query(
            TableName=store.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ConsistentRead=True,
        )["Items"]
    ]
    assert held, "the account and license items are kept"
    assert not [
        item for item in held if email in json.dumps(item).lower() or "muster" in json.dumps(item).lower()
    ]
    kept = store.require_license(license.id)
    assert (kept.key, kept.ends_on, kept.billing) == (license.key, license.ends_on, license.billing)
    assert store.contact_emails(account.id) == [] and store.get_contact(email) is None
    assert store.exchange_token(token, purpose=SIGN_IN_PURPOSE) is None and store.get_session(session) is None


def test_erasing_a_persons_account_renames_it_and_keeps_its_licenses_activity(world: dict[str, Any]) -> None:
    store, events, product = world["store"], world["events"], world["product"]
    person = factories.account("Fay Forget", kind="person", billing_address={"line1": "1 Fay Street"})
    store.create_account(person)
    store.add_contact(person.id, "fay@forget.test", "Fay F.")
    (license,) = issue_licenses(store, None, product=product, account=person, actor=STAFF, starts_on=today())
    # A renewal the customer made: its history entry names them, and the overview lists it.
    renew_manually(
        store, events, license.id, product=product, today=today(), actor="customer:fay@forget.test"
    )

    report = privacy.erase_account(store, person, actor=STAFF)

    erased = store.get_account(person.id)
    assert erased is not None and erased.name == f"Erased account {person.id}"
    assert (erased.billing_address, erased.kind) == ({}, "person")
    listed = store.dynamodb.get_item(
        TableName=store.table_name, Key=serialize(keys.account(person.id).as_item())
    )
    assert listed["Item"]["gsi1sk"]["S"] == keys.account_by_name(erased.name, person.id)
    history = store.license_history(license.id)
    assert [entry.action for entry in history if entry.action == "renewed"] == ["renewed"]
    assert not [entry for entry in history if "fay" in json.dumps(entry.model_dump(mode="json")).lower()]
    renewals = activity_page(StaffQueries(store), "renewed", today=today())
    assert license.id in [found.license.id for found in renewals.items]
    assert "Fay" not in store.require_license(license.id).name
    assert report["contacts"] == 1 and report["items_rewritten"] >= 2
