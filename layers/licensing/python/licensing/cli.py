"""The staff command line, `licensing`. With `--local` it talks to the running local dev server."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click

from .errors import LicensingError


@dataclass
class CliContext:
    local: bool
    as_json: bool
    aws_port: int
    connected: bool = False

    def connect(self) -> None:
        """Point the adapters at the resources: the local system's, or the deployed stack's."""
        if self.connected:
            return
        if not self.local:
            os.environ.update(_stack_environment())
        from .adapters.aws import reset_clients
        from .settings import reset_settings

        reset_clients()
        reset_settings()
        self.connected = True

    def store(self) -> Any:
        from .adapters.dynamo import DynamoStore
        from .settings import get_settings

        self.connect()
        return DynamoStore(get_settings().table_name)

    def events(self) -> Any:
        from .adapters.events import EventBridgePublisher
        from .settings import get_settings

        self.connect()
        return EventBridgePublisher(get_settings().event_bus_name)


def _stack_environment() -> dict[str, str]:
    """The resource names of the deployed stack, from its outputs (current AWS credentials)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from . import catalogue

    stack = catalogue.deployed_stack_name()
    try:
        stacks = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except (BotoCoreError, ClientError) as error:
        raise click.ClickException(
            f"cannot read the stack {stack} with the current AWS credentials ({error}); "
            "use --local for the local system"
        ) from None
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
    return {
        "LICENSING_TABLE": outputs[catalogue.OUTPUT_TABLE],
        "RELEASE_BUCKET": outputs[catalogue.OUTPUT_RELEASE_BUCKET],
        "EVENT_BUS_NAME": outputs[catalogue.OUTPUT_EVENT_BUS],
        "PUBLIC_BASE_URL": outputs[catalogue.OUTPUT_API_URL].rstrip("/"),
    }


