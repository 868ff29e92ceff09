"""Once-only markers and notes (``CLAIM#``): Stripe events processed, sales issued, renewals
applied, mails sent; each with an optional TTL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from ... import tables
from ...dates import utc_now
from ...errors import Conflict
from ..aws import error_code, translate
from . import keys
from .base import TableAccess, serialize


def claim_item(name: str, ttl_days: int | None, detail: dict[str, Any] | None) -> dict[str, Any]:
    """The claim `name` as stored (also written by other aggregates' transactions as their guard)."""
    item: dict[str, Any] = {**keys.claim(name).as_item(), "item_type": "claim"}
    if ttl_days is not None:
        item[tables.TTL_ATTRIBUTE] = int((utc_now() + timedelta(days=ttl_days)).timestamp())
    if detail:
        item["detail"] = detail
    return item


class ClaimRepository(TableAccess):
    def claim(self, key: str, *, ttl_days: int | None, detail: dict[str, Any] | None = None) -> bool:
        """Mark `key` as done (kept for `ttl_days`, or for good with None); False when it already
        was (one conditional write)."""
        item = claim_item(key, ttl_days, detail)
        try:
            self._write(item, "claim", "attribute_not_exists(pk)")
        except Conflict:
            return False
        return True

    def remember(self, key: str, detail: dict[str, Any], *, ttl_days: int) -> None:
        """Keep a note under `key` (replacing an older one), e.g. a refund that came before its sale."""
        self._write(claim_item(key, ttl_days, detail), "remember")

    def take_over_claim(self, key: str, *, expected_since: str, detail: dict[str, Any]) -> bool:
        """Replace a claim's detail if its `since` is still `expected_since` (one winner)."""
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=serialize(keys.claim(key).as_item()),
                UpdateExpression="SET detail = :detail",
                ConditionExpression="detail.since = :since",
                ExpressionAttributeValues=serialize({":detail": detail, ":since": expected_since}),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise translate(error, "take over claim") from error
        return True

    def release_claim(self, key: str) -> None:
        """Undo a claim whose work failed, so that a retry may do it."""
        try:
            self.dynamodb.delete_item(TableName=self.table_name, Key=serialize(keys.claim(key).as_item()))
        except ClientError as error:
            raise translate(error, "release claim") from error

    def get_claim(self, key: str) -> dict[str, Any] | None:
        item = self._get(keys.claim(key))
        return dict(item.get("detail") or {}) if item else None
