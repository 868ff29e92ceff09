"""The one issuing service: keys, history, product settings copied on, one announcing event."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import boto3
import pytest

from licensing.adapters.dynamo import DynamoStore
from licensing.adapters.events import EventBridgePublisher
from licensing.errors import Conflict, InvalidInput, TransientError
from licensing.keys import lookup_key
from licensing.models import LicenseStatus, LicenseType
from licensing.services.issuing import issue_licenses
from tests import factories


def queued_events(aws: dict[str, Any]) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    answer = sqs.receive_message(QueueUrl=aws["queues"]["transactional"], MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in answer.get("Messages", [])]


def test_issued_licenses_carry_key_history_and_product_rules(aws: dict[str, Any]) -> None:
    store = DynamoStore(aws["names"].table)
    product = factories.product(max_sites=5, grace_days=10, development_hosts=["localhost", "*.test"])
    account = factories.account("Globex GmbH")
    (license,) = issue_licenses(
        store,
        EventBridgePublisher(aws["names"].bus),
        product=product,
        account=account,
        actor="staff:ann",
        starts_on=date(2027, 1, 31),
        months=1,
    )
    stored = store.require_license(license.id)
    assert lookup_key(stored.key) == stored.key
    assert stored.name == "CRM Exporter — Globex GmbH"
    assert (stored.starts_on, stored.ends_on) == (date(2027, 1, 31), date(2027, 2, 28))
    assert (stored.max_sites, stored.grace_days, stored.development_hosts) == (5, 10, ["localhost", "*.test"])
    (entry,) = store.license_history(license.id)
    assert (entry.actor, entry.action) == ("staff:ann", "issued")
    (event,) = queued_events(aws)
    assert event["detail-type"] == "LicenseIssued"
    assert event["detail"]["license_ids"] == [license.id]


def test_a_quantity_is_one_sale_one_event(aws: dict[str, Any]) -> None:
    store = DynamoStore(aws["names"].table)
    licenses = issue_licenses(
        store,
        EventBridgePublisher(aws["names"].bus),
        product=factories.product(),
        account=factories.account(),
        actor="test",
        quantity=3,
        status=LicenseStatus.PENDING,
        refs=["cs_1"],
    )
    assert len({license.key for license in licenses}) == 3
    assert sorted(store.license_ids_for_ref("cs_1")) == sorted(license.id for license in licenses)
    (event,) = queued_events(aws)
    assert event["detail-type"] == "LicensePending"
    assert len(event["detail"]["license_ids"]) == 3


def test_a_trial_ends_after_the_trial_days(aws: dict[str, Any]) -> None:
    store = DynamoStore(aws["names"].table)
    (license,) = issue_licenses(
        store,
        None,
        product=factories.product(trial_days=14),
        account=factories.account(),
        actor="test",
        license_type=LicenseType.TRIAL,
        starts_on=date(2026, 12, 1),
    )
    assert license.ends_on == date(2026, 12, 15)


def test_the_guard_makes_a_sale_issue_once(aws: dict[str, Any]) -> None:
    store = DynamoStore(aws["names"].table)
    arguments: dict[str, Any] = {
        "product": factories.product(),
        "account": factories.account(),
        "actor": "test",
        "guard": "checkout:cs_1",
    }
    issue_licenses(store, None, **arguments)
    with pytest.raises(Conflict):
        issue_licenses(store, None, **arguments)
    assert store.get_claim("checkout:cs_1") is not None


def test_a_custom_product_is_only_for_its_owner(aws: dict[str, Any]) -> None:
    store = DynamoStore(aws["names"].table)
    owner, stranger = factories.account("Acme Corp"), factories.account("Stranger")
    custom = factories.product("acme-sales-automation", kind="custom", owner_account_id=owner.id)
    with pytest.raises(InvalidInput, match="custom product of another account"):
        issue_licenses(
            store, None, product=custom, account=stranger, actor="t", license_type=LicenseType.CUSTOM
        )
    (license,) = issue_licenses(
        store, None, product=custom, account=owner, actor="t", license_type=LicenseType.CUSTOM
    )
    assert license.custom is True


def test_imported_keys_are_kept_and_never_duplicated(aws: dict[str, Any]) -> None:
    store = DynamoStore(aws["names"].table)
    arguments: dict[str, Any] = {
        "product": factories.product(),
        "account": factories.account(),
        "actor": "import",
    }
    (license,) = issue_licenses(store, None, keys=["old-system-key-0042"], **arguments)
    assert license.key == "OLDSYSTEMKEY0042"
    with pytest.raises(Conflict):
        issue_licenses(store, None, keys=["OLD SYSTEM KEY 0042"], **arguments)


@pytest.mark.dynamodb_local
def test_concurrent_deliveries_of_one_sale_issue_it_once(local_store: DynamoStore) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = local_store
    product, account = factories.product(), factories.account()

    def deliver(_: int) -> bool:
        # A loser sees the winner's guard (Conflict) or races its transaction (TransientError,
        # which Stripe retries, then sees the guard).
        try:
            issue_licenses(
                store,
                None,
                product=product,
                account=account,
                actor="stripe",
                quantity=2,
                refs=["cs_race"],
                guard="checkout:cs_race",
            )
        except (Conflict, TransientError):
            return False
        return True

    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(deliver, range(10)))
    assert results.count(True) == 1
    assert len(store.license_ids_for_ref("cs_race")) == 2