@contextmanager
def domain_errors() -> Iterator[None]:
    """Domain errors as one clear line on stderr and a non-zero exit."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except LicensingError as error:
        raise click.ClickException(error.message) from None
    except (BotoCoreError, ClientError) as error:
        hint = " (is `make run` running?)" if isinstance(error, BotoCoreError) else ""
        raise click.ClickException(f"AWS: {error}{hint}") from None


def emit(
    obj: CliContext, rows: Sequence[dict[str, Any]], columns: Sequence[str], *, single: bool = False
) -> None:
    """Rows as JSON (`--json`) or as a readable table."""
    if obj.as_json:
        click.echo(json.dumps(rows[0] if single and rows else list(rows), indent=2, default=str))
        return
    if single and rows:
        width = max(len(column) for column in columns)
        for column in columns:
            click.echo(f"{column:<{width}}  {_cell(rows[0].get(column))}")
        return
    widths = {c: max([len(c), *(len(_cell(row.get(c))) for row in rows)]) for c in columns}
    click.echo("  ".join(f"{c:<{widths[c]}}" for c in columns).rstrip())
    for row in rows:
        click.echo("  ".join(f"{_cell(row.get(c)):<{widths[c]}}" for c in columns).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "-"
    return str(value)


@click.group()
@click.option("--local", is_flag=True, help="Talk to the running local dev server's embedded AWS.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--aws-port", default=8001, show_default=True, help="The local embedded AWS port (with --local)."
)
@click.pass_context
def main(ctx: click.Context, local: bool, as_json: bool, aws_port: int) -> None:
    """Staff tools of the license manager."""
    ctx.obj = CliContext(local=local, as_json=as_json, aws_port=aws_port)
    if local:
        from .devserver.resources import LOCAL
        from .devserver.server import local_environment

        os.environ.update(local_environment(f"http://127.0.0.1:{aws_port}", "http://127.0.0.1:8000", LOCAL))


@main.group(invoke_without_command=True)
@click.option("--port", default=8000, show_default=True, help="The HTTP gateway's port.")
@click.option("--aws-port", default=8001, show_default=True, help="The embedded AWS endpoint's port.")
@click.option("--no-demo", is_flag=True, help="Start without the demo catalogue.")
@click.pass_context
def dev(ctx: click.Context, port: int, aws_port: int, no_demo: bool) -> None:
    """The local dev server: the whole system on loopback, with demo data."""
    if ctx.invoked_subcommand is not None:
        return
    from .devserver.gateway import PortInUseError
    from .devserver.server import DevServer

    try:
        server = DevServer(port=port, aws_port=aws_port, demo=not no_demo).start()
    except PortInUseError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"License manager running locally\n"
        f"  HTTP API and portal  {server.url}  (try {server.url}/v1/health)\n"
        f"  dev mailbox          {server.url}/_dev/mail\n"
        f"  embedded AWS         {server.aws_endpoint}  (licensing --local ...)\n"
        f"Press Ctrl-C to stop."
    )
    sys.stdout.flush()
    server.wait()
    click.echo("Stopped.")


@dev.command("purchase")
@click.option("--email", required=True, help="The buyer's email.")
@click.option("--product", required=True, help="The product slug, e.g. crm-exporter.")
@click.option("--quantity", default=1, show_default=True, type=click.IntRange(1, 25))
@click.option("--unpaid", is_flag=True, help="A delayed payment (SEPA): the license stays PENDING.")
@click.option("--company", default=None, help="The buyer's company name.")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="The local gateway.")
@click.pass_obj
def dev_purchase(
    obj: CliContext, email: str, product: str, quantity: int, unpaid: bool, company: str | None, url: str
) -> None:
    """Send a signed checkout.session.completed to the local webhook, as Stripe would."""
    import json
    import urllib.error
    import urllib.request

    from .devserver.checkout import checkout_completed_event, signed_body
    from .devserver.server import DEFAULT_WEBHOOK_SECRET

    secret = (os.environ.get("STRIPE_WEBHOOK_SECRET") or DEFAULT_WEBHOOK_SECRET).split(",")[0]
    event = checkout_completed_event(
        email=email, product=product, quantity=quantity, unpaid=unpaid, company=company
    )
    body, header = signed_body(event, secret)
    request = urllib.request.Request(  # noqa: S310 (a URL the user names, http on loopback by default)
        f"{url.rstrip('/')}/webhooks/stripe",
        data=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            status, text = answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    except urllib.error.URLError as error:
        raise click.ClickException(f"cannot reach {url}: is `make run` running? ({error.reason})") from None
    session_id = event["data"]["object"]["id"]
    if obj.as_json:
        click.echo(json.dumps({"status": status, "session": session_id, "answer": json.loads(text or "{}")}))
    else:
        click.echo(f"{event['type']} for {product} x{quantity} ({session_id}): HTTP {status} {text}")
    if status >= 400:
        sys.exit(1)


# -- products --------------------------------------------------------------------------------------


@main.group()
def products() -> None:
    """The catalogue."""


@products.command("list")
@click.pass_obj
def products_list(obj: CliContext) -> None:
    """Every product."""
    with domain_errors():
        rows = [_product_row(product) for product in obj.store().list_products()]
    emit(obj, rows, ["slug", "name", "kind", "term_months", "max_sites", "grace_days", "stripe_price_ids"])


@products.command("show")
@click.argument("slug")
@click.pass_obj
def products_show(obj: CliContext, slug: str) -> None:
    """A product and its releases, newest first."""
    with domain_errors():
        store = obj.store()
        product = store.require_product(slug)
        row = _product_row(product) | {"releases": [release.version for release in store.list_releases(slug)]}
    columns = [
        "slug",
        "name",
        "kind",
        "owner_account_id",
        "term_months",
        "max_sites",
        "grace_days",
        "trial_days",
        "stripe_price_ids",
        "development_hosts",
        "releases",
    ]
    emit(obj, [row], columns, single=True)


def _product_options(command: Any) -> Any:
    """The product settings `products create` and `products update` share."""
    options = [
        click.option("--name", help="The product's name, as customers see it."),
        click.option(
            "--price", "prices", multiple=True, help="A Stripe price id that sells it (repeatable)."
        ),
        click.option("--trial-price", "trial_prices", multiple=True, help="A Stripe price id of its trial."),
        click.option("--term-months", type=click.IntRange(1, 120), help="License term (default 12)."),
        click.option(
            "--max-sites", type=click.IntRange(0, 10_000), help="Production sites per license (default 3)."
        ),
        click.option(
            "--grace-days", type=click.IntRange(0, 365), help="Grace after the end date (default 7)."
        ),
        click.option("--trial-days", type=click.IntRange(1, 365), help="Length of a trial (default 14)."),
        click.option("--renewal-price", type=click.IntRange(0), help="Renewal price in cents."),
        click.option("--currency", default="eur", show_default=True, help="Currency of the renewal price."),
        click.option(
            "--dev-host",
            "dev_hosts",
            multiple=True,
            help="A development-host pattern (repeatable; replaces the default list).",
        ),
        click.option("--description", help="A line about the product."),
        click.option("--yes", is_flag=True, help="Do not ask for confirmation."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _product_changes(**given: Any) -> dict[str, Any]:
    from .models import Price

    names = {
        "prices": "stripe_price_ids",
        "trial_prices": "trial_price_ids",
        "dev_hosts": "development_hosts",
    }
    changes = {
        names.get(k, k): list(v) if isinstance(v, tuple) else v
        for k, v in given.items()
        if v not in (None, ())
    }
    if "renewal_price" in changes:
        changes["renewal_price"] = Price(
            amount=changes.pop("renewal_price"), currency=given.get("currency") or "eur"
        )
    changes.pop("currency", None)
    return changes


def _save_product(obj: CliContext, product: Any, yes: bool, verb: str) -> None:
    if not yes:
        click.confirm(f"{verb} the product {product.slug!r}?", abort=True)
    obj.store().put_product(product)
    emit(
        obj,
        [_product_row(product)],
        ["slug", "name", "kind", "term_months", "max_sites", "grace_days", "stripe_price_ids"],
        single=True,
    )


@products.command("create")
@click.argument("slug")
@click.option("--custom-for", "owner", default=None, help="A custom product of this account (name or id).")
@_product_options
@click.pass_obj
def products_create(obj: CliContext, slug: str, owner: str | None, yes: bool, **given: Any) -> None:
    """A new product (public, or custom for one account)."""
    from .models import Product

    with domain_errors():
        store = obj.store()
        if store.get_product(slug) is not None:
            raise click.ClickException(f"the product {slug!r} exists: use products update")
        values = _product_changes(**given)
        if not values.get("name"):
            raise click.UsageError("--name is required")
        if owner:
            values |= {"kind": "custom", "owner_account_id": find_account(store, owner).id}
        try:
            product = Product.model_validate({"slug": slug} | values)
        except ValueError as error:
            raise click.ClickException(_first_error(error)) from None
        _save_product(obj, product, yes, "Create")


@products.command("update")
@click.argument("slug")
@_product_options
@click.pass_obj
def products_update(obj: CliContext, slug: str, yes: bool, **given: Any) -> None:
    """Change a product's settings (new licenses take them; existing ones keep theirs)."""
    from .models import Product

    with domain_errors():
        product = obj.store().require_product(slug)
        try:
            changed = Product.model_validate(product.model_dump() | _product_changes(**given))
        except ValueError as error:
            raise click.ClickException(_first_error(error)) from None
        _save_product(obj, changed, yes, "Update")


