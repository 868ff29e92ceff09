"""The buyers' items: accounts, their contacts (by email), and Stripe customers -> accounts."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ...dates import utc_now
from ...errors import Conflict, NotFound
from ...models import Account, Contact, Suppression
from ..aws import translate
from . import keys
from .base import TableAccess, serialize, without_keys


def account_item(account: Account) -> dict[str, Any]:
    return {
        **keys.account(account.id).as_item(),
        "item_type": "account",
        "gsi1pk": keys.ACCOUNTS,
        "gsi1sk": keys.account_by_name(account.name, account.id),
        **account.model_dump(mode="json"),
    }


def _customer_item(stripe_customer_id: str, account_id: str) -> dict[str, Any]:
    return {**keys.customer(stripe_customer_id).as_item(), "item_type": "customer", "account_id": account_id}


class AccountRepository(TableAccess):
    def create_account(self, account: Account) -> None:
        """A new account; its Stripe customer, when known, maps to it (first one wins)."""
        operations = [self._put(account_item(account), "attribute_not_exists(pk)")]
        if account.stripe_customer_id:
            operations.append(
                self._put(_customer_item(account.stripe_customer_id, account.id), "attribute_not_exists(pk)")
            )
        self._transact(operations, "create account")

    def link_customer(self, account: Account, stripe_customer_id: str) -> Account:
        """Map a Stripe customer to an existing account (kept if the customer is mapped already)."""
        linked = account.model_copy(update={"stripe_customer_id": stripe_customer_id})
        try:
            self._transact(
                [
                    self._put(account_item(linked), "attribute_exists(pk)"),
                    self._put(_customer_item(stripe_customer_id, account.id), "attribute_not_exists(pk)"),
                ],
                "link Stripe customer",
            )
        except Conflict:
            return account
        return linked

    def get_account(self, account_id: str) -> Account | None:
        item = self._get(keys.account(account_id))
        return Account.model_validate(without_keys(item)) if item else None

    def account_id_for_customer(self, stripe_customer_id: str) -> str | None:
        item = self._get(keys.customer(stripe_customer_id))
        return str(item["account_id"]) if item else None

    def list_accounts(self) -> list[Account]:
        items = self._query_key(keys.ACCOUNTS, index="gsi1")
        return [Account.model_validate(without_keys(item)) for item in items]

    def get_contact(self, email: str) -> Contact | None:
        item = self._get(keys.contact(email.strip().lower()))
        return Contact.model_validate(without_keys(item)) if item else None

    def add_contact(self, account_id: str, email: str, name: str = "") -> Contact:
        """Make `email` a contact of the account (idempotent, safe under concurrency: the account
        is added to the contact's set in place); returns the contact."""
        email = Contact(email=email).email
        existing = self.get_contact(email)
        names = {"#name": "name"}
        assignments = [
            "item_type = :type",
            "email = :email",
            "created_at = if_not_exists(created_at, :now)",
            "release_mail_opt_out = if_not_exists(release_mail_opt_out, :none)",
            "#name = :name"
            if name and not (existing and existing.name)
            else "#name = if_not_exists(#name, :name)",
        ]
        values = {
            ":type": "contact",
            ":email": email,
            ":now": utc_now().isoformat(),
            ":none": [],
            ":name": name,
            ":accounts": {account_id},
        }
        update = {
            "Update": {
                "TableName": self.table_name,
                "Key": serialize(keys.contact(email).as_item()),
                "UpdateExpression": f"SET {', '.join(assignments)} ADD account_ids :accounts",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": serialize(values),
            }
        }
        membership = self._put(
            {**keys.membership(account_id, email).as_item(), "item_type": "membership", "email": email}
        )
        self._transact([update, membership], "add contact")
        contact = self.get_contact(email)
        if contact is None:
            raise NotFound("the contact vanished while it was added")
        return contact

    def remove_contact(self, account_id: str, email: str) -> bool:
        """End a contact's membership of an account (its portal access ends at its next request);
        False when it was not a contact of the account."""
        email = email.strip().lower()
        update = {
            "Update": {
                "TableName": self.table_name,
                "Key": serialize(keys.contact(email).as_item()),
                "UpdateExpression": "DELETE account_ids :account",
                "ConditionExpression": "contains(account_ids, :id)",
                "ExpressionAttributeValues": serialize({":account": {account_id}, ":id": account_id}),
            }
        }
        try:
            self._transact([update, self._delete(keys.membership(account_id, email))], "remove contact")
        except Conflict:
            return False
        return True

    def set_release_mails(self, email: str, product: str, *, enabled: bool) -> bool:
        """Turn a contact's release mails for a product on or off; False for an unknown contact."""
        contact = self.get_contact(email)
        if contact is None:
            return False
        opted_out = set(contact.release_mail_opt_out)
        opted_out = opted_out - {product} if enabled else opted_out | {product}
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=serialize(keys.contact(contact.email).as_item()),
                UpdateExpression="SET release_mail_opt_out = :products",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=serialize({":products": sorted(opted_out)}),
            )
        except ClientError as error:
            raise translate(error, "save mail preferences") from error
        return True

    def set_suppression(self, email: str, suppression: Suppression | None) -> bool:
        """Suppress a contact's mail (or lift it, with None); False for an unknown contact."""
        email = email.strip().lower()
        key = serialize(keys.contact(email).as_item())
        # The gsi2 keys go and come with `suppressed`: the sparse index lists suppressed contacts.
        if suppression is None:
            update: dict[str, Any] = {"UpdateExpression": "REMOVE suppressed, gsi2pk, gsi2sk"}
        else:
            values = {
                ":suppressed": suppression.model_dump(mode="json"),
                ":pk": keys.SUPPRESSED,
                ":sk": keys.suppressed(suppression.at, email),
            }
            update = {
                "UpdateExpression": "SET suppressed = :suppressed, gsi2pk = :pk, gsi2sk = :sk",
                "ExpressionAttributeValues": serialize(values),
            }
        try:
            self.dynamodb.update_item(
                TableName=self.table_name, Key=key, ConditionExpression="attribute_exists(pk)", **update
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise translate(error, "save the suppression") from error
        return True

    def contact_emails(self, account_id: str) -> list[str]:
        """Emails of the account's contacts (one consistent query: a contact a checkout added just
        before its key mail is among them)."""
        items = self._query_key(keys.account(account_id).pk, sk_prefix=keys.MEMBERS, consistent=True)
        return [str(item["email"]) for item in items]
