"""`licensing import`: licenses from an earlier system's export (API.md section 4), with their
existing keys, so that no installed extension notices the move.

A file is CSV (a header row) or JSON (a list of objects), one license a row. Each row is planned
first (every check that can refuse it, with its line and a reason), then written: missing accounts
in batches, missing contacts, and each license with its sites, payment and "imported" history in
one transaction through the one issuing service. A key already in the table is `unchanged` when it
belongs to the same account and product (a second run changes nothing), else refused.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from ..adapters.dynamo.imports import ImportRepository
from ..dates import utc_now
from ..errors import Conflict, InvalidInput, LicensingError
from ..keys import format_key, license_id_for_key, lookup_key
from ..models import (
    Account,
    Billing,
    Contact,
    License,
    LicenseStatus,
    LicenseType,
    Payment,
    PaymentStatus,
    Product,
    Site,
)
from ..sites import is_development_host, normalize_site
from ..urls import web_link
from .issuing import issue_licenses

FIELDS = (
    "account",
    "email",
    "contact_name",
    "product",
    "name",
    "key",
    "type",
    "status",
    "starts_on",
    "ends_on",
    "sites",
    "payment_status",
    "payment_method",
    "invoice_url",
    "notes",
)
DATE_FORMATS = {"YYYY-MM-DD": "%Y-%m-%d", "DD.MM.YYYY": "%d.%m.%Y", "MM/DD/YYYY": "%m/%d/%Y"}
_SITE_SEPARATORS = re.compile(r"[;,\s]+")
_EMAIL_SEPARATORS = re.compile(r"[;,]")
_STATUSES = {status.value.lower(): status for status in LicenseStatus}
_TYPES = {kind.value: kind for kind in LicenseType}
_PAYMENT_STATUSES = {status.value: status for status in PaymentStatus}


@dataclass
class Row:
    line: int  # the CSV line the row starts on (the header is line 1), or the JSON item's number
    values: dict[str, str]


@dataclass
class Outcome:
    line: int
    outcome: str  # created | unchanged | refused
    key: str | None = None
    license_id: str | None = None
    account: str | None = None
    product: str | None = None
    reason: str | None = None


@dataclass
class ImportReport:
    dry_run: bool
    rows: list[Outcome] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "created": self.count("created"),
            "unchanged": self.count("unchanged"),
            "refused": self.count("refused"),
            "ignored_columns": self.ignored_columns,
            "rows": [asdict(row) for row in self.rows],
        }


class Refused(Exception):
    """A row that cannot be imported, with the reason staff read in the report."""


# -- reading a file --------------------------------------------------------------------------------


def load_mapping(text: str) -> dict[str, str]:
    """`--map`: `{"Their column": "field"}`, every target one of FIELDS."""
    try:
        mapping = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"the mapping is not JSON: {error.msg} at line {error.lineno}") from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise InvalidInput('the mapping is a JSON object {"Their column": "field", ...}')
    unknown = sorted({target for target in mapping.values() if target not in FIELDS})
    if unknown:
        raise InvalidInput(
            f"the mapping names unknown fields {', '.join(unknown)} (fields: {', '.join(FIELDS)})"
        )
    return {str(column).strip().casefold(): target for column, target in mapping.items()}


def _field_for(column: str, mapping: dict[str, str]) -> str | None:
    folded = column.strip().casefold()
    if folded in mapping:
        return mapping[folded]
    plain = re.sub(r"[\s-]+", "_", folded)
    return plain if plain in FIELDS else None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(_text(item) for item in value)
    return str(value).strip()


def read_rows(text: str, *, mapping: dict[str, str] | None = None) -> tuple[list[Row], list[str]]:
    """The rows of a CSV or JSON export under the import's field names, and the columns ignored."""
    mapping = mapping or {}
    text = text.removeprefix("\ufeff")
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidInput(f"the file is not valid JSON: {error.msg} at line {error.lineno}") from None
        if not all(isinstance(item, dict) for item in items):
            raise InvalidInput("a JSON import is a list of objects, one license each")
        records = [(number, item) for number, item in enumerate(items, start=1)]
    else:
        records = list(_csv_records(text))
    rows: list[Row] = []
    ignored: dict[str, None] = {}
    for line, record in records:
        values: dict[str, str] = {}
        for column, value in record.items():
            if column is None:
                continue  # a CSV row with more cells than the header: the extra ones are nobody's
            target = _field_for(str(column), mapping)
            if target is None:
                ignored[str(column)] = None
            elif not values.get(target):
                values[target] = _text(value)
        rows.append(Row(line, values))
    return rows, list(ignored)


