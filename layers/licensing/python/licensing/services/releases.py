"""Publishing releases: the file goes to the private bucket, the release into the catalogue."""

from __future__ import annotations

import hashlib
from typing import Protocol

from ..errors import Conflict, InvalidInput, NotFound
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
