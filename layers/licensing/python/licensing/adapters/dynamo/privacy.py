"""What a data-protection request reads and rewrites: every item that holds a person's email (the
sparse ``email`` index: the contact, its memberships, sign-in tokens and portal sessions), and the
history entries and accounts that erasure rewrites in place. The rule of what is personal is the
domain's (``services.privacy``); this module only knows where it is stored."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from ... import tables
from ...models import Account, HeldPortalSession, HeldSignInLink, HistoryEntry
from ..aws import translate
from . import keys
from .accounts import account_item
from .base import TableAccess, serialize, without_keys
from .licenses import activity_keys

_EMAIL_INDEX = next(index for index in tables.DATA_INDEXES if index.name == "email")


class PrivacyRepository(TableAccess):
    def _with_email(self, email: str, item_type: str | None = None) -> Iterator[dict[str, Any]]:
        # The index projects every attribute: its items are what is held, with no read of each.
        items = self._query_key(email.strip().lower(), index=_EMAIL_INDEX.name)
        return (item for item in items if item_type is None or item.get("item_type") == item_type)

    def sign_in_links(self, email: str) -> list[HeldSignInLink]:
        """The sign-in links issued to `email` and not used yet (only their purpose and expiry)."""
        return [HeldSignInLink.model_validate(item) for item in self._with_email(email, "token")]

    def portal_sessions(self, email: str) -> list[HeldPortalSession]:
        """The portal sessions of `email` (when they began and were last seen)."""
        return [HeldPortalSession.model_validate(item) for item in self._with_email(email, "session")]

    def forget_email(self, email: str) -> int:
        """Delete every item that holds `email` (contact, memberships, sign-in links, sessions);
        returns how many were deleted."""
        deleted = 0
        for item in list(self._with_email(email)):
            key = keys.Key(str(item["pk"]), str(item["sk"]))
            try:
                self.dynamodb.delete_item(TableName=self.table_name, Key=serialize(key.as_item()))
            except ClientError as error:
                raise translate(error, "delete") from error
            deleted += 1
        return deleted

    def rewrite_history(self, license_id: str, change: Callable[[HistoryEntry], HistoryEntry]) -> int:
        """Replace each of the license's history entries by `change(entry)` where that differs, in
        place (same keys, same order); returns how many were rewritten."""
        rewritten = 0
        for item in list(self._query_key(keys.license(license_id).pk, sk_prefix=keys.HISTORY)):
            entry = HistoryEntry.model_validate(without_keys(item))
            changed = change(entry)
            if changed == entry:
                continue
            stored = {
                **keys.Key(str(item["pk"]), str(item["sk"])).as_item(),
                "item_type": "history",
                **changed.model_dump(mode="json"),
                **activity_keys(changed),
            }
            self._write(stored, "rewrite history", "attribute_exists(pk)")
            rewritten += 1
        return rewritten

    def replace_account(self, account: Account) -> None:
        """Write an existing account as it is now (its listing by name follows the new name)."""
        self._write(account_item(account), "rewrite account", "attribute_exists(pk)")
