"""Reads and writes that only staff tools need, on the DynamoStore's table: every license (for
search and export), the items that hold a person's email (for data-protection export and
erasure), and raw item writes for erasure. Nothing here runs on a request or job path."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from .. import tables
from ..models import License
from .aws import translate
from .dynamo.base import deserialize

_serializer = TypeSerializer()
EMAIL_INDEX = next(index for index in tables.DATA_INDEXES if index.name == "email")


def _stored(value: Any) -> Any:
    """Back to what DynamoDB takes: floats as Decimal."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _stored(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_stored(inner) for inner in value]
    return value


def _item(raw: dict[str, Any]) -> dict[str, Any]:
    return deserialize(raw)


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

    def all_licenses(self) -> Iterator[License]:
        """Every license, account by account: the account list and each account's licenses on gsi1
        (1 + accounts queries; no Scan). For staff search and export, which read them all anyway."""
        for account in self.store.list_accounts():
            yield from self.store.licenses_of_account(account.id)

    def partition(self, pk: str) -> list[dict[str, Any]]:
        """Every item of a partition, as stored (one query, paged)."""
        return list(
            self._query(
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": _serializer.serialize(pk)},
                ConsistentRead=True,
            )
        )

    def items_with_email(self, email: str) -> list[dict[str, Any]]:
        """The keys of every item whose `email` is this address: the contact, its memberships,
        sign-in tokens and portal sessions (the sparse `email` index)."""
        return list(
            self._query(
                IndexName=EMAIL_INDEX.name,
                KeyConditionExpression="#e = :e",
                ExpressionAttributeNames={"#e": EMAIL_INDEX.partition_key},
                ExpressionAttributeValues={":e": _serializer.serialize(email.strip().lower())},
            )
        )

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

    def delete(self, pk: str, sk: str) -> None:
        try:
            self.store.dynamodb.delete_item(
                TableName=self.store.table_name,
                Key={"pk": _serializer.serialize(pk), "sk": _serializer.serialize(sk)},
            )
        except ClientError as error:
            raise translate(error, "delete") from error

    def put(self, item: dict[str, Any]) -> None:
        """Replace an item as it is (erasure rewrites history entries in place)."""
        try:
            self.store.dynamodb.put_item(
                TableName=self.store.table_name,
                Item={name: _serializer.serialize(_stored(value)) for name, value in item.items()},
            )
        except ClientError as error:
            raise translate(error, "write") from error
