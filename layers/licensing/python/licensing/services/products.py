"""The catalogue's products, as staff create and change them (the CLI's `products create|update`
and the console's product forms): one validation, one write. Existing licenses keep their terms;
new licenses take the product's."""

from __future__ import annotations

from typing import Any

from ..errors import Conflict, InvalidInput
from ..models import Account, Product
from .lookup import find_product


def create_product(store: Any, slug: str, values: dict[str, Any], *, owner: Account | None = None) -> Product:
    """A new product: public, or custom for `owner` (its licenses go to that account only)."""
    if store.get_product(slug) is not None:
        raise Conflict(f"the product {slug!r} exists: update it instead")
    if not str(values.get("name") or "").strip():
        raise InvalidInput("a product needs a name")
    if owner is not None:
        values = values | {"kind": "custom", "owner_account_id": owner.id}
    product = Product.model_validate({"slug": slug} | values)
    store.put_product(product)
    return product


def updated_product(store: Any, slug: str, changes: dict[str, Any]) -> tuple[Product, Product]:
    """The product before and after `changes`, validated, not yet saved (to show what changes)."""
    product = find_product(store, slug)
    fixed = {"slug", "kind", "owner_account_id", "created_at"} & set(changes)
    if fixed:
        raise InvalidInput(f"{', '.join(sorted(fixed))} of a product cannot be changed")
    return product, Product.model_validate(product.model_dump() | changes)


def update_product(store: Any, slug: str, changes: dict[str, Any]) -> Product:
    _, product = updated_product(store, slug, changes)
    store.put_product(product)
    return product
