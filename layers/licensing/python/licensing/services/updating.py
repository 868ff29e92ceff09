"""One optimistic update of a license: read, change, write if nobody wrote in between, retry."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from ..errors import Conflict, NotFound, TransientError
from ..models import HistoryEntry, License

ATTEMPTS = 4

Change = Callable[[License], tuple[License, list[HistoryEntry]]]


class LicenseStore(Protocol):
    def get_license(self, license_id: str) -> License | None: ...
    def save_license(
        self, license: License, history: Iterable[HistoryEntry] = (), refs: Iterable[str] = ()
    ) -> License: ...


def update_license(store: LicenseStore, license_id: str, change: Change) -> tuple[License, License]:
    """Apply `change` to the current license and save it with its history, retrying when another
    write came in between; returns (the license before, the license as saved). `change` raises a
    domain error to refuse, and then nothing is written."""
    for _ in range(ATTEMPTS):
        before = store.get_license(license_id)
        if before is None:
            raise NotFound(f"no license {license_id}")
        changed, history = change(before)
        try:
            return before, store.save_license(changed, history)
        except Conflict:
            continue
    raise TransientError("the license kept changing; try again")
