"""The catalogue's items: products, their Stripe price lookups, and their releases."""

from __future__ import annotations

from ...errors import Conflict, NotFound
from ...models import Product, Release
from . import keys
from .base import TableAccess, without_keys


class CatalogueRepository(TableAccess):
    def put_product(self, product: Product) -> None:
        """Create or replace a product, with its Stripe price lookups (stale ones removed)."""
        previous = self.get_product(product.slug)
        stale = set(previous.stripe_price_ids + previous.trial_price_ids) if previous else set()
        prices = set(product.stripe_price_ids + product.trial_price_ids)
        operations = [
            self._put(
                {
                    **keys.product(product.slug).as_item(),
                    "item_type": "product",
                    "gsi1pk": keys.PRODUCTS,
                    "gsi1sk": product.slug,
                    **product.model_dump(mode="json"),
                }
            )
        ]
        operations += [
            self._put({**keys.price(price).as_item(), "item_type": "price", "product": product.slug})
            for price in sorted(prices)
        ]
        operations += [self._delete(keys.price(price)) for price in sorted(stale - prices)]
        self._transact(operations, "save product")

    def get_product(self, slug: str) -> Product | None:
        item = self._get(keys.product(slug))
        return Product.model_validate(without_keys(item)) if item else None

    def require_product(self, slug: str) -> Product:
        product = self.get_product(slug)
        if product is None:
            raise NotFound(f"No product '{slug}'.")
        return product

    def list_products(self) -> list[Product]:
        items = self._query_key(keys.PRODUCTS, index="gsi1")
        return [Product.model_validate(without_keys(item)) for item in items]

    def product_for_price(self, price_id: str) -> str | None:
        item = self._get(keys.price(price_id))
        return str(item["product"]) if item else None

    def put_release(self, release: Release) -> None:
        """Record a release; a version is published once."""
        item = {
            **keys.release(release.product, release.version).as_item(),
            "item_type": "release",
            **release.model_dump(mode="json"),
        }
        try:
            self._write(item, "publish release", "attribute_not_exists(pk)")
        except Conflict as error:
            raise Conflict(f"{release.product} {release.version} is already published.") from error

    def list_releases(self, product: str) -> list[Release]:
        """Releases of a product, newest first (one query)."""
        items = self._query_key(keys.product(product).pk, sk_prefix=keys.RELEASES, newest_first=True)
        return [Release.model_validate(without_keys(item)) for item in items]

    def product_with_releases(self, slug: str) -> tuple[Product | None, list[Release]]:
        """A product and its releases, newest first, in one query of the product's partition."""
        product, releases = None, []
        for item in self._query_key(keys.product(slug).pk, newest_first=True):
            if item["sk"] == keys.product(slug).sk:
                product = Product.model_validate(without_keys(item))
            elif str(item["sk"]).startswith(keys.RELEASES):
                releases.append(Release.model_validate(without_keys(item)))
        return product, releases

    def get_release(self, product: str, version: str) -> Release | None:
        item = self._get(keys.release(product, version))
        return Release.model_validate(without_keys(item)) if item else None
