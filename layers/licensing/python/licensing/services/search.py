"""Finding licenses from whatever a customer wrote in (API.md section 4, `licenses search`): a
partial key, any contact's email, an account's name, a site as a URL, a product, a status, an
invoice. The narrowest criterion picks the candidates through an index or a lookup item (a key is
one read, an email one contact read and its accounts' licenses on gsi1, a product or a status its
range of gsi2, a Stripe invoice or payment one reference read); the others filter them. Lists page
on the index (``licensing.paging``): one Query per page, never a Scan, however many licenses match.
Criteria that no index serves (a part of a key, a site, an invoice link) walk every product's
licenses on gsi2, filtered, at most 2,000 read per page."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput, NotFound
from ..keys import compact_key, format_key, license_id_for_key, lookup_key
from ..models import License, LicenseStatus
from ..paging import BAD_CURSOR, PAGE_SIZE, BadCursor, Page, Part, scope_of, walk
from ..sites import normalize_site
from .lookup import find_account, find_product

_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})


@dataclass(frozen=True)
class LicenseQuery:
    key: str | None = None
    email: str | None = None
    account: str | None = None
    site: str | None = None
    product: str | None = None
    status: str | None = None
    invoice: str | None = None

    def empty(self) -> bool:
        return not any(vars(self).values())


def parse_status(value: str) -> LicenseStatus:
    try:
        return LicenseStatus(value.strip().upper())
    except ValueError:
        names = ", ".join(status.value for status in LicenseStatus)
        raise InvalidInput(f"no status {value!r} (one of {names})") from None


# The order a product's licenses are listed in when no status is given: the live ones first.
STATUS_ORDER = (
    LicenseStatus.ACTIVE,
    LicenseStatus.PENDING,
    LicenseStatus.SUSPENDED,
    LicenseStatus.EXPIRED,
    LicenseStatus.REVOKED,
)


@dataclass(frozen=True)
class _Plan:
    """Where a search's candidates come from: index ranges read page by page (`parts`), or a few
    licenses read directly (`fixed`); `filtered` when some criterion is left for `matches`."""

    parts: list[Part]
    fixed: list[License] | None
    filtered: bool
    order: str


def search_page(
    store: Any, queries: Any, query: LicenseQuery, *, after: str | None = None, page_size: int = PAGE_SIZE
) -> Page[License]:
    """One page of the licenses that match every given criterion, from the cursor `after` on.

    The page reads its index range a Query at a time (``licensing.paging``); `extra["order"]` says
    how the list is sorted. A page of a criterion no index serves (a part of a key, a site, an
    invoice link) reads at most 2,000 licenses and may be `partial`: the next page searches on."""
    if query.empty():
        raise InvalidInput("give at least one criterion (--key, --email, --account, --site, ...)")
    if not 1 <= page_size <= 1000:
        raise InvalidInput("a page holds 1 to 1000 licenses")
    status = parse_status(query.status) if query.status else None
    if query.product:
        find_product(store, query.product)
    host = normalize_site(query.site) if query.site else None
    key = compact_key(query.key).translate(_ALIASES) if query.key else None
    account_ids = _account_ids(store, query.email, query.account)
    refs = set(store.license_ids_for_ref(query.invoice.strip())) if query.invoice else set()

    def matches(license: License) -> bool:
        return (
            (account_ids is None or license.account_id in account_ids)
            and (key is None or key in license.key.translate(_ALIASES))
            and (host is None or host in license.sites)
            and (query.product is None or license.product == query.product)
            and (status is None or license.status is status)
            and (query.invoice is None or license.id in refs or _invoice_matches(license, query.invoice))
        )

    plan = _plan(store, queries, query, status, account_ids, refs)
    if plan.fixed is not None:
        if after is not None:
            raise BadCursor(BAD_CURSOR)  # a list of one page has no next one
        found = sorted(
            (license for license in plan.fixed if matches(license)),
            key=lambda lic: (lic.ends_on, lic.id),
            reverse=True,
        )
        return Page(found, None, read=len(plan.fixed), extra={"order": plan.order})
    page = walk(
        queries.query_page,
        plan.parts,
        queries.license,
        scope=scope_of("licenses", vars(query)),
        after=after,
        keep=matches if plan.filtered else None,
        page_size=page_size,
    )
    page.extra["order"] = plan.order
    return page


def search_licenses(store: Any, queries: Any, query: LicenseQuery) -> list[License]:
    """Every license that matches, page after page (the CLI's `--all`, tests)."""
    found: list[License] = []
    after = None
    while True:
        page = search_page(store, queries, query, after=after)
        found += page.items
        if page.next is None:
            return found
        after = page.next


def account_licenses_page(queries: Any, account_id: str, *, after: str | None = None) -> Page[License]:
    """An account's licenses, newest first, a page of gsi1 at a time (the console's account page)."""
    part = queries.account_licenses(account_id)
    return walk(
        queries.query_page, [part], queries.license, scope=scope_of("account", account_id), after=after
    )


def _plan(
    store: Any,
    queries: Any,
    query: LicenseQuery,
    status: LicenseStatus | None,
    account_ids: set[str] | None,
    refs: set[str],
) -> _Plan:
    """The narrowest source of candidates: a whole key (one read), the accounts an email or account
    name names (gsi1, an account's licenses newest first), a Stripe reference (one read of its
    licenses), a product (gsi2, with a status one begins_with range), a status (gsi2, product by
    product); else every product's licenses on gsi2, filtered."""
    if query.key:
        whole = _whole_key(query.key)
        if whole is not None:
            license = store.get_license(license_id_for_key(whole))
            if license is not None:
                return _Plan([], [license], True, "The license with this key")
    if account_ids is not None:
        parts = [queries.account_licenses(account_id) for account_id in sorted(account_ids)]
        rest = query.key or query.site or query.product or query.status or query.invoice
        return _Plan(parts, None, bool(rest), "Account by account, newest first")
    if refs:
        licenses = [license for license in (store.get_license(i) for i in sorted(refs)) if license]
        return _Plan([], licenses, True, "Newest end date first")
    unserved = query.key or query.site or query.invoice
    if query.product:
        statuses = [status] if status else list(STATUS_ORDER)
        parts = [queries.product_licenses(query.product, each.value) for each in statuses]
        order = "Latest end date first" if status else "By status (active first), latest end date first"
        return _Plan(parts, None, bool(unserved), order)
    products = sorted(product.slug for product in store.list_products())
    statuses = [status] if status else list(STATUS_ORDER)
    parts = [queries.product_licenses(slug, each.value) for slug in products for each in statuses]
    order = "Product by product" + ("" if status else ", by status") + ", latest end date first"
    return _Plan(parts, None, bool(unserved), order)


def _account_ids(store: Any, email: str | None, account: str | None) -> set[str] | None:
    """The accounts the email and account criteria allow; None when neither is given."""
    allowed: set[str] | None = None
    if email:
        contact = store.get_contact(email)
        allowed = set(contact.account_ids) if contact else set()
    if account:
        named = _accounts_named(store, account)
        allowed = named if allowed is None else allowed & named
    return allowed


def _accounts_named(store: Any, reference: str) -> set[str]:
    """An account by id, contact email or exact name; else every account whose name contains it."""
    try:
        return {find_account(store, reference).id}
    except NotFound:
        text = reference.strip().casefold()
        return {account.id for account in store.list_accounts() if text in account.name.casefold()}


def _whole_key(raw: str) -> str | None:
    try:
        return lookup_key(raw)
    except InvalidInput:
        return None


def _invoice_matches(license: License, invoice: str) -> bool:
    text = invoice.strip().casefold()
    billing = license.billing
    fields = [billing.invoice_url, billing.stripe_invoice_id, billing.stripe_payment_intent_id]
    fields += [billing.stripe_checkout_session_id, billing.receipt_url]
    fields += [payment.invoice_url for payment in license.payments]
    return any(value and text in value.casefold() for value in fields)


# -- export ----------------------------------------------------------------------------------------

EXPORT_FIELDS = [
    "id",
    "key",
    "name",
    "product",
    "type",
    "status",
    "starts_on",
    "ends_on",
    "account_id",
    "account",
    "emails",
    "max_sites",
    "sites",
    "payment_status",
    "payment_method",
    "invoice_url",
    "paid_on",
    "amount_total",
    "currency",
    "payments",
]


def export_rows(
    store: Any, queries: Any, *, product: str | None, status: str | None
) -> Iterator[dict[str, Any]]:
    """One row per license (of a product, with a status), with its account and contacts."""
    wanted = parse_status(status) if status else None
    if product:
        find_product(store, product)
    accounts: dict[str, tuple[str, list[str]]] = {}
    for license in queries.all_licenses():
        if (product and license.product != product) or (wanted and license.status is not wanted):
            continue
        if license.account_id not in accounts:
            account = store.get_account(license.account_id)
            accounts[license.account_id] = (
                account.name if account else "",
                store.contact_emails(license.account_id),
            )
        name, emails = accounts[license.account_id]
        yield {
            "id": license.id,
            "key": format_key(license.key),
            "name": license.name,
            "product": license.product,
            "type": license.type.value,
            "status": license.status.value,
            "starts_on": license.starts_on.isoformat(),
            "ends_on": license.ends_on.isoformat(),
            "account_id": license.account_id,
            "account": name,
            "emails": emails,
            "max_sites": license.max_sites,
            "sites": sorted(license.sites),
            "payment_status": license.billing.payment_status.value,
            "payment_method": license.billing.method,
            "invoice_url": license.billing.invoice_url,
            "paid_on": license.billing.paid_on.isoformat() if license.billing.paid_on else None,
            "amount_total": license.billing.amount_total,
            "currency": license.billing.currency,
            "payments": [payment.model_dump(mode="json") for payment in license.payments],
        }


def export_text(rows: Iterable[dict[str, Any]], fmt: str) -> str:
    """The rows as CSV (lists joined with `;`, the importer's separator) or as a JSON list."""
    if fmt == "json":
        return json.dumps(list(rows), indent=2)
    if fmt != "csv":
        raise InvalidInput("the export format is csv or json")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                name: ";".join(value)
                if name in ("emails", "sites")
                else (json.dumps(value) if name == "payments" else value)
                for name, value in row.items()
            }
        )
    return out.getvalue()
