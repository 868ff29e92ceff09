"""Staff changes of a license, on the one optimistic update (`services.licenses.update_license`):
`change` returns the changed license and its history, or raises a domain error to refuse."""

from __future__ import annotations

from collections.abc import Callable

from ..models import HistoryEntry, License
from .licenses import Change as Decision
from .licenses import LicenseWriter as LicenseStore
from .licenses import update_license as _update

Change = Callable[[License], tuple[License, list[HistoryEntry]]]

__all__ = ["Change", "LicenseStore", "update_license"]


def update_license(store: LicenseStore, license_id: str, change: Change) -> tuple[License, License]:
    """Apply `change` and save it, retrying lost races; returns (the license before, as saved)."""

    def decide(license: License) -> Decision:
        changed, history = change(license)
        return Decision(changed, list(history))

    updated = _update(store, license_id, decide)
    assert updated is not None  # `decide` always decides a change
    return updated.read, updated.saved
