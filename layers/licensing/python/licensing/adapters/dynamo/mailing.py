"""Mail at scale: one page of the sparse ``active`` index at a time, the shared send schedule
(``PACER#``) and a release announcement's counters (``TALLY#``)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ...models import License
from ..aws import error_code, translate
from . import keys
from .base import TableAccess, deserialize, serialize, without_keys

TALLIES = ("queued", "skipped", "sent", "suppressed", "failed", "pages")


class MailingRepository(TableAccess):
    def active_license_page(
        self, product: str, *, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[License], dict[str, Any] | None]:
        """At most `limit` licenses of the product that receive release mails, from `start` (a
        previous page's LastEvaluatedKey, as plain values), and where the next page starts (None
        after the last)."""
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "active",
            "KeyConditionExpression": "active_pk = :p",
            "ExpressionAttributeValues": serialize({":p": keys.active(product)}),
            "Limit": limit,
        }
        if start:
            arguments["ExclusiveStartKey"] = serialize(start)
        try:
            answer = self.dynamodb.query(**arguments)
        except ClientError as error:
            raise translate(error, "query") from error
        licenses = [License.model_validate(without_keys(deserialize(item))) for item in answer["Items"]]
        last = answer.get("LastEvaluatedKey")
        return licenses, (deserialize(last) if last else None)

    def book_send_slot(self, name: str, *, now: float, interval: float, horizon: float) -> float | None:
        """Book the next free send slot of channel `name`, if it starts within `horizon` seconds of
        `now`: its start (epoch seconds), or None when the schedule is booked further ahead or
        another worker booked first (the caller waits and asks again). One read, one conditional
        write: the slots of every worker are `interval` apart."""
        key = keys.pacer(name)
        item = self._get(key) or {}
        booked = float(item.get("next_at", 0))
        start = max(booked, now)
        if start - now > horizon:
            return None
        condition = "next_at = :booked" if "next_at" in item else "attribute_not_exists(next_at)"
        values: dict[str, Any] = {":next": str(start + interval)}
        if "next_at" in item:
            values[":booked"] = str(item["next_at"])
        try:
            # Stored as a string: exact round trips of fractional seconds, compared for equality.
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=serialize(key.as_item()),
                UpdateExpression="SET next_at = :next",
                ConditionExpression=condition,
                ExpressionAttributeValues=serialize(values),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise translate(error, "book a send slot") from error
        return start

    def push_send_schedule(self, name: str, *, not_before: float) -> None:
        """Nobody sends on channel `name` before `not_before` (SES said we were too fast)."""
        key = keys.pacer(name)
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=serialize(key.as_item()),
                UpdateExpression="SET next_at = :at",
                ConditionExpression="attribute_not_exists(next_at) OR next_at < :at",
                ExpressionAttributeValues=serialize({":at": str(not_before)}),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return  # already pushed further by another worker
            raise translate(error, "slow the send schedule") from error

    def add_release_tally(self, product: str, version: str, counts: dict[str, int]) -> None:
        """Add to a release announcement's counters (atomic; none is ever lowered)."""
        counts = {name: count for name, count in counts.items() if count}
        if not counts:
            return
        unknown = set(counts) - set(TALLIES)
        if unknown:
            raise ValueError(f"no release counter {sorted(unknown)}")
        adds = ", ".join(f"#{name} :{name}" for name in counts)
        self._update_tally(product, version, f"SET item_type = :t ADD {adds}", counts, "count release mail")

    def mark_release_tally(self, product: str, version: str, **fields: Any) -> None:
        """Set plain fields of the counters' item (the fan-out's completion)."""
        sets = ", ".join(f"#{name} = :{name}" for name in fields)
        self._update_tally(product, version, f"SET item_type = :t, {sets}", fields, "mark release mail")

    def _update_tally(
        self, product: str, version: str, expression: str, values: dict[str, Any], what: str
    ) -> None:
        """One update of a release's counters item; `values` are named `#name`/`:name` in `expression`."""
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=serialize(keys.release_tally(product, version).as_item()),
                UpdateExpression=expression,
                ExpressionAttributeNames={f"#{name}": name for name in values},
                ExpressionAttributeValues=serialize(
                    {":t": "release_tally", **{f":{name}": value for name, value in values.items()}}
                ),
            )
        except ClientError as error:
            raise translate(error, what) from error

    def release_tally(self, product: str, version: str) -> dict[str, Any]:
        item = self._get(keys.release_tally(product, version)) or {}
        return {name: int(item.get(name, 0)) for name in TALLIES} | {
            "fanned_out": bool(item.get("fanned_out", False))
        }
