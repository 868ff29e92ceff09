"""The one definition of the DynamoDB table: keys, indexes and TTL.

Read by the CDK stack (infra/) and by the local dev server, so the deployed and the local table
never drift. Items of every kind share one table; the key patterns are built in
``licensing.adapters.dynamo.keys``. Indexes:

- ``gsi1`` (overloaded): ``ACCOUNT#<id>`` -> the account's licenses; ``PRODUCTS`` and
  ``ACCOUNTS`` -> the catalogue and the account list.
- ``active`` (sparse): ``ACTIVE#<product>`` -> licenses that receive release mails.
- ``ends`` (sparse): ``ENDS#<date>`` -> licenses whose term ends that day (reminders, expiry mail).
- ``lapse`` (sparse): ``LAPSE#<date>`` -> licenses whose grace ends the day before (status write).
"""

from __future__ import annotations

from dataclasses import dataclass

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "ttl"


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str


INDEXES: tuple[Index, ...] = (
    Index("gsi1", "gsi1pk", "gsi1sk"),
    Index("active", "active_pk", "active_sk"),
    Index("ends", "ends_pk", "ends_sk"),
    Index("lapse", "lapse_pk", "lapse_sk"),
)


def create_table_arguments(table_name: str) -> dict:
    """Arguments for ``dynamodb.create_table`` (local dev server and tests), on-demand billing."""
    attributes = {PARTITION_KEY, SORT_KEY}
    for index in INDEXES:
        attributes.update((index.partition_key, index.sort_key))
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in sorted(attributes)
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in INDEXES
        ],
    }
