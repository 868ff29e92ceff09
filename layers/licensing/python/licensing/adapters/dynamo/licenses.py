"""The licenses' items: the license (with its index attributes), its history, its sites, and the
Stripe references (``REF#``) that lead from a payment to the licenses it bought."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, date, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ...dates import utc_now
from ...errors import NotFound
from ...lifecycle import grace_ends_on
from ...models import HistoryEntry, License, LicenseStatus, Site
from ..aws import error_code, translate
from . import keys
from .base import TableAccess, serialize, without_keys
from .claims import claim_item


def license_item(license: License) -> dict[str, Any]:
    """The license as stored, with the index attributes its status and dates call for."""
    item: dict[str, Any] = {
        **keys.license(license.id).as_item(),
        "item_type": "license",
        **license.model_dump(mode="json"),
        "site_count": license.sites_used,
        "gsi1pk": keys.account_licenses(license.account_id),
        "gsi1sk": keys.account_license(license.created_at, license.id),
        "gsi2pk": keys.product_licenses(license.product),
        "gsi2sk": keys.product_license(license.status.value, license.ends_on, license.id),
    }
    if license.status is LicenseStatus.ACTIVE:
        item["active_pk"], item["active_sk"] = keys.active(license.product), license.id
        # A license saved ACTIVE after its natural lapse day (e.g. reinstated after a suspension
        # that spanned it) is picked up by tomorrow's job rather than never.
        lapses_on = max(grace_ends_on(license), utc_now().date()) + timedelta(days=1)
        item["lapse_pk"], item["lapse_sk"] = keys.lapse(lapses_on), license.id
    if license.status in (LicenseStatus.ACTIVE, LicenseStatus.EXPIRED):
        item["ends_pk"], item["ends_sk"] = keys.ends(license.ends_on), license.id
    return item


def _history_item(entry: HistoryEntry) -> dict[str, Any]:
    # The random suffix keeps two entries written in the same microsecond apart.
    return {
        **keys.history(entry.license_id, entry.at, secrets.token_hex(3)).as_item(),
        "item_type": "history",
        **entry.model_dump(mode="json"),
        **activity_keys(entry),
    }


def activity_keys(entry: HistoryEntry) -> dict[str, str]:
    """The gsi2 keys of an entry that issued or renewed a license (none for any other action)."""
    kind = keys.ACTIVITY_KINDS.get(entry.action)
    if kind is None:
        return {}
    at = entry.at.astimezone(UTC) if entry.at.tzinfo is not None else entry.at
    return {
        "gsi2pk": keys.activity(kind, at.date()),
        "gsi2sk": keys.activity_entry(at, entry.license_id),
    }


class LicenseRepository(TableAccess):
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
        operations += self._ref_adds(refs, [license.id for license in licenses])
        if guard:
            detail = {"license_ids": [license.id for license in licenses]}
            operations.append(self._put(claim_item(guard, None, detail), "attribute_not_exists(pk)"))
        self._transact(operations, "create licenses")

    def create_license(
        self, license: License, history: Iterable[HistoryEntry], refs: Iterable[str] = ()
    ) -> None:
        """Write one new license; raises Conflict when its id (that is, its key) already exists."""
        self.create_licenses([license], history, refs)

    def _ref_adds(self, refs: Iterable[str], license_ids: list[str]) -> list[dict[str, Any]]:
        """One update per distinct reference: a transaction may name an item only once (a checkout
        without a payment intent gives its session id as both session and payment)."""
        return [self._ref_add(ref, license_ids) for ref in dict.fromkeys(refs)]

    def _ref_add(self, ref: str, license_ids: list[str]) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": serialize(keys.ref(ref).as_item()),
                "UpdateExpression": "SET item_type = :type ADD license_ids :ids",
                "ExpressionAttributeValues": serialize({":type": "ref", ":ids": set(license_ids)}),
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
        # Nobody changed it, and no usage was written since it was read (the whole item is written:
        # a copy from before a usage write would drop that usage).
        condition = {
            "Put": {
                "TableName": self.table_name,
                "Item": serialize(license_item(saved)),
                "ConditionExpression": "#revision = :revision AND "
                "(attribute_not_exists(#usage) OR #usage = :usage)",
                "ExpressionAttributeNames": {"#revision": "revision", "#usage": "usage_writes"},
                "ExpressionAttributeValues": serialize(
                    {":revision": expected, ":usage": license.usage_writes}
                ),
            }
        }
        operations = [condition] + [self._put(_history_item(entry)) for entry in history]
        operations += self._ref_adds(refs, [license.id])
        if guard:
            operations.append(
                self._put(claim_item(guard, None, {"license_id": license.id}), "attribute_not_exists(pk)")
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
                "Key": serialize(keys.license(license.id).as_item()),
                "UpdateExpression": "SET " + ", ".join(assignments),
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": serialize(values),
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
                "Key": serialize(keys.license(license.id).as_item()),
                "UpdateExpression": "REMOVE #sites.#site SET site_count = site_count - :counted, "
                "revision = revision + :one, updated_at = :now",
                "ConditionExpression": "attribute_exists(#sites.#site)",
                "ExpressionAttributeNames": {"#site": host, "#sites": "sites"},
                "ExpressionAttributeValues": serialize(
                    {":counted": counted, ":one": 1, ":now": utc_now().isoformat()}
                ),
            }
        }
        self._transact([update, self._put(_history_item(entry))], "deactivate site")

    def record_site_usage(
        self, license_id: str, host: str, *, seen_on: date, version: str | None, host_version: str | None
    ) -> bool:
        """Note that an activated site was seen today with these versions (None: not sent, the
        stored one stays): one conditional UpdateItem that DynamoDB itself skips when today's values
        are already there, or when the site is no longer activated. True when it wrote.

        It touches neither `revision` nor `updated_at`: usage is no change of the license, so it
        never makes an activation lose its lock. It counts itself in `usage_writes`, so that a staff
        change decided on a copy read before it is decided again (`update_license` retries) rather
        than written over the usage."""
        names = {"#sites": "sites", "#site": host, "#seen": "last_seen_on", "#usage": "usage_writes"}
        values: dict[str, Any] = {":day": seen_on.isoformat(), ":one": 1}
        assignments = ["#sites.#site.#seen = :day"]
        differs = ["attribute_not_exists(#sites.#site.#seen)", "#sites.#site.#seen <> :day"]
        for field, value in (("version", version), ("host_version", host_version)):
            if value is None:
                continue
            names[f"#{field}"], values[f":{field}"] = field, value
            assignments.append(f"#sites.#site.#{field} = :{field}")
            differs += [f"attribute_not_exists(#sites.#site.#{field})", f"#sites.#site.#{field} <> :{field}"]
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=serialize(keys.license(license_id).as_item()),
                UpdateExpression="SET " + ", ".join(assignments) + " ADD #usage :one",
                ConditionExpression=f"attribute_exists(#sites.#site) AND ({' OR '.join(differs)})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=serialize(values),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise translate(error, "record site usage") from error
        return True

    def get_license(self, license_id: str) -> License | None:
        item = self._get(keys.license(license_id))
        return License.model_validate(without_keys(item)) if item else None

    def require_license(self, license_id: str) -> License:
        license = self.get_license(license_id)
        if license is None:
            raise NotFound("No such license.")
        return license

    def add_history(self, entry: HistoryEntry) -> None:
        """Append to a license's history (e.g. a download), without touching the license."""
        self._write(_history_item(entry), "record history")

    def license_history(self, license_id: str) -> list[HistoryEntry]:
        items = self._query_key(keys.license(license_id).pk, sk_prefix=keys.HISTORY)
        return [HistoryEntry.model_validate(without_keys(item)) for item in items]

    def licenses_of_account(self, account_id: str) -> list[License]:
        """An account's licenses, oldest first (one query on gsi1)."""
        items = self._query_key(keys.account_licenses(account_id), index="gsi1", sk_prefix=keys.LICENSES)
        return [License.model_validate(without_keys(item)) for item in items]

    def active_licenses(self, product: str) -> Iterator[License]:
        """Licenses of a product that receive release mails (sparse index, paged)."""
        for item in self._query_key(keys.active(product), index="active"):
            yield License.model_validate(without_keys(item))

    def licenses_ending_on(self, day: date) -> Iterator[License]:
        for item in self._query_key(keys.ends(day), index="ends"):
            yield License.model_validate(without_keys(item))

    def licenses_lapsing_on(self, day: date) -> Iterator[License]:
        """Licenses whose grace period ended the day before `day`."""
        for item in self._query_key(keys.lapse(day), index="lapse"):
            yield License.model_validate(without_keys(item))

    def license_ids_for_ref(self, ref: str) -> list[str]:
        """Licenses bought with a Stripe checkout session, payment, subscription or invoice (one
        consistent read)."""
        item = self._get(keys.ref(ref))
        return sorted(item.get("license_ids", [])) if item else []

    def add_refs(self, license_id: str, refs: Iterable[str]) -> None:
        operations = self._ref_adds(refs, [license_id])
        if operations:
            self._transact(operations, "link Stripe references")