def _product_row(product: Any) -> dict[str, Any]:
    return product.model_dump(mode="json")


# -- accounts --------------------------------------------------------------------------------------


@main.group()
def accounts() -> None:
    """Customers: organisations and people, with their contacts."""


@accounts.command("list")
@click.pass_obj
def accounts_list(obj: CliContext) -> None:
    """Every account, by name."""
    with domain_errors():
        store = obj.store()
        rows = [
            account.model_dump(mode="json") | {"contacts": store.contact_emails(account.id)}
            for account in store.list_accounts()
        ]
    emit(obj, rows, ["id", "name", "kind", "contacts"])


@accounts.command("create")
@click.option("--name", required=True, help="The organisation's or person's name.")
@click.option("--email", "emails", multiple=True, help="A contact's email (repeatable).")
@click.option("--person", is_flag=True, help="A person rather than an organisation.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def accounts_create(obj: CliContext, name: str, emails: tuple[str, ...], person: bool, yes: bool) -> None:
    """A new account, with its contacts."""
    from .ids import new_id
    from .models import Account, Contact

    with domain_errors():
        try:
            account = Account(id=new_id("acc"), name=name, kind="person" if person else "organisation")
            contacts = [Contact(email=email).email for email in emails]
        except ValueError as error:
            raise click.ClickException(_first_error(error)) from None
        if not yes:
            click.confirm(f"Create the account {name!r} with {len(contacts)} contact(s)?", abort=True)
        store = obj.store()
        store.create_account(account)
        for email in contacts:
            store.add_contact(account.id, email)
    emit(
        obj,
        [account.model_dump(mode="json") | {"contacts": contacts}],
        ["id", "name", "kind", "contacts"],
        single=True,
    )


@accounts.command("show")
@click.argument("account_ref", metavar="NAME_OR_ID")
@click.pass_obj
def accounts_show(obj: CliContext, account_ref: str) -> None:
    """An account, its contacts and its licenses."""
    with domain_errors():
        store = obj.store()
        account = find_account(store, account_ref)
        row = account.model_dump(mode="json") | {
            "contacts": store.contact_emails(account.id),
            "licenses": [
                f"{lic.name} ({lic.status.value}, ends {lic.ends_on})"
                for lic in store.licenses_of_account(account.id)
            ],
        }
    emit(obj, [row], ["id", "name", "kind", "stripe_customer_id", "contacts", "licenses"], single=True)


@accounts.group("contacts")
def accounts_contacts() -> None:
    """The people of an account: who gets its mails and signs in to its portal."""


@accounts_contacts.command("add")
@click.argument("account_ref", metavar="NAME_OR_ID")
@click.argument("email")
@click.option("--name", default="", help="The contact's name.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def accounts_contacts_add(obj: CliContext, account_ref: str, email: str, name: str, yes: bool) -> None:
    """Add a contact to an account."""
    with domain_errors():
        store = obj.store()
        account = find_account(store, account_ref)
        if not yes:
            click.confirm(f"Add {email} to {account.name}?", abort=True)
        try:
            contact = store.add_contact(account.id, email, name)
        except ValueError as error:
            raise click.ClickException(_first_error(error)) from None
    emit(obj, [{"account_id": account.id, "email": contact.email}], ["account_id", "email"], single=True)


@accounts_contacts.command("remove")
@click.argument("account_ref", metavar="NAME_OR_ID")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def accounts_contacts_remove(obj: CliContext, account_ref: str, email: str, yes: bool) -> None:
    """Remove a contact from an account: its mails stop and its portal access ends at once."""
    with domain_errors():
        store = obj.store()
        account = find_account(store, account_ref)
        if not yes:
            click.confirm(f"Remove {email} from {account.name}?", abort=True)
        if not store.remove_contact(account.id, email):
            raise click.ClickException(f"{email} is not a contact of {account.name}")
    emit(
        obj,
        [{"account_id": account.id, "email": email.strip().lower()}],
        ["account_id", "email"],
        single=True,
    )


def _first_error(error: ValueError) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(part) for part in first.get('loc', ()))}: {first.get('msg')}"
    return str(error)


