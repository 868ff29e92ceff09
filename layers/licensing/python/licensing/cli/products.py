"""`licensing products`: the catalogue."""

from __future__ import annotations

from typing import Any

import click

from ..services.lookup import find_account, find_product
from .context import CliContext, StaffGroup, emit, pass_obj

PRODUCT_COLUMNS = ["slug", "name", "kind", "term_months", "max_sites", "grace_days", "stripe_price_ids"]


@click.group(cls=StaffGroup)
def products() -> None:
    """The catalogue."""


@products.command("list")
@pass_obj
def products_list(obj: CliContext) -> None:
    """Every product."""
    emit(obj, [_product_row(product) for product in obj.store().list_products()], PRODUCT_COLUMNS)


@products.command("show")
@click.argument("slug")
@pass_obj
def products_show(obj: CliContext, slug: str) -> None:
    """A product and its releases, newest first."""
    store = obj.store()
    product = find_product(store, slug)
    row = _product_row(product) | {"releases": [release.version for release in store.list_releases(slug)]}
    columns = [
        "slug",
        "name",
        "kind",
        "owner_account_id",
        "term_months",
        "max_sites",
        "grace_days",
        "on_expiry",
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
        click.option(
            "--on-expiry",
            type=click.Choice(["keep_working", "stop"]),
            help="After the grace period: keep_working (default; updates and support stop) or stop "
            "(the software stops, for software sold as a service).",
        ),
        click.option("--renewal-price", type=click.IntRange(0), help="Renewal price in cents."),
        click.option("--currency", default="eur", show_default=True, help="Currency of the renewal price."),
        click.option(
            "--dev-host",
            "dev_hosts",
            multiple=True,
            help="A development-host pattern (repeatable; replaces the default list).",
        ),
        click.option("--description", help="A line about the product."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _product_changes(**given: Any) -> dict[str, Any]:
    from ..models import Price

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


@products.command("create")
@click.argument("slug")
@click.option("--custom-for", "owner", default=None, help="A custom product of this account (name or id).")
@_product_options
@pass_obj
def products_create(obj: CliContext, slug: str, owner: str | None, **given: Any) -> None:
    """A new product (public, or custom for one account)."""
    from ..services.products import create_product

    store = obj.store()
    if store.get_product(slug) is not None:
        raise click.ClickException(f"the product {slug!r} exists: use products update")
    values = _product_changes(**given)
    if not values.get("name"):
        raise click.UsageError("--name is required")
    account = find_account(store, owner) if owner else None
    obj.confirm(f"Create the product {slug!r}?")
    product = create_product(store, slug, values, owner=account)
    emit(obj, [_product_row(product)], PRODUCT_COLUMNS, single=True)


@products.command("update")
@click.argument("slug")
@_product_options
@pass_obj
def products_update(obj: CliContext, slug: str, **given: Any) -> None:
    """Change a product's settings (new licenses take them; existing ones keep theirs)."""
    from ..services.products import update_product, updated_product

    store = obj.store()
    changes = _product_changes(**given)
    updated_product(store, slug, changes)  # refused before asking
    obj.confirm(f"Update the product {slug!r}?")
    emit(obj, [_product_row(update_product(store, slug, changes))], PRODUCT_COLUMNS, single=True)


def _product_row(product: Any) -> dict[str, Any]:
    return product.model_dump(mode="json")
