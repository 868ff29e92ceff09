"""The one definition of the DynamoDB table: keys, indexes and TTL.

Read by the CDK stack (infra/) and by the local dev server, so the deployed and the local table
never drift. Items of every kind share one table; the key patterns are built in
``licensing.adapters.dynamo.keys``. Indexes:

- ``gsi1`` (overloaded): ``ACCOUNT#<id>`` -> the account's licenses; ``PRODUCTS`` and
  ``ACCOUNTS`` -> the catalogue and the account list.
- ``gsi2`` (overloaded, sparse): ``PRODUCT#<slug>`` -> the product's licenses sorted by
  ``<status>#<ends_on>#<license id>`` (a product and status filter is one begins_with range);
  ``SUPPRESSED`` -> contacts whose mail is suppressed, by ``<since>#<email>``;
  ``ACTIVITY#<kind>#<yyyy-mm>`` -> the history entries that issued (``issued``, ``imported``) or
  renewed (``renewed``) a license that month (UTC), by ``<at>#<license id>`` (the last 30 days are
  one Query per month from a lowest sort key, newest first, and a COUNT query each). Staff lists
  (search, the console's suppressed addresses, issued and renewed licenses) page on it and on gsi1,
  one Query per page.
- ``active`` (sparse): ``ACTIVE#<product>`` -> licenses that receive release mails.
- ``ends`` (sparse): ``ENDS#<date>`` -> licenses whose term ends that day (reminders, expiry mail).
- ``lapse`` (sparse): ``LAPSE#<date>`` -> licenses whose grace ends the day before (status write).
- ``email`` (sparse, on the items' own ``email`` attribute): a person's contact, memberships,
  sign-in tokens and portal sessions, so that a data-protection erasure finds every one of them
  (tokens and sessions are keyed by a hash and could not be found otherwise).
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
    Index("gsi2", "gsi2pk", "gsi2sk"),
    Index("active", "active_pk", "active_sk"),
    Index("ends", "ends_pk", "ends_sk"),
    Index("lapse", "lapse_pk", "lapse_sk"),
)

# Indexes keyed on attributes that are part of the items' data (not written for the index, so not
# stripped when an item is read back as a model).
DATA_INDEXES: tuple[Index, ...] = (Index("email", "email", "sk"),)

ALL_INDEXES: tuple[Index, ...] = INDEXES + DATA_INDEXES


def create_table_arguments(table_name: str) -> dict:
    """Arguments for ``dynamodb.create_table`` (local dev server and tests), on-demand billing."""
    attributes = {PARTITION_KEY, SORT_KEY}
    for index in ALL_INDEXES:
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
            for index in ALL_INDEXES
        ],
    }