def find_account(store: Any, name_or_id: str) -> Any:
    """An account by id, or by its exact name (case-insensitive)."""
    if name_or_id.startswith("acc_"):
        account = store.get_account(name_or_id)
        if account is None:
            raise click.ClickException(f"no account {name_or_id}")
        return account
    matches = [a for a in store.list_accounts() if a.name.casefold() == name_or_id.casefold()]
    if not matches:
        raise click.ClickException(f"no account named {name_or_id!r}")
    if len(matches) > 1:
        raise click.ClickException(f"{len(matches)} accounts are named {name_or_id!r}: name one by id")
    return matches[0]


# -- licenses --------------------------------------------------------------------------------------


@main.group()
def licenses() -> None:
    """Licenses: issue, look up."""


LICENSE_COLUMNS = [
    "id",
    "key",
    "name",
    "product",
    "type",
    "status",
    "starts_on",
    "ends_on",
    "account_id",
    "max_sites",
    "sites",
    "payment_status",
    "payment_method",
    "invoice_url",
]


def license_row(license: Any) -> dict[str, Any]:
    return {
        "id": license.id,
        "key": license.display_key,
        "name": license.name,
        "product": license.product,
        "type": license.type.value,
        "status": license.status.value,
        "starts_on": license.starts_on.isoformat(),
        "ends_on": license.ends_on.isoformat(),
        "account_id": license.account_id,
        "max_sites": license.max_sites,
        "sites": sorted(license.sites),
        "payment_status": license.billing.payment_status.value,
        "payment_method": license.billing.method,
        "invoice_url": license.billing.invoice_url,
    }


