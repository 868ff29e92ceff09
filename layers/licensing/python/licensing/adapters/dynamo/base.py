"""The table's low-level access shared by every repository: (de)serialising items, one read,
paged queries, transactions, and the AWS error translation on each."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from ... import tables
from ..aws import client, translate
from .keys import Key

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_KEY_ATTRIBUTES = frozenset({tables.PARTITION_KEY, tables.SORT_KEY, "item_type"}) | {
    name for index in tables.INDEXES for name in (index.partition_key, index.sort_key)
}


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in item.items()}


def _plain(value: Any) -> Any:
    """DynamoDB's numbers come back as Decimal: whole ones become int (we store no fractions)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, set):
        return sorted(_plain(inner) for inner in value)
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(_deserializer.deserialize(value)) for name, value in item.items()}


def without_keys(item: dict[str, Any]) -> dict[str, Any]:
    """An item's own fields, without its table and index keys (what a domain model validates)."""
    return {name: value for name, value in item.items() if name not in _KEY_ATTRIBUTES}


class TableAccess:
    """The one table, its client (created on first use), and the operations every aggregate uses."""

    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self.table_name = table_name
        self._client = dynamodb

    @property
    def dynamodb(self) -> Any:
        if self._client is None:
            self._client = client("dynamodb")
        return self._client

    def _get(self, key: Key, *, consistent: bool = True) -> dict[str, Any] | None:
        try:
            answer = self.dynamodb.get_item(
                TableName=self.table_name,
                Key=serialize(key.as_item()),
                ConsistentRead=consistent,
            )
        except ClientError as error:
            raise translate(error, "read") from error
        item = answer.get("Item")
        return deserialize(item) if item else None

    def _query(self, **arguments: Any) -> Iterator[dict[str, Any]]:
        """Every item a Query returns, following pages past DynamoDB's 1 MB limit."""
        arguments = {"TableName": self.table_name, **arguments}
        while True:
            try:
                answer = self.dynamodb.query(**arguments)
            except ClientError as error:
                raise translate(error, "query") from error
            for item in answer.get("Items", []):
                yield deserialize(item)
            last_key = answer.get("LastEvaluatedKey")
            if not last_key:
                return
            arguments["ExclusiveStartKey"] = last_key

    def _query_key(
        self,
        pk: str,
        *,
        index: str | None = None,
        sk_prefix: str | None = None,
        newest_first: bool = False,
        consistent: bool = False,
    ) -> Iterator[dict[str, Any]]:
        partition, sort = ("pk", "sk")
        if index:
            spec = next(candidate for candidate in tables.ALL_INDEXES if candidate.name == index)
            partition, sort = spec.partition_key, spec.sort_key
        condition = "#p = :p"
        names = {"#p": partition}
        values: dict[str, Any] = {":p": pk}
        if sk_prefix:
            condition += " AND begins_with(#s, :s)"
            names["#s"] = sort
            values[":s"] = sk_prefix
        arguments: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialize(values),
            "ScanIndexForward": not newest_first,
        }
        if index:
            arguments["IndexName"] = index
        elif consistent:  # only the table's own keys read consistently; an index never does
            arguments["ConsistentRead"] = True
        return self._query(**arguments)

    def _transact(self, operations: list[dict[str, Any]], what: str) -> None:
        try:
            self.dynamodb.transact_write_items(TransactItems=operations)
        except ClientError as error:
            raise translate(error, what) from error

    def _write(self, item: dict[str, Any], what: str, condition: str | None = None) -> None:
        """One PutItem (conditional when `condition` is given: a failed one is a Conflict)."""
        arguments: dict[str, Any] = {"TableName": self.table_name, "Item": serialize(item)}
        if condition:
            arguments["ConditionExpression"] = condition
        try:
            self.dynamodb.put_item(**arguments)
        except ClientError as error:
            raise translate(error, what) from error

    def _put(self, item: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
        operation: dict[str, Any] = {"TableName": self.table_name, "Item": serialize(item)}
        if condition:
            operation["ConditionExpression"] = condition
        return {"Put": operation}

    def _delete(self, key: Key) -> dict[str, Any]:
        return {"Delete": {"TableName": self.table_name, "Key": serialize(key.as_item())}}
