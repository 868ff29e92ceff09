"""Publishing releases: the file goes to the private bucket, the release into the catalogue."""

from __future__ import annotations

import hashlib
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
    if any(ord(char) < 32 or ord(char) == 127 for char in filename):
        raise InvalidInput("the release file's name holds a control character (a line break, a tab)")
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
    import uuid

    return ReleasePublished(
        product=release.product,
        version=release.version,
        # Each announcement walks the list afresh (a re-announcement after a failure too); its
        # pages are told apart from another run's, and the ledger still mails nobody twice.
        run=uuid.uuid4().hex,
        dedupe_key=f"ReleasePublished:{release.product}:{release.version}",
    )


class FanOutStore(Protocol):
    def active_license_page(
        self, product: str, *, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[Any], dict[str, Any] | None]: ...
    def get_claim(self, key: str) -> dict[str, Any] | None: ...
    def claim(self, key: str, *, ttl_days: int, detail: dict[str, Any] | None = None) -> bool: ...
    def remember(self, key: str, detail: dict[str, Any], *, ttl_days: int) -> None: ...
    def add_release_tally(self, product: str, version: str, counts: dict[str, int]) -> None: ...
    def mark_release_tally(self, product: str, version: str, **fields: Any) -> None: ...


class Publisher(Protocol):
    def publish(self, events: list[Event]) -> None: ...


# A page's marker outlives every redelivery of its event (SQS keeps a message 14 days at most).
PAGE_LEDGER_DAYS = 30


def fan_out_release(store: FanOutStore, events: Publisher, event: ReleasePublished, *, page_size: int) -> int:
    """One page of a release's fan-out: one `ReleaseMail` per account that holds an active license
    of the product among at most `page_size` licenses of the sparse index, then the event of the
    next page (its `cursor`), so that the work of one invocation stays the same whatever the
    audience. Returns the number of licenses read.

    A page redelivered after it handed on is done already; one redelivered midway is announced
    again, and the per-contact ledger mails nobody twice (a contact of several licenses or accounts
    is mailed once per release). Accounts whose every site already runs this version (when the
    sites report their version) are skipped. A custom product's releases reach its one client only.
    """
    product, version = event.product, event.version
    marker = f"fanout:{product}:{version}:{event.run}:{_digest(event.cursor)}"
    state = (store.get_claim(marker) or {}).get("state")
    if state == "handed_on":
        return 0
    licenses, next_cursor = store.active_license_page(product, start=event.cursor, limit=page_size)
    if state is None:
        accounts: dict[str, bool] = {}
        for license in licenses:
            current = accounts.get(license.account_id, True)
            accounts[license.account_id] = current and _runs_version(license, version)
        announcements: list[Event] = [
            ReleaseMail(
                account_id=account_id,
                product=product,
                version=version,
                # Per release, not per account: a contact of two licensed accounts is mailed once.
                dedupe_key=f"ReleaseMail:{product}:{version}",
            )
            for account_id, up_to_date in accounts.items()
            if not up_to_date
        ]
        if announcements:
            events.publish(announcements)
        if store.claim(marker, ttl_days=PAGE_LEDGER_DAYS, detail={"state": "announced"}):
            skipped = sum(1 for up_to_date in accounts.values() if up_to_date)
            store.add_release_tally(
                product, version, {"queued": len(announcements), "skipped": skipped, "pages": 1}
            )
    if next_cursor:
        events.publish(
            [
                ReleasePublished(
                    product=product,
                    version=version,
                    cursor=next_cursor,
                    run=event.run,
                    dedupe_key=event.dedupe_key,
                )
            ]
        )
    else:
        store.mark_release_tally(product, version, fanned_out=True)
    store.remember(marker, {"state": "handed_on"}, ttl_days=PAGE_LEDGER_DAYS)
    return len(licenses)


def _digest(cursor: dict[str, Any] | None) -> str:
    import json

    text = json.dumps(cursor or {}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _runs_version(license: Any, version: str) -> bool:
    """Whether every site of the license reports running `version` or later; False without sites
    or without usage data (then it hears about the release)."""
    sites = list(getattr(license, "sites", {}).values())
    if not sites:
        return False
    target = parse_version(version)
    for site in sites:
        if not site.version:
            return False
        try:
            if parse_version(site.version) < target:
                return False
        except InvalidInput:
            return False
    return True
