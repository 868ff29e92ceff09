"""Publishing releases: the file goes to the private bucket, the release into the catalogue."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Protocol

from ..errors import Conflict, InvalidInput, NotFound
from ..events import Event, ReleaseMail, ReleasePublished
from ..models import Release
from ..versions import parse_specifier, parse_version


class ReleaseStore(Protocol):
    def get_product(self, slug: str) -> object | None: ...
    def get_release(self, product: str, version: str) -> Release | None: ...
    def put_release(self, release: Release) -> None: ...


class FileStore(Protocol):
    def put(self, key: str, data: bytes, *, content_type: str = ...) -> None: ...


def publish_release(
    store: ReleaseStore,
    files: FileStore,
    *,
    product: str,
    version: str,
    filename: str,
    data: bytes,
    notes_markdown: str = "",
    requires_host: str | None = None,
) -> Release:
    """Upload a release file and record the release (once per version)."""
    parse_version(version)
    if requires_host:
        parse_specifier(requires_host)
    if store.get_product(product) is None:
        raise NotFound(f"No product '{product}'.")
    if not data:
        raise InvalidInput("the release file is empty")
    if store.get_release(product, version) is not None:
        raise Conflict(f"{product} {version} is already published.")
    safe_name = filename.replace("/", "_").replace("\\", "_")
    release = Release(
        product=product,
        version=version,
        file_key=f"releases/{product}/{version}/{safe_name}",
        filename=safe_name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        notes_markdown=notes_markdown,
        requires_host=requires_host,
    )
    files.put(release.file_key, data)
    store.put_release(release)
    return release


def release_published_event(release: Release) -> ReleasePublished:
    """The event after which the license holders of the product hear about the release."""
    return ReleasePublished(
        product=release.product,
        version=release.version,
        dedupe_key=f"ReleasePublished:{release.product}:{release.version}",
    )


class FanOutStore(Protocol):
    def active_licenses(self, product: str) -> Iterable[Any]: ...


class Publisher(Protocol):
    def publish(self, events: list[Event]) -> None: ...


def fan_out_release(store: FanOutStore, events: Publisher, *, product: str, version: str) -> int:
    """One `ReleaseMail` per account that holds an active license of the product (read page by page
    from the sparse index); each is mailed once, so a retried fan-out repeats no email. Returns the
    number of accounts. A custom product's releases reach its one client only."""
    accounts: dict[str, None] = {}
    for license in store.active_licenses(product):
        accounts.setdefault(license.account_id, None)
    announcements: list[Event] = [
        ReleaseMail(
            account_id=account_id,
            product=product,
            version=version,
            # Per release, not per account: a contact of two licensed accounts is mailed once.
            dedupe_key=f"ReleaseMail:{product}:{version}",
        )
        for account_id in accounts
    ]
    if announcements:
        events.publish(announcements)
    return len(announcements)