def _csv_records(text: str) -> Any:
    first_line = text.split("\n", 1)[0]
    try:
        dialect: Any = csv.Sniffer().sniff(first_line, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    if reader.fieldnames is None:
        raise InvalidInput("the file is empty: a CSV import starts with a header row")
    start = reader.line_num + 1
    for record in reader:
        if any(_text(value) for key, value in record.items() if key is not None):
            yield start, record
        start = reader.line_num + 1


# -- planning a row --------------------------------------------------------------------------------


@dataclass
class Plan:
    line: int
    key: str  # the lookup form
    license_id: str
    account_name: str
    emails: list[str]
    contact_name: str
    product: Product
    name: str | None
    license_type: LicenseType
    status: LicenseStatus
    starts_on: date
    ends_on: date | None
    sites: dict[str, Site]
    billing: Billing
    payment: Payment | None
    notes: str | None


def _date(value: str, column: str, date_format: str) -> date:
    text = value.strip()
    formats = ["%Y-%m-%d"] + [DATE_FORMATS[date_format]] * (date_format != "YYYY-MM-DD")
    candidate = text[:10] if re.match(r"^\d{4}-\d{2}-\d{2}[T ]", text) else text
    for pattern in formats:
        try:
            return datetime.strptime(candidate, pattern).date()
        except ValueError:
            continue
    accepted = "YYYY-MM-DD" + (f" or {date_format}" if date_format != "YYYY-MM-DD" else "")
    raise Refused(f"{column} {value!r} is not a date in {accepted} (see --date-format)")


def _choice(value: str, choices: dict[str, Any], column: str) -> Any:
    folded = re.sub(r"[\s-]+", "_", value.strip().casefold())
    if folded not in choices:
        raise Refused(f"{column} {value!r} is not one of {', '.join(choices)}")
    return choices[folded]


def plan_row(row: Row, products: dict[str, Product | None], *, actor: str, date_format: str) -> Plan:
    """Every check that can refuse a row, before anything is written; raises Refused."""
    values = row.values
    for required in ("account", "product", "key"):
        if not values.get(required):
            raise Refused(f"the row has no {required}")
    raw_key = values["key"]
    try:
        key = lookup_key(raw_key)
    except InvalidInput as error:
        raise Refused(f"key: {error.message}") from None
    if key is None:
        raise Refused(
            "the key has this system's format but a wrong check character (a typo?): it would never validate"
        )
    product = products.get(values["product"].strip())
    if product is None:
        raise Refused(
            f"no product {values['product'].strip()!r} (create it with `licensing products create`)"
        )
    emails = [part.strip() for part in _EMAIL_SEPARATORS.split(values.get("email", "")) if part.strip()]
    try:
        emails = [Contact(email=email).email for email in emails]
    except ValueError:
        raise Refused(f"email {values['email']!r} is not one or more addresses separated by ';'") from None
    license_type = (
        _choice(values["type"], _TYPES, "type")
        if values.get("type")
        else LicenseType.CUSTOM
        if product.custom
        else LicenseType.COMMERCIAL
    )
    status = _choice(values["status"], _STATUSES, "status") if values.get("status") else LicenseStatus.ACTIVE
    if not values.get("starts_on"):
        raise Refused("the row has no starts_on")
    starts_on = _date(values["starts_on"], "starts_on", date_format)
    ends_on = _date(values["ends_on"], "ends_on", date_format) if values.get("ends_on") else None
    if ends_on is not None and ends_on < starts_on:
        raise Refused(f"ends_on {ends_on} is before starts_on {starts_on}")
    sites: dict[str, Site] = {}
    for raw_site in _SITE_SEPARATORS.split(values.get("sites", "")):
        if not raw_site:
            continue
        try:
            host = normalize_site(raw_site)
        except InvalidInput as error:
            raise Refused(f"site {raw_site!r}: {error.message}") from None
        counted = not is_development_host(host, product.development_hosts)
        sites.setdefault(host, Site(host=host, counted=counted))
    billing, payment = _billing(values, starts_on, actor)
    return Plan(
        line=row.line,
        key=key,
        license_id=license_id_for_key(key),
        account_name=values["account"].strip(),
        emails=emails,
        contact_name=values.get("contact_name", ""),
        product=product,
        name=values.get("name") or None,
        license_type=license_type,
        status=status,
        starts_on=starts_on,
        ends_on=ends_on,
        sites=sites,
        billing=billing,
        payment=payment,
        notes=values.get("notes") or None,
    )


def _billing(values: dict[str, str], starts_on: date, actor: str) -> tuple[Billing, Payment | None]:
    method = re.sub(r"[\s-]+", "_", values.get("payment_method", "").strip().casefold())
    try:
        invoice_url = web_link(values.get("invoice_url"))
    except InvalidInput as error:
        raise Refused(f"invoice_url {values['invoice_url']!r}: {error.message}") from None
    if values.get("payment_status"):
        status = _choice(values["payment_status"], _PAYMENT_STATUSES, "payment_status")
    else:
        status = PaymentStatus.FREE if method == "free" else PaymentStatus.PAID
    method = method or ("invoice" if invoice_url else "imported")
    billing = Billing(payment_status=status, method=method, invoice_url=invoice_url)
    if not (values.get("payment_status") or values.get("payment_method") or invoice_url):
        return billing, None
    payment = Payment(
        at=starts_on, method=method, status=status, invoice_url=invoice_url, reason="imported", by=actor
    )
    return billing, payment


# -- the import ------------------------------------------------------------------------------------


def imported_account_id(name: str) -> str:
    """An imported account's id, from its name: a second run finds the same account."""
    digest = hashlib.sha256(f"import:{name.casefold()}".encode()).digest()
    return "acc_" + base64.b32encode(digest).decode().lower()[:16]


def _differences(plan: Plan, license: License) -> list[str]:
    differing = []
    if plan.ends_on is not None and license.ends_on != plan.ends_on:
        differing.append("ends_on")
    if license.starts_on != plan.starts_on:
        differing.append("starts_on")
    if license.status is not plan.status:
        differing.append("status")
    if set(license.sites) != set(plan.sites):
        differing.append("sites")
    return differing


def import_licenses(
    store: Any,
    events: Any,
    rows: list[Row],
    *,
    actor: str,
    dry_run: bool = False,
    send_mails: bool = False,
    date_format: str = "YYYY-MM-DD",
    ignored_columns: list[str] | None = None,
    confirm: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import the rows (or, with `dry_run`, report what an import would do, writing nothing).

    `confirm` sees the planned report before anything is written (and may abort by raising)."""
    if date_format not in DATE_FORMATS:
        raise InvalidInput(f"--date-format is one of {', '.join(DATE_FORMATS)}")
    bulk = ImportRepository(store.table_name, store.dynamodb)
    report = ImportReport(dry_run=dry_run, ignored_columns=list(ignored_columns or []))
    outcomes: dict[int, Outcome] = {}
    slugs = {row.values.get("product", "").strip() for row in rows} - {""}
    products: dict[str, Product | None] = {slug: store.get_product(slug) for slug in slugs}

    plans: list[Plan] = []
    first_line_of_key: dict[str, int] = {}
    for index, row in enumerate(rows):
        try:
            plan = plan_row(row, products, actor=actor, date_format=date_format)
            if plan.key in first_line_of_key:
                raise Refused(f"the same key is on line {first_line_of_key[plan.key]} already")
            first_line_of_key[plan.key] = row.line
        except Refused as refusal:
            outcomes[index] = Outcome(
                row.line,
                "refused",
                account=row.values.get("account"),
                product=row.values.get("product"),
                reason=str(refusal),
            )
            continue
        plans.append(plan)

    accounts_by_name: dict[str, list[Account]] = {}
    for account in store.list_accounts():
        accounts_by_name.setdefault(account.name.casefold(), []).append(account)
    existing = bulk.licenses_by_id(plan.license_id for plan in plans)
    to_create: list[tuple[Plan, Account]] = []
    new_accounts: dict[str, Account] = {}
    by_line = {row.line: index for index, row in enumerate(rows)}
    for plan in plans:
        index = by_line[plan.line]
        outcome = Outcome(
            plan.line,
            "refused",
            key=format_key(plan.key),
            account=plan.account_name,
            product=plan.product.slug,
        )
        outcomes[index] = outcome
        try:
            account = _account_for(plan.account_name, accounts_by_name, new_accounts)
            found = existing.get(plan.license_id)
            if found is not None:
                if found.account_id != account.id or found.product != plan.product.slug:
                    raise Refused(
                        f"the key already belongs to license {found.id} "
                        f"(account {found.account_id}, product {found.product})"
                    )
                differing = _differences(plan, found)
                outcome.outcome, outcome.license_id = "unchanged", found.id
                outcome.reason = (
                    f"already imported; this file differs in {', '.join(differing)} (not changed)"
                    if differing
                    else "already imported"
                )
                continue
            if plan.product.custom and plan.product.owner_account_id != account.id:
                raise Refused(f"{plan.product.slug!r} is a custom product of another account")
        except Refused as refusal:
            outcome.reason = str(refusal)
            continue
        outcome.outcome, outcome.license_id = "created", plan.license_id
        to_create.append((plan, account))
        if account.id not in {a.id for a in accounts_by_name.get(account.name.casefold(), [])}:
            new_accounts[account.name.casefold()] = account

    report.rows = [outcomes[index] for index in sorted(outcomes)]
    if not dry_run and to_create:
        if confirm is not None:
            confirm(report)
        _write(store, bulk, events if send_mails else None, to_create, new_accounts, outcomes, by_line, actor)
    report.rows = [outcomes[index] for index in sorted(outcomes)]
    return report


def _account_for(name: str, existing: dict[str, list[Account]], new: dict[str, Account]) -> Account:
    matches = existing.get(name.casefold(), [])
    if len(matches) > 1:
        raise Refused(f"{len(matches)} accounts are named {name!r}: rename one first")
    if matches:
        return matches[0]
    return new.get(name.casefold()) or Account(id=imported_account_id(name), name=name)


def _write(
    store: Any,
    bulk: ImportRepository,
    events: Any,
    to_create: list[tuple[Plan, Account]],
    new_accounts: dict[str, Account],
    outcomes: dict[int, Outcome],
    by_line: dict[int, int],
    actor: str,
) -> None:
    bulk.put_new_accounts(list(new_accounts.values()))
    wanted = {
        (account.id, email, plan.contact_name if n == 0 else "")
        for plan, account in to_create
        for n, email in enumerate(plan.emails)
    }
    contacts = bulk.contacts_by_email(email for _, email, _ in wanted)
    for account_id, email, name in sorted(wanted):
        contact = contacts.get(email)
        if contact is None or account_id not in contact.account_ids or (name and not contact.name):
            contacts[email] = store.add_contact(account_id, email, name)
    now = utc_now()
    for plan, account in to_create:
        outcome = outcomes[by_line[plan.line]]
        sites = {host: site.model_copy(update={"activated_at": now}) for host, site in plan.sites.items()}
        counted = sum(1 for site in sites.values() if site.counted)
        announce = events if plan.status in (LicenseStatus.ACTIVE, LicenseStatus.PENDING) else None
        try:
            issue_licenses(
                store,
                announce,
                product=plan.product,
                account=account,
                actor=actor,
                license_type=plan.license_type,
                status=plan.status,
                starts_on=plan.starts_on,
                ends_on=plan.ends_on,
                # The sites in use stay activated even beyond the product's limit: nothing installed
                # may notice the move.
                max_sites=max(plan.product.max_sites, counted),
                billing=plan.billing,
                keys=[plan.key],
                name=plan.name,
                sites=sites,
                payments=[plan.payment] if plan.payment else [],
                action="imported",
                notes=plan.notes,
            )
        except Conflict:
            outcome.outcome, outcome.license_id = "refused", None
            outcome.reason = "the key already belongs to another license (created meanwhile)"
        except LicensingError as error:
            outcome.outcome, outcome.license_id = "refused", None
            outcome.reason = error.message
