"""Downloads of release files, for both routes that give them (the license API's `/v1/download`
link and the portal's download button): one entitlement check, one history entry on the license
that entitles, one short-lived presigned URL."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from ..errors import Forbidden
from ..lifecycle import validity_code
from ..models import HistoryEntry, License, Release
from .updates import PRESIGNED_SECONDS, entitled


class DownloadStore(Protocol):
    def add_history(self, entry: HistoryEntry) -> None: ...


class ReleaseFiles(Protocol):
    def download_url(self, key: str, filename: str, *, expires_in: int = ...) -> str: ...


def entitling_license(licenses: list[License], release: Release, today: date) -> License | None:
    """The first of `licenses` that may download `release` today, if any."""
    return next((lic for lic in licenses if entitled(lic, release, validity_code(lic, today))), None)


def download(
    store: DownloadStore,
    files: ReleaseFiles,
    *,
    licenses: list[License],
    release: Release,
    today: date,
    actor: str,
) -> str:
    """A presigned URL of the release file (minutes), recorded in the history of the license that
    entitles to it; Forbidden when none does (revoked or suspended since the link was made)."""
    license = entitling_license(licenses, release, today)
    if license is None:
        raise Forbidden("This license no longer entitles to this download.")
    store.add_history(
        HistoryEntry(
            license_id=license.id,
            actor=actor,
            action="downloaded",
            detail={"version": release.version},
            customer_visible=True,
        )
    )
    return files.download_url(release.file_key, release.filename, expires_in=PRESIGNED_SECONDS)
