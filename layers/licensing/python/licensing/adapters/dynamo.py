"""The DynamoDB store: one table (``licensing.tables``), items keyed by what reads them.

Key patterns (pk / sk):

- ``PRODUCT#<slug>`` / ``PRODUCT``            the product; gsi1 ``PRODUCTS`` lists the catalogue
- ``PRODUCT#<slug>`` / ``RELEASE#<sortkey>``  its releases, newest first by a version sort key
- ``PRICE#<price id>`` / ``PRICE``            Stripe price -> product
- ``ACCOUNT#<id>`` / ``ACCOUNT``              the account; gsi1 ``ACCOUNTS`` lists accounts by name
- ``ACCOUNT#<id>`` / ``CONTACT#<email>``      membership of a contact
- ``CONTACT#<email>`` / ``CONTACT``           the contact, with the accounts it belongs to
- ``CUSTOMER#<stripe customer>`` / ``CUSTOMER``  Stripe customer -> account
- ``LICENSE#<id>`` / ``LICENSE``              the license (id derived from the key: validation is one
  GetItem); gsi1 ``ACCOUNT#<id>`` lists an account's licenses; sparse ``active``, ``ends``, ``lapse``
- ``LICENSE#<id>`` / ``HISTORY#<at>#<n>``     its history
- ``REF#<stripe id>`` / ``REF``               Stripe session, payment, subscription, invoice -> licenses
- ``CLAIM#<key>`` / ``CLAIM``                 once-only markers (with TTL), e.g. mails sent
- ``TOKEN#<sha256>`` / ``TOKEN``              sign-in tokens, stored hashed, with TTL
- ``SESSION#<sha256>`` / ``SESSION``          portal sessions, stored hashed, with TTL
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from .. import tables
from ..dates import utc_now
from ..errors import Conflict, NotFound
from ..models import Account, Contact, HistoryEntry, License, LicenseStatus, Product, Release, Site
from ..versions import version_sort_key
from .aws import client, error_code, translate

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_KEY_ATTRIBUTES = frozenset({tables.PARTITION_KEY, tables.SORT_KEY, "item_type"}) | {
    name for index in tables.INDEXES for name in (index.partition_key, index.sort_key)
}


def _serialize(item: dict[str, Any]) -> dict[str, Any]:
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


def _deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(_deserializer.deserialize(value)) for name, value in item.items()}


def _data(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name not in _KEY_ATTRIBUTES}


def license_item(license: License) -> dict[str, Any]:
    """The license as stored, with the index attributes its status and dates call for."""
    item: dict[str, Any] = {
        "pk": f"LICENSE#{license.id}",
        "sk": "LICENSE",
        "item_type": "license",
        **license.model_dump(mode="json"),
        "site_count": license.sites_used,
        "gsi1pk": f"ACCOUNT#{license.account_id}",
        "gsi1sk": f"LICENSE#{license.created_at.isoformat()}#{license.id}",
    }
    if license.status is LicenseStatus.ACTIVE:
        item["active_pk"], item["active_sk"] = f"ACTIVE#{license.product}", license.id
        # A license saved ACTIVE after its natural lapse day (e.g. reinstated after a suspension
        # that spanned it) is picked up by tomorrow's job rather than never.
        lapses_on = max(
            license.ends_on + timedelta(days=license.grace_days + 1), utc_now().date() + timedelta(days=1)
        )
        item["lapse_pk"], item["lapse_sk"] = f"LAPSE#{lapses_on.isoformat()}", license.id
    if license.status in (LicenseStatus.ACTIVE, LicenseStatus.EXPIRED):
        item["ends_pk"], item["ends_sk"] = f"ENDS#{license.ends_on.isoformat()}", license.id
    return item


def _history_item(entry: HistoryEntry) -> dict[str, Any]:
    # The random suffix keeps two entries written in the same microsecond apart.
    return {
        "pk": f"LICENSE#{entry.license_id}",
        "sk": f"HISTORY#{entry.at.isoformat()}#{secrets.token_hex(3)}",
        "item_type": "history",
        **entry.model_dump(mode="json"),
    }


class DynamoStore:
    """Reads and writes every aggregate of the license manager in the one table."""

    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self.table_name = table_name
        self._client = dynamodb

    @property
    def dynamodb(self) -> Any:
        if self._client is None:
            self._client = client("dynamodb")
        return self._client

    # -- low level -------------------------------------------------------------------------------

    def _get(self, pk: str, sk: str, *, consistent: bool = True) -> dict[str, Any] | None:
        try:
            answer = self.dynamodb.get_item(
                TableName=self.table_name,
                Key=_serialize({"pk": pk, "sk": sk}),
                ConsistentRead=consistent,
            )
        except ClientError as error:
            raise translate(error, "read") from error
        item = answer.get("Item")
        return _deserialize(item) if item else None

    def _query(self, **arguments: Any) -> Iterator[dict[str, Any]]:
        """Every item a Query returns, following pages past DynamoDB's 1 MB limit."""
        arguments = {"TableName": self.table_name, **arguments}
        while True:
            try:
                answer = self.dynamodb.query(**arguments)
            except ClientError as error:
                raise translate(error, "query") from error
            for item in answer.get("Items", []):
                yield _deserialize(item)
            last_key = answer.get("LastEvaluatedKey")
            if not last_key:
                return
            arguments["ExclusiveStartKey"] = last_key

    def _query_key(
        self, pk: str, *, index: str | None = None, sk_prefix: str | None = None, newest_first: bool = False
    ) -> Iterator[dict[str, Any]]:
        partition, sort = ("pk", "sk")
        if index:
            spec = next(candidate for candidate in tables.INDEXES if candidate.name == index)
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
            "ExpressionAttributeValues": _serialize(values),
            "ScanIndexForward": not newest_first,
        }
        if index:
            arguments["IndexName"] = index
        return self._query(**arguments)

    def _transact(self, operations: list[dict[str, Any]], what: str) -> None:
        try:
            self.dynamodb.transact_write_items(TransactItems=operations)
        except ClientError as error:
            raise translate(error, what) from error

    def _put(self, item: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
        operation: dict[str, Any] = {"TableName": self.table_name, "Item": _serialize(item)}
        if condition:
            operation["ConditionExpression"] = condition
        return {"Put": operation}

    def _delete(self, pk: str, sk: str) -> dict[str, Any]:
        return {"Delete": {"TableName": self.table_name, "Key": _serialize({"pk": pk, "sk": sk})}}

    # -- products and releases -------------------------------------------------------------------

    def put_product(self, product: Product) -> None:
        """Create or replace a product, with its Stripe price lookups (stale ones removed)."""
        previous = self.get_product(product.slug)
        stale = set(previous.stripe_price_ids + previous.trial_price_ids) if previous else set()
        prices = set(product.stripe_price_ids + product.trial_price_ids)
        operations = [
            self._put(
                {
                    "pk": f"PRODUCT#{product.slug}",
                    "sk": "PRODUCT",
                    "item_type": "product",
                    "gsi1pk": "PRODUCTS",
                    "gsi1sk": product.slug,
                    **product.model_dump(mode="json"),
                }
            )
        ]
        operations += [
            self._put({"pk": f"PRICE#{price}", "sk": "PRICE", "item_type": "price", "product": product.slug})
            for price in sorted(prices)
        ]
        operations += [self._delete(f"PRICE#{price}", "PRICE") for price in sorted(stale - prices)]
        self._transact(operations, "save product")

    def get_product(self, slug: str) -> Product | None:
        item = self._get(f"PRODUCT#{slug}", "PRODUCT")
        return Product.model_validate(_data(item)) if item else None

    def require_product(self, slug: str) -> Product:
        product = self.get_product(slug)
        if product is None:
            raise NotFound(f"No product '{slug}'.")
        return product

    def list_products(self) -> list[Product]:
        return [Product.model_validate(_data(item)) for item in self._query_key("PRODUCTS", index="gsi1")]

    def product_for_price(self, price_id: str) -> str | None:
        item = self._get(f"PRICE#{price_id}", "PRICE")
        return str(item["product"]) if item else None

    def put_release(self, release: Release) -> None:
        """Record a release; a version is published once."""
        item = {
            "pk": f"PRODUCT#{release.product}",
            "sk": f"RELEASE#{version_sort_key(release.version)}",
            "item_type": "release",
            **release.model_dump(mode="json"),
        }
        try:
            self._transact([self._put(item, "attribute_not_exists(pk)")], "publish release")
        except Conflict as error:
            raise Conflict(f"{release.product} {release.version} is already published.") from error

    def list_releases(self, product: str) -> list[Release]:
        """Releases of a product, newest first (one query)."""
        items = self._query_key(f"PRODUCT#{product}", sk_prefix="RELEASE#", newest_first=True)
        return [Release.model_validate(_data(item)) for item in items]

    def product_with_releases(self, slug: str) -> tuple[Product | None, list[Release]]:
        """A product and its releases, newest first, in one query of the product's partition."""
        product, releases = None, []
        for item in self._query_key(f"PRODUCT#{slug}", newest_first=True):
            if item["sk"] == "PRODUCT":
                product = Product.model_validate(_data(item))
            elif str(item["sk"]).startswith("RELEASE#"):
                releases.append(Release.model_validate(_data(item)))
        return product, releases

    def get_release(self, product: str, version: str) -> Release | None:
        item = self._get(f"PRODUCT#{product}", f"RELEASE#{version_sort_key(version)}")
        return Release.model_validate(_data(item)) if item else None

    # -- accounts and contacts -------------------------------------------------------------------

    def _account_item(self, account: Account) -> dict[str, Any]:
        return {
            "pk": f"ACCOUNT#{account.id}",
            "sk": "ACCOUNT",
            "item_type": "account",
            "gsi1pk": "ACCOUNTS",
            "gsi1sk": f"{account.name.casefold()}#{account.id}",
            **account.model_dump(mode="json"),
        }

    def create_account(self, account: Account) -> None:
        """A new account; its Stripe customer, when known, maps to it (first one wins)."""
        operations = [self._put(self._account_item(account), "attribute_not_exists(pk)")]
        if account.stripe_customer_id:
            operations.append(
                self._put(
                    {
                        "pk": f"CUSTOMER#{account.stripe_customer_id}",
                        "sk": "CUSTOMER",
                        "item_type": "customer",
                        "account_id": account.id,
                    },
                    "attribute_not_exists(pk)",
                )
            )
        self._transact(operations, "create account")

    def link_customer(self, account: Account, stripe_customer_id: str) -> Account:
        """Map a Stripe customer to an existing account (kept if the customer is mapped already)."""
        linked = account.model_copy(update={"stripe_customer_id": stripe_customer_id})
        try:
            self._transact(
                [
                    self._put(self._account_item(linked), "attribute_exists(pk)"),
                    self._put(
                        {
                            "pk": f"CUSTOMER#{stripe_customer_id}",
                            "sk": "CUSTOMER",
                            "item_type": "customer",
                            "account_id": account.id,
                        },
                        "attribute_not_exists(pk)",
                    ),
                ],
                "link Stripe customer",
            )
        except Conflict:
            return account
        return linked

    def get_account(self, account_id: str) -> Account | None:
        item = self._get(f"ACCOUNT#{account_id}", "ACCOUNT")
        return Account.model_validate(_data(item)) if item else None

    def account_id_for_customer(self, stripe_customer_id: str) -> str | None:
        item = self._get(f"CUSTOMER#{stripe_customer_id}", "CUSTOMER")
        return str(item["account_id"]) if item else None

    def list_accounts(self) -> list[Account]:
        return [Account.model_validate(_data(item)) for item in self._query_key("ACCOUNTS", index="gsi1")]

    def get_contact(self, email: str) -> Contact | None:
        item = self._get(f"CONTACT#{email.strip().lower()}", "CONTACT")
        return Contact.model_validate(_data(item)) if item else None

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
                "Key": _serialize({"pk": f"CONTACT#{email}", "sk": "CONTACT"}),
                "UpdateExpression": f"SET {', '.join(assignments)} ADD account_ids :accounts",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": _serialize(values),
            }
        }
        membership = self._put(
            {
                "pk": f"ACCOUNT#{account_id}",
                "sk": f"CONTACT#{email}",
                "item_type": "membership",
                "email": email,
            }
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
                "Key": _serialize({"pk": f"CONTACT#{email}", "sk": "CONTACT"}),
                "UpdateExpression": "DELETE account_ids :account",
                "ConditionExpression": "contains(account_ids, :id)",
                "ExpressionAttributeValues": _serialize({":account": {account_id}, ":id": account_id}),
            }
        }
        try:
            self._transact(
                [update, self._delete(f"ACCOUNT#{account_id}", f"CONTACT#{email}")], "remove contact"
            )
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
                Key=_serialize({"pk": f"CONTACT#{contact.email}", "sk": "CONTACT"}),
                UpdateExpression="SET release_mail_opt_out = :products",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=_serialize({":products": sorted(opted_out)}),
            )
        except ClientError as error:
            raise translate(error, "save mail preferences") from error
        return True

    def contact_emails(self, account_id: str) -> list[str]:
        """Emails of the account's contacts (one query)."""
        items = self._query_key(f"ACCOUNT#{account_id}", sk_prefix="CONTACT#")
        return [str(item["email"]) for item in items]

    # -- licenses --------------------------------------------------------------------------------

    def create_licenses(
        self,
        licenses: list[License],
        history: Iterable[HistoryEntry],
        refs: Iterable[str] = (),
        *,
        guard: str | None = None,
    ) -> None:
        """Write new licenses with their history and Stripe references, all or nothing.

        `guard` names a once-only claim written in the same transaction (e.g. the checkout
        session), so that concurrent deliveries of one sale create its licenses once. Raises
        Conflict when a license with one of these ids (keys) or the guard already exists.
        """
        operations = [self._put(license_item(license), "attribute_not_exists(pk)") for license in licenses]
        operations += [self._put(_history_item(entry)) for entry in history]
        # One item per reference, whatever the quantity: a sale stays within a transaction's limit.
        operations += [self._ref_add(ref, [license.id for license in licenses]) for ref in refs]
        if guard:
            detail = {"license_ids": [license.id for license in licenses]}
            operations.append(self._put(self._claim_item(guard, None, detail), "attribute_not_exists(pk)"))
        self._transact(operations, "create licenses")

    def create_license(
        self, license: License, history: Iterable[HistoryEntry], refs: Iterable[str] = ()
    ) -> None:
        """Write one new license; raises Conflict when its id (that is, its key) already exists."""
        self.create_licenses([license], history, refs)

    def _ref_add(self, ref: str, license_ids: list[str]) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": _serialize({"pk": f"REF#{ref}", "sk": "REF"}),
                "UpdateExpression": "SET item_type = :type ADD license_ids :ids",
                "ExpressionAttributeValues": _serialize({":type": "ref", ":ids": set(license_ids)}),
            }
        }

    def save_license(
        self,
        license: License,
        history: Iterable[HistoryEntry] = (),
        refs: Iterable[str] = (),
        *,
        guard: str | None = None,
    ) -> License:
        """Write a changed license if nobody changed it since it was read (optimistic lock).

        `guard` names a once-only claim written in the same transaction (e.g. the payment of a
        renewal, so that it extends the license once). Returns the license as saved (its revision
        advanced); raises Conflict when it lost a race or the guard was already claimed.
        """
        expected = license.revision
        saved = license.model_copy(update={"revision": expected + 1, "updated_at": utc_now()})
        condition = {
            "Put": {
                "TableName": self.table_name,
                "Item": _serialize(license_item(saved)),
                "ConditionExpression": "#revision = :revision",
                "ExpressionAttributeNames": {"#revision": "revision"},
                "ExpressionAttributeValues": _serialize({":revision": expected}),
            }
        }
        operations = [condition] + [self._put(_history_item(entry)) for entry in history]
        operations += [self._ref_add(ref, [license.id]) for ref in refs]
        if guard:
            operations.append(
                self._put(
                    self._claim_item(guard, None, {"license_id": license.id}), "attribute_not_exists(pk)"
                )
            )
        self._transact(operations, "save license")
        return saved

    def add_site(
        self,
        license: License,
        site: Site,
        entry: HistoryEntry,
        *,
        today: date,
        daily_cap: int,
    ) -> None:
        """Activate a site: one conditional write that holds the site limit and the daily cap under
        concurrency. Raises Conflict when the site is there already, the limit is reached, the
        day's activations are used up, or the license changed day since it was read."""
        names = {"#site": site.host, "#sites": "sites"}
        values: dict[str, Any] = {
            ":site": site.model_dump(mode="json"),
            ":one": 1,
            ":now": utc_now().isoformat(),
        }
        assignments = ["#sites.#site = :site", "revision = revision + :one", "updated_at = :now"]
        conditions = ["attribute_exists(pk)", "attribute_not_exists(#sites.#site)"]
        if site.counted:
            values |= {":max": license.max_sites, ":today": today.isoformat()}
            assignments.append("site_count = site_count + :one")
            conditions.append("site_count < :max")
            if license.activation_day == today:
                values[":cap"] = daily_cap
                assignments.append("activations_today = activations_today + :one")
                conditions.append("activation_day = :today AND activations_today < :cap")
            else:
                assignments += ["activation_day = :today", "activations_today = :one"]
                conditions.append("(attribute_not_exists(activation_day) OR activation_day <> :today)")
        update = {
            "Update": {
                "TableName": self.table_name,
                "Key": _serialize({"pk": f"LICENSE#{license.id}", "sk": "LICENSE"}),
                "UpdateExpression": "SET " + ", ".join(assignments),
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": _serialize(values),
            }
        }
        self._transact([update, self._put(_history_item(entry))], "activate site")

    def remove_site(self, license: License, host: str, entry: HistoryEntry) -> None:
        """Deactivate a site (one conditional write); Conflict when it is not activated."""
        site = license.sites.get(host)
        counted = 1 if site is not None and site.counted else 0
        update = {
            "Update": {
                "TableName": self.table_name,
                "Key": _serialize({"pk": f"LICENSE#{license.id}", "sk": "LICENSE"}),
                "UpdateExpression": "REMOVE #sites.#site SET site_count = site_count - :counted, "
                "revision = revision + :one, updated_at = :now",
                "ConditionExpression": "attribute_exists(#sites.#site)",
                "ExpressionAttributeNames": {"#site": host, "#sites": "sites"},
                "ExpressionAttributeValues": _serialize(
                    {":counted": counted, ":one": 1, ":now": utc_now().isoformat()}
                ),
            }
        }
        self._transact([update, self._put(_history_item(entry))], "deactivate site")

    def get_license(self, license_id: str) -> License | None:
        item = self._get(f"LICENSE#{license_id}", "LICENSE")
        return License.model_validate(_data(item)) if item else None

    def require_license(self, license_id: str) -> License:
        license = self.get_license(license_id)
        if license is None:
            raise NotFound("No such license.")
        return license

    def add_history(self, entry: HistoryEntry) -> None:
        """Append to a license's history (e.g. a download), without touching the license."""
        try:
            self.dynamodb.put_item(TableName=self.table_name, Item=_serialize(_history_item(entry)))
        except ClientError as error:
            raise translate(error, "record history") from error

    def license_history(self, license_id: str) -> list[HistoryEntry]:
        items = self._query_key(f"LICENSE#{license_id}", sk_prefix="HISTORY#")
        return [HistoryEntry.model_validate(_data(item)) for item in items]

    def licenses_of_account(self, account_id: str) -> list[License]:
        """An account's licenses, oldest first (one query on gsi1)."""
        items = self._query_key(f"ACCOUNT#{account_id}", index="gsi1", sk_prefix="LICENSE#")
        return [License.model_validate(_data(item)) for item in items]

    def active_licenses(self, product: str) -> Iterator[License]:
        """Licenses of a product that receive release mails (sparse index, paged)."""
        for item in self._query_key(f"ACTIVE#{product}", index="active"):
            yield License.model_validate(_data(item))

    def licenses_ending_on(self, day: date) -> Iterator[License]:
        for item in self._query_key(f"ENDS#{day.isoformat()}", index="ends"):
            yield License.model_validate(_data(item))

    def licenses_lapsing_on(self, day: date) -> Iterator[License]:
        """Licenses whose grace period ended the day before `day`."""
        for item in self._query_key(f"LAPSE#{day.isoformat()}", index="lapse"):
            yield License.model_validate(_data(item))

    def license_ids_for_ref(self, ref: str) -> list[str]:
        """Licenses bought with a Stripe checkout session, payment, subscription or invoice (one
        consistent read)."""
        item = self._get(f"REF#{ref}", "REF")
        return sorted(item.get("license_ids", [])) if item else []

    def add_refs(self, license_id: str, refs: Iterable[str]) -> None:
        operations = [self._ref_add(ref, [license_id]) for ref in refs]
        if operations:
            self._transact(operations, "link Stripe references")

    # -- once-only markers -----------------------------------------------------------------------

    @staticmethod
    def _claim_item(key: str, ttl_days: int | None, detail: dict[str, Any] | None) -> dict[str, Any]:
        item: dict[str, Any] = {"pk": f"CLAIM#{key}", "sk": "CLAIM", "item_type": "claim"}
        if ttl_days is not None:
            item[tables.TTL_ATTRIBUTE] = int((utc_now() + timedelta(days=ttl_days)).timestamp())
        if detail:
            item["detail"] = detail
        return item

    def claim(self, key: str, *, ttl_days: int | None, detail: dict[str, Any] | None = None) -> bool:
        """Mark `key` as done (kept for `ttl_days`, or for good with None); False when it already
        was (one conditional write)."""
        item = self._claim_item(key, ttl_days, detail)
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item=_serialize(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise translate(error, "claim") from error
        return True

    def remember(self, key: str, detail: dict[str, Any], *, ttl_days: int) -> None:
        """Keep a note under `key` (replacing an older one), e.g. a refund that came before its sale."""
        try:
            self.dynamodb.put_item(
                TableName=self.table_name, Item=_serialize(self._claim_item(key, ttl_days, detail))
            )
        except ClientError as error:
            raise translate(error, "remember") from error

    def take_over_claim(self, key: str, *, expected_since: str, detail: dict[str, Any]) -> bool:
        """Replace a claim's detail if its `since` is still `expected_since` (one winner)."""
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=_serialize({"pk": f"CLAIM#{key}", "sk": "CLAIM"}),
                UpdateExpression="SET detail = :detail",
                ConditionExpression="detail.since = :since",
                ExpressionAttributeValues=_serialize({":detail": detail, ":since": expected_since}),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise translate(error, "take over claim") from error
        return True

    def release_claim(self, key: str) -> None:
        """Undo a claim whose work failed, so that a retry may do it."""
        try:
            self.dynamodb.delete_item(
                TableName=self.table_name, Key=_serialize({"pk": f"CLAIM#{key}", "sk": "CLAIM"})
            )
        except ClientError as error:
            raise translate(error, "release claim") from error

    def get_claim(self, key: str) -> dict[str, Any] | None:
        item = self._get(f"CLAIM#{key}", "CLAIM")
        return dict(item.get("detail") or {}) if item else None

    # -- sign-in tokens --------------------------------------------------------------------------

    def create_token(self, email: str, *, purpose: str, lifetime: timedelta) -> str:
        """A fresh single-use token for `email`; only its hash is stored. Returns the token."""
        token = secrets.token_urlsafe(32)
        expires_at = utc_now() + lifetime
        item = {
            "pk": f"TOKEN#{hash_token(token)}",
            "sk": "TOKEN",
            "item_type": "token",
            "email": email,
            "purpose": purpose,
            "expires_at": expires_at.isoformat(),
            tables.TTL_ATTRIBUTE: int(expires_at.timestamp()),
        }
        try:
            self.dynamodb.put_item(TableName=self.table_name, Item=_serialize(item))
        except ClientError as error:
            raise translate(error, "create token") from error
        return token

    def create_session(self, email: str) -> str:
        """A new portal session for `email`; only the token's hash is stored. Returns the token."""
        token = secrets.token_urlsafe(32)
        now = utc_now()
        item = {
            "pk": f"SESSION#{hash_token(token)}",
            "sk": "SESSION",
            "item_type": "session",
            "email": email,
            "created_at": now.isoformat(),
            "last_seen_at": now.isoformat(),
            "csrf": secrets.token_urlsafe(24),
            tables.TTL_ATTRIBUTE: int((now + SESSION_LIFETIME).timestamp()),
        }
        try:
            self.dynamodb.put_item(TableName=self.table_name, Item=_serialize(item))
        except ClientError as error:
            raise translate(error, "create session") from error
        return token

    def get_session(self, token: str) -> dict[str, Any] | None:
        """A live session: checked here at every request (30 idle minutes, 8 hours in all), not
        left to DynamoDB's TTL, which removes expired items only eventually. Touches it."""
        key = {"pk": f"SESSION#{hash_token(token)}", "sk": "SESSION"}
        item = self._get(key["pk"], key["sk"])
        now = utc_now()
        if item is None:
            return None
        created = datetime.fromisoformat(str(item["created_at"]))
        seen = datetime.fromisoformat(str(item["last_seen_at"]))
        if now - seen > SESSION_IDLE or now - created > SESSION_LIFETIME:
            self.end_session(token)
            return None
        if now - seen > timedelta(minutes=1):  # at most one write a minute per session
            try:
                self.dynamodb.update_item(
                    TableName=self.table_name,
                    Key=_serialize(key),
                    UpdateExpression="SET last_seen_at = :now",
                    ExpressionAttributeValues=_serialize({":now": now.isoformat()}),
                )
            except ClientError as error:
                raise translate(error, "touch session") from error
        return item

    def end_session(self, token: str) -> None:
        try:
            self.dynamodb.delete_item(
                TableName=self.table_name,
                Key=_serialize({"pk": f"SESSION#{hash_token(token)}", "sk": "SESSION"}),
            )
        except ClientError as error:
            raise translate(error, "end session") from error

    def consume_token(self, token: str, *, purpose: str) -> str | None:
        """The email of a live token, used up in the same conditional delete; None otherwise."""
        try:
            answer = self.dynamodb.delete_item(
                TableName=self.table_name,
                Key=_serialize({"pk": f"TOKEN#{hash_token(token)}", "sk": "TOKEN"}),
                ConditionExpression="attribute_exists(pk) AND purpose = :purpose AND expires_at > :now",
                ExpressionAttributeValues=_serialize({":purpose": purpose, ":now": utc_now().isoformat()}),
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise translate(error, "use token") from error
        return str(_deserialize(answer["Attributes"])["email"])


SESSION_IDLE = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=8)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
