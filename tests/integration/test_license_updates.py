"""The one optimistic update of a license (services/licenses.py) on the real store: a decision
is never written over a change it did not see."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from licensing.adapters.dynamo import DynamoStore
from licensing.errors import NotFound, TransientError
from licensing.models import HistoryEntry, License
from licensing.services.licenses import Change, update_license
from tests import factories


@pytest.fixture
def store(aws: dict[str, Any]) -> DynamoStore:
    return DynamoStore(aws["names"].table, boto3.client("dynamodb"))


def note(license: License, action: str) -> HistoryEntry:
    return HistoryEntry(license_id=license.id, actor="test", action=action, customer_visible=False)


def test_a_change_that_lost_a_race_is_decided_again_on_the_winner(store: DynamoStore) -> None:
    license = factories.license(max_sites=3)
    store.create_license(license, [])
    seen: list[int] = []

    def add_two_sites(current: License) -> Change:
        seen.append(current.max_sites)
        if len(seen) == 1:  # another writer saves between this read and this write
            store.save_license(current.model_copy(update={"max_sites": 10}), [note(current, "raised")])
        return Change(current.model_copy(update={"max_sites": current.max_sites + 2}), [note(current, "+2")])

    updated = update_license(store, license.id, add_two_sites)
    assert seen == [3, 10]
    assert updated is not None and updated.read.max_sites == 10 and updated.saved.max_sites == 12
    stored = store.require_license(license.id)
    assert (stored.max_sites, stored.revision) == (12, 2)
    assert [entry.action for entry in store.license_history(license.id)] == ["raised", "+2"]


def test_nothing_to_change_writes_nothing(store: DynamoStore) -> None:
    license = factories.license()
    store.create_license(license, [])
    assert update_license(store, license.id, lambda current: None) is None
    assert store.require_license(license.id).revision == 0


def test_a_license_that_keeps_changing_gives_up_with_the_callers_error(store: DynamoStore) -> None:
    license = factories.license()
    store.create_license(license, [])
    calls = 0

    def always_raced(current: License) -> Change:
        nonlocal calls
        calls += 1
        store.save_license(current, [])  # someone else wins every time
        return Change(current.model_copy(update={"max_sites": 9}))

    with pytest.raises(TransientError, match="a lapsing license"):
        update_license(
            store, license.id, always_raced, attempts=3, exhausted=TransientError("a lapsing license")
        )
    assert calls == 3
    stored = store.require_license(license.id)
    assert (stored.max_sites, stored.revision) == (license.max_sites, 3)


def test_a_missing_license_is_not_found(store: DynamoStore) -> None:
    with pytest.raises(NotFound):
        update_license(store, "lic_missing", lambda current: Change(current))
