"""Sign-in tokens and portal sessions, stored by the hash of their token only; the session
policy (how long one lasts) is the domain's, in ``licensing.sessions``."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from botocore.exceptions import ClientError

from ... import tables
from ...dates import utc_now
from ...models import PortalSession
from ...sessions import session_expires_at, session_is_live, session_needs_touch
from ..aws import error_code, translate
from . import keys
from .base import TableAccess, deserialize, serialize


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

    def consume_token(self, token: str, *, purpose: str) -> str | None:
        """The email of a live token, used up in the same conditional delete; None otherwise."""
        try:
            answer = self.dynamodb.delete_item(
                TableName=self.table_name,
                Key=serialize(keys.token(hash_token(token)).as_item()),
                ConditionExpression="attribute_exists(pk) AND purpose = :purpose AND expires_at > :now",
                ExpressionAttributeValues=serialize({":purpose": purpose, ":now": utc_now().isoformat()}),
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise translate(error, "use token") from error
        return str(deserialize(answer["Attributes"])["email"])

    def create_session(self, email: str) -> str:
        """A new portal session for `email`; only the token's hash is stored. Returns the token."""
        token = secrets.token_urlsafe(32)
        now = utc_now()
        item = {
            **keys.session(hash_token(token)).as_item(),
            "item_type": "session",
            "email": email,
            "created_at": now.isoformat(),
            "last_seen_at": now.isoformat(),
            "csrf": secrets.token_urlsafe(24),
            tables.TTL_ATTRIBUTE: int(session_expires_at(now).timestamp()),
        }
        self._write(item, "create session")
        return token

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