def find_license(store: Any, key_or_id: str) -> Any:
    """A license by id (`lic_...`) or by key (any case, spaces and dashes)."""
    from .keys import license_id_for_key, lookup_key

    if key_or_id.startswith("lic_"):
        license_id: str | None = key_or_id
    else:
        key = lookup_key(key_or_id)
        license_id = license_id_for_key(key) if key else None
    license = store.get_license(license_id) if license_id else None
    if license is None:
        raise click.ClickException(f"no license {key_or_id}")
    return license


@licenses.command("show")
@click.argument("license_ref", metavar="KEY_OR_ID")
@click.pass_obj
def licenses_show(obj: CliContext, license_ref: str) -> None:
    """A license, with its history."""
    with domain_errors():
        store = obj.store()
        license = find_license(store, license_ref)
        history = [
            f"{entry.at:%Y-%m-%d %H:%M} {entry.action} by {entry.actor}"
            for entry in store.license_history(license.id)
        ]
    emit(obj, [license_row(license) | {"history": history}], [*LICENSE_COLUMNS, "history"], single=True)


@licenses.command("issue")
@click.option("--account", "account_ref", required=True, help="Account name or id.")
@click.option("--product", "product_slug", required=True, help="Product slug.")
@click.option(
    "--type",
    "license_type",
    type=click.Choice(["commercial", "trial", "custom"]),
    default=None,
    help="Default: custom for a custom product, else commercial.",
)
@click.option(
    "--months", type=click.IntRange(1, 120), default=None, help="Term in months (default: the product's)."
)
@click.option("--ends", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="End date, YYYY-MM-DD.")
@click.option(
    "--sites", type=click.IntRange(0, 10_000), default=None, help="Site limit (default: the product's)."
)
@click.option(
    "--payment-method",
    type=click.Choice(["bank_transfer", "invoice", "stripe", "free"]),
    default="invoice",
    show_default=True,
)
@click.option("--invoice-url", default=None, help="Link to the invoice.")
@click.option("--payment-status", type=click.Choice(["paid", "pending"]), default="paid", show_default=True)
@click.option("--by", "staff", default=None, help="The staff member, for the license history.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def licenses_issue(
    obj: CliContext,
    account_ref: str,
    product_slug: str,
    license_type: str | None,
    months: int | None,
    ends: Any,
    sites: int | None,
    payment_method: str,
    invoice_url: str | None,
    payment_status: str,
    staff: str | None,
    yes: bool,
) -> None:
    """Issue a license for an email sale or a custom deal; the customer is emailed the key."""
    from .models import Billing, LicenseType, PaymentStatus
    from .services.issuing import issue_licenses

    if months is not None and ends is not None:
        raise click.UsageError("give --months or --ends, not both")
    with domain_errors():
        store = obj.store()
        product = store.require_product(product_slug)
        account = find_account(store, account_ref)
        kind = LicenseType(license_type or ("custom" if product.custom else "commercial"))
        if not yes:
            click.confirm(f"Issue a {kind.value} license of {product.name} to {account.name}?", abort=True)
        billing = Billing(
            method=payment_method,
            invoice_url=invoice_url,
            payment_status=PaymentStatus.FREE if payment_method == "free" else PaymentStatus(payment_status),
        )
        (license,) = issue_licenses(
            store,
            obj.events(),
            product=product,
            account=account,
            actor=f"staff:{staff or os.environ.get('USER') or 'unknown'}",
            license_type=kind,
            months=months,
            ends_on=ends.date() if ends else None,
            max_sites=sites,
            billing=billing,
        )
    emit(obj, [license_row(license)], LICENSE_COLUMNS, single=True)


