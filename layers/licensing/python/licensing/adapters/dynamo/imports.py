"""The importer's bulk access: many licenses and contacts read in batches of 100 and new accounts
written in batches of 25, so that moving thousands of licenses costs about one write per license
(its own transaction, in ``LicenseRepository.create_licenses``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from ...models import Account, Contact, License
from ..aws import translate
from . import keys
from .accounts import account_item
from .base import TableAccess, deserialize, serialize, without_keys

_GET_BATCH = 100  # BatchGetItem's limit
_WRITE_BATCH = 25  # BatchWriteItem's limit


class ImportRepository(TableAccess):
    def _batch_get(self, wanted: list[keys.Key]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(wanted), _GET_BATCH):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [serialize(key.as_item()) for key in wanted[start : start + _GET_BATCH]],
                    "ConsistentRead": True,
                }
            }
            while request:
                try:
                    answer = self.dynamodb.batch_get_item(RequestItems=request)
                except ClientError as error:
                    raise translate(error, "read") from error
                found += [deserialize(item) for item in answer.get("Responses", {}).get(self.table_name, [])]
                request = answer.get("UnprocessedKeys") or {}
        return found

    def licenses_by_id(self, license_ids: Iterable[str]) -> dict[str, License]:
        items = self._batch_get([keys.license(license_id) for license_id in dict.fromkeys(license_ids)])
        licenses = [License.model_validate(without_keys(item)) for item in items]
        return {license.id: license for license in licenses}

    def contacts_by_email(self, emails: Iterable[str]) -> dict[str, Contact]:
        items = self._batch_get([keys.contact(email) for email in dict.fromkeys(emails)])
        contacts = [Contact.model_validate(without_keys(item)) for item in items]
        return {contact.email: contact for contact in contacts}

    def put_new_accounts(self, accounts: list[Account]) -> None:
        """Accounts that do not exist yet (their ids derive from their names, so a repeated
        import writes the same items again rather than new ones)."""
        for start in range(0, len(accounts), _WRITE_BATCH):
            request: dict[str, Any] = {
                self.table_name: [
                    {"PutRequest": {"Item": serialize(account_item(account))}}
                    for account in accounts[start : start + _WRITE_BATCH]
                ]
            }
            while request:
                try:
                    answer = self.dynamodb.batch_write_item(RequestItems=request)
                except ClientError as error:
                    raise translate(error, "create accounts") from error
                request = answer.get("UnprocessedItems") or {}
