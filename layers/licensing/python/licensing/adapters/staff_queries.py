"""Reads and writes that only staff tools need, on the DynamoStore's table: index ranges a page at
a time (staff lists, `licensing.paging`), every license (for export and the overview), and the
backfill of index keys. Nothing here runs on a request or job path."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from ..models import Contact, HistoryEntry, License
from ..paging import Part
from .aws import error_code, translate
from .dynamo import keys
from .dynamo.base import deserialize, without_keys
from .dynamo.licenses import activity_keys, license_item

_serializer = TypeSerializer()


def _item(raw: dict[str, Any]) -> dict[str, Any]:
    return deserialize(raw)


def _key_condition(part: Part) -> dict[str, Any]:
    """A Query's key condition for an index range: the partition, and the prefix or lowest sort key."""
    partition, sort = part.attributes
    condition, values = "#p = :p", {":p": part.pk}
    if part.prefix:
        condition, values[":s"] = condition + " AND begins_with(#s, :s)", part.prefix
    elif part.lowest:
        condition, values[":s"] = condition + " AND #s >= :s", part.lowest
    names = {"#p": partition, **({"#s": sort} if len(values) > 1 else {})}
    return {
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {name: _serializer.serialize(v) for name, v in values.items()},
    }


class StaffQueries:
    """Staff-only access patterns on the store's table (`store` is a DynamoStore)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def _query(self, **arguments: Any) -> Iterator[dict[str, Any]]:
        arguments = {"TableName": self.store.table_name, **arguments}
        while True:
            try:
                answer = self.store.dynamodb.query(**arguments)
            except ClientError as error:
                raise translate(error, "query") from error
            yield from (_item(raw) for raw in answer.get("Items", []))
            if not answer.get("LastEvaluatedKey"):
                return
            arguments["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def query_page(
        self, part: Part, start: dict[str, str] | None, limit: int
    ) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """One Query of an index range (`licensing.paging`): at most `limit` items after `start`,
        and where the next one starts (None at the range's end)."""
        arguments: dict[str, Any] = {
            "TableName": self.store.table_name,
            "IndexName": part.index,
            **_key_condition(part),
            "ScanIndexForward": not part.newest_first,
            "Limit": limit,
        }
        if start is not None:
            arguments["ExclusiveStartKey"] = {name: _serializer.serialize(v) for name, v in start.items()}
        try:
            answer = self.store.dynamodb.query(**arguments)
        except ClientError as error:
            raise translate(error, "query") from error
        last = answer.get("LastEvaluatedKey")
        return [_item(raw) for raw in answer.get("Items", [])], (_item(last) if last else None)

    # -- the index ranges staff lists page on (key patterns in adapters/dynamo/keys.py) ----------

    def account_licenses(self, account_id: str) -> Part:
        """An account's licenses on gsi1, newest first."""
        return Part("gsi1", keys.account_licenses(account_id), keys.LICENSES, newest_first=True)

    def product_licenses(self, product: str, status: str) -> Part:
        """A product's licenses with a status on gsi2, the latest end date first."""
        return Part("gsi2", keys.product_licenses(product), keys.product_status(status), newest_first=True)

    def suppressed_contacts(self) -> Part:
        """Contacts whose mail is suppressed on gsi2, the latest first."""
        return Part("gsi2", keys.SUPPRESSED, newest_first=True)

    def activity(self, kind: str, month: date, since: date) -> Part:
        """The history entries of one kind (issued, renewed) in one month from `since` on, on gsi2,
        newest first."""
        return Part("gsi2", keys.activity(kind, month), newest_first=True, lowest=keys.activity_since(since))

    @staticmethod
    def history_entry(item: dict[str, Any]) -> HistoryEntry:
        return HistoryEntry.model_validate(without_keys(item))

    @staticmethod
    def license(item: dict[str, Any]) -> License:
        return License.model_validate(without_keys(item))

    @staticmethod
    def contact(item: dict[str, Any]) -> Contact:
        return Contact.model_validate(without_keys(item))

    def backfill_indexes(self, history_since: date | None = None) -> dict[str, int]:
        """Write the gsi2 keys on items written before gsi2 existed: every license (account by
        account on gsi1), the history entries that issued or renewed one (since `history_since`, or
        all with None: one Query of each license's history) and every suppressed contact of an
        account. Idempotent: an item whose keys are right is not written; a license saved meanwhile
        (its revision moved) has them already."""
        written = {"licenses": 0, "history": 0, "contacts": 0, "read": 0}
        emails: set[str] = set()
        for account in self.store.list_accounts():
            for item in self._query(
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :p AND begins_with(gsi1sk, :s)",
                ExpressionAttributeValues={
                    ":p": _serializer.serialize(keys.account_licenses(account.id)),
                    ":s": _serializer.serialize(keys.LICENSES),
                },
            ):
                written["read"] += 1
                wanted = license_item(self.license(item))
                if self._set_gsi2(item, wanted["gsi2pk"], wanted["gsi2sk"], "#revision = :revision"):
                    written["licenses"] += 1
                for entry in self._history_since(item["pk"], history_since):
                    activity = activity_keys(self.history_entry(entry))
                    if activity:
                        written["read"] += 1
                        pk, sk = activity["gsi2pk"], activity["gsi2sk"]
                        written["history"] += self._set_gsi2(entry, pk, sk, "attribute_exists(pk)")
            emails.update(self.store.contact_emails(account.id))
        for email in sorted(emails):
            contact = self.get(*keys.contact(email))
            suppression = self.contact(contact).suppressed if contact else None
            if contact is None or suppression is None:
                continue
            written["read"] += 1
            sort_key = keys.suppressed(suppression.at, email)
            if self._set_gsi2(contact, keys.SUPPRESSED, sort_key, "attribute_exists(suppressed)"):
                written["contacts"] += 1
        return written

    def _history_since(self, license_pk: str, since: date | None) -> Iterator[dict[str, Any]]:
        """A license's history entries written on or after `since` (all with None), one Query."""
        lowest = keys.HISTORY + (since.isoformat() if since else "")
        highest = keys.HISTORY[:-1] + chr(ord(keys.HISTORY[-1]) + 1)  # just past every HISTORY# key
        return self._query(
            KeyConditionExpression="pk = :p AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":p": _serializer.serialize(license_pk),
                ":low": _serializer.serialize(lowest),
                ":high": _serializer.serialize(highest),
            },
        )

    def _set_gsi2(self, item: dict[str, Any], pk: str, sk: str, condition: str) -> bool:
        if item.get("gsi2pk") == pk and item.get("gsi2sk") == sk:
            return False
        values = {":pk": pk, ":sk": sk}
        names = {}
        if "#revision" in condition:
            values[":revision"], names["#revision"] = item["revision"], "revision"
        try:
            self.store.dynamodb.update_item(
                TableName=self.store.table_name,
                Key={"pk": _serializer.serialize(item["pk"]), "sk": _serializer.serialize(item["sk"])},
                UpdateExpression="SET gsi2pk = :pk, gsi2sk = :sk",
                ConditionExpression=condition,
                ExpressionAttributeValues={name: _serializer.serialize(v) for name, v in values.items()},
                **({"ExpressionAttributeNames": names} if names else {}),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False  # changed since it was read: its own write set the keys
            raise translate(error, "write the index keys") from error
        return True

    def count(self, part: Part) -> int:
        """How many items an index range holds (Select COUNT: nothing but the count comes back)."""
        arguments: dict[str, Any] = {
            "TableName": self.store.table_name,
            "IndexName": part.index,
            **_key_condition(part),
            "Select": "COUNT",
        }
        total = 0
        while True:
            try:
                answer = self.store.dynamodb.query(**arguments)
            except ClientError as error:
                raise translate(error, "count") from error
            total += int(answer.get("Count", 0))
            if not answer.get("LastEvaluatedKey"):
                return total
            arguments["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def licenses_by_id(self, license_ids: list[str]) -> dict[str, License]:
        """These licenses, in batches of 100 (BatchGetItem)."""
        from .dynamo.imports import ImportRepository

        return ImportRepository(self.store.table_name, self.store.dynamodb).licenses_by_id(license_ids)

    def all_licenses(self) -> Iterator[License]:
        """Every license, account by account: the account list and each account's licenses on gsi1
        (1 + accounts queries; no Scan). For staff search and export, which read them all anyway."""
        for account in self.store.list_accounts():
            yield from self.store.licenses_of_account(account.id)

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        try:
            answer = self.store.dynamodb.get_item(
                TableName=self.store.table_name,
                Key={"pk": _serializer.serialize(pk), "sk": _serializer.serialize(sk)},
                ConsistentRead=True,
            )
        except ClientError as error:
            raise translate(error, "read") from error
        return _item(answer["Item"]) if answer.get("Item") else None