# -- jobs ------------------------------------------------------------------------------------------


@main.group()
def jobs() -> None:
    """The scheduled jobs, on demand."""


@jobs.group("run")
def jobs_run() -> None:
    """Run a job now."""


@jobs_run.command("expiry")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Run as if today were this day (YYYY-MM-DD; a future day only with --local).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def jobs_run_expiry(obj: CliContext, today: Any, yes: bool) -> None:
    """The daily lifecycle job: reminders, the expired mail, EXPIRED after the grace period."""
    from .dates import today as utc_today
    from .services.expiry import run_expiry
    from .settings import get_settings

    if today is not None and today.date() > utc_today() and not obj.local:
        raise click.UsageError(
            "a future --today would expire live licenses and mail customers: only with --local"
        )
    if not yes:
        click.confirm("Send the day's reminders and write expired licenses now?", abort=True)
    with domain_errors():
        store, events = obj.store(), obj.events()
        report = run_expiry(
            store,
            events,
            today=today.date() if today else utc_today(),
            reminder_days=get_settings().reminder_days_tuple,
        )
    emit(
        obj,
        [report.as_dict()],
        ["days", "reminders", "expired_mails", "expired", "licenses_read"],
        single=True,
    )


# -- releases --------------------------------------------------------------------------------------


@main.group()
def releases() -> None:
    """Release files and notes: what customers download and hear about."""


@releases.command("publish")
@click.argument("product")
@click.argument("version")
@click.option(
    "--file",
    "file_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The release file (e.g. the extension's zip).",
)
@click.option(
    "--notes", "notes_path", type=click.Path(exists=True, dir_okay=False), help="Release notes, Markdown."
)
@click.option("--requires-host", default=None, help="Host versions it supports, e.g. '>=8.0,<10'.")
@click.option("--no-notify", is_flag=True, help="Publish without release emails.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def releases_publish(
    obj: CliContext,
    product: str,
    version: str,
    file_path: str,
    notes_path: str | None,
    requires_host: str | None,
    no_notify: bool,
    yes: bool,
) -> None:
    """Upload a release, record it, and email the product's license holders."""
    from pathlib import Path

    from .adapters.s3 import S3Files
    from .services.releases import publish_release, release_published_event
    from .settings import get_settings

    data = Path(file_path).read_bytes()
    notes = Path(notes_path).read_text(encoding="utf-8") if notes_path else ""
    with domain_errors():
        store = obj.store()
        if not yes:
            mails = "without emails" if no_notify else "and email its license holders"
            click.confirm(f"Publish {product} {version} ({len(data)} bytes) {mails}?", abort=True)
        release = publish_release(
            store,
            S3Files(get_settings().release_bucket),
            product=product,
            version=version,
            filename=Path(file_path).name,
            data=data,
            notes_markdown=notes,
            requires_host=requires_host,
        )
        if not no_notify:
            obj.events().publish([release_published_event(release)])
    emit(
        obj,
        [_release_row(release)],
        ["product", "version", "published_at", "size", "sha256", "requires_host"],
        single=True,
    )


@releases.command("notify")
@click.argument("product")
@click.argument("version")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def releases_notify(obj: CliContext, product: str, version: str, yes: bool) -> None:
    """Announce a published release again (after a failure, or one published with --no-notify):
    whoever was mailed already is not mailed twice."""
    from .services.releases import release_published_event

    with domain_errors():
        release = obj.store().get_release(product, version)
        if release is None:
            raise click.ClickException(f"no release {product} {version}")
        if not yes:
            click.confirm(f"Email the license holders of {product} about {version}?", abort=True)
        obj.events().publish([release_published_event(release)])
    emit(obj, [_release_row(release)], ["product", "version", "published_at"], single=True)


@releases.command("list")
@click.argument("product")
@click.pass_obj
def releases_list(obj: CliContext, product: str) -> None:
    """A product's releases, newest first."""
    with domain_errors():
        rows = [_release_row(release) for release in obj.store().list_releases(product)]
    emit(obj, rows, ["version", "published_at", "size", "requires_host", "filename"])


def _release_row(release: Any) -> dict[str, Any]:
    return release.model_dump(mode="json")
