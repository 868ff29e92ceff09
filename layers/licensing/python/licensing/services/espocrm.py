"""EspoCRM's own update check (API.md section 2): an extension's manifest names `checkVersionUrl`
and EspoCRM asks `GET {checkVersionUrl}/release/latest/?name={the extension's name}` once a day.

The answer is the newest release of the public product whose slug or name is `name`
(case-insensitive). A custom product answers like an unknown name: its existence is nobody
else's business. One query in the usual case, where the name reads as the slug ("CRM Exporter" is
`crm-exporter`); a product named unlike its slug costs one more (the product list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from ..markdown import notes_text
from ..models import Product, Release

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class ProductReader(Protocol):
    def product_with_releases(self, slug: str) -> tuple[Product | None, list[Release]]: ...
    def list_products(self) -> list[Product]: ...


@dataclass(frozen=True)
class LatestRelease:
    version: str
    notes: str

    def body(self) -> dict[str, Any]:
        return {"version": self.version, "notes": self.notes}


def slug_of(name: str) -> str:
    return _NOT_SLUG.sub("-", name.strip().lower()).strip("-")


def latest_release(store: ProductReader, name: str) -> LatestRelease | None:
    """The newest release of the public product called `name`, or None (unknown or custom)."""
    wanted = name.strip().lower()
    if not wanted:
        return None
    product, releases = store.product_with_releases(slug_of(wanted))
    if product is None or wanted not in (product.slug, product.name.lower()):
        named = [p for p in store.list_products() if p.name.lower() == wanted]
        if len(named) != 1:
            return None
        product, releases = store.product_with_releases(named[0].slug)
    if product is None or product.custom or not releases:
        return None
    newest = releases[0]
    return LatestRelease(version=newest.version, notes=notes_text(newest.notes_markdown))
