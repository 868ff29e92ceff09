"""Sign-in tokens and portal sessions, stored by the hash of their token only; the session
policy (how long one lasts) is the domain's, in ``licensing.sessions``."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ... import tables
from ...dates import utc_now
from ...errors import Conflict
from ...models import PortalSession
from ...sessions import session_expires_at, session_is_live, session_needs_touch
from ..aws import translate
from . import keys
from .base import TableAccess, serialize


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionRepository(TableAccess):
    def create_token(self, email: str, *, purpose: str, lifetime: timedelta) -> str:
        """A fresh single-use token for `email`; only its hash is stored. Returns the token."""
        token = secrets.token_urlsafe(32)
        expires_at = utc_now() + lifetime
        item = {
            **keys.token(hash_token(token)).as_item(),
            "item_type": "token",
            "email": email,
            "purpose": purpose,
            "expires_at": expires_at.isoformat(),
            tables.TTL_ATTRIBUTE: int(expires_at.timestamp()),
        }
        self._write(item, "create token")
        return token

    def exchange_token(self, token: str, *, purpose: str) -> str | None:
        """A live single-use token exchanged for a new portal session of its address, in one
        transaction (the token deleted on condition, the session written): the token of the
        session, or None when the token is unknown, of another purpose, expired or used already.
        A failure changes nothing, so the link still works at the retry; botocore's own retry of a
        lost answer repeats the transaction's idempotency token and is not a second use."""
        key = keys.token(hash_token(token))
        held = self._get(key)
        now = utc_now()
        if held is None:
            return None  # the rest (its purpose, its expiry) is the delete's condition
        session_token, session = self._session_item(str(held["email"]), now)
        use_token = {
            "Delete": {
                "TableName": self.table_name,
                "Key": serialize(key.as_item()),
                "ConditionExpression": "attribute_exists(pk) AND purpose = :purpose AND expires_at > :now",
                "ExpressionAttributeValues": serialize({":purpose": purpose, ":now": now.isoformat()}),
            }
        }
        try:
            self._transact([use_token, self._put(session)], "sign in")
        except Conflict:
            return None  # another request used it first
        return session_token

    def create_session(self, email: str) -> str:
        """A new portal session for `email`; only the token's hash is stored. Returns the token."""
        token, item = self._session_item(email, utc_now())
        self._write(item, "create session")
        return token

    def _session_item(self, email: str, now: datetime) -> tuple[str, dict[str, Any]]:
        token = secrets.token_urlsafe(32)
        item = {
            **keys.session(hash_token(token)).as_item(),
            "item_type": "session",
            "email": email,
            "created_at": now.isoformat(),
            "last_seen_at": now.isoformat(),
            "csrf": secrets.token_urlsafe(24),
            tables.TTL_ATTRIBUTE: int(session_expires_at(now).timestamp()),
        }
        return token, item

    def get_session(self, token: str) -> PortalSession | None:
        """A live session, by the policy of ``licensing.sessions``: checked here at every request,
        not left to DynamoDB's TTL, which removes expired items only eventually. Touches it."""
        key = keys.session(hash_token(token))
        item = self._get(key)
        now = utc_now()
        if item is None:
            return None
        session = PortalSession.model_validate(item)
        seen = session.last_seen_at
        if not session_is_live(session.created_at, seen, now):
            self.end_session(token)
            return None
        if session_needs_touch(seen, now):
            try:
                self.dynamodb.update_item(
                    TableName=self.table_name,
                    Key=serialize(key.as_item()),
                    UpdateExpression="SET last_seen_at = :now",
                    ExpressionAttributeValues=serialize({":now": now.isoformat()}),
                )
            except ClientError as error:
                raise translate(error, "touch session") from error
            session = session.model_copy(update={"last_seen_at": now})
        return session

    def end_session(self, token: str) -> None:
        try:
            self.dynamodb.delete_item(
                TableName=self.table_name, Key=serialize(keys.session(hash_token(token)).as_item())
            )
        except ClientError as error:
            raise translate(error, "end session") from error
