"""Changing a stored license safely: read it, decide, and write only if nobody changed it since
(the store's optimistic lock on its revision); a write that loses a race reads and decides again,
so that no decision is ever made on a stale license."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from ..errors import Conflict, LicensingError, NotFound, TransientError
from ..models import HistoryEntry, License

T = TypeVar("T")
ATTEMPTS = 4


class LicenseWriter(Protocol):
    def get_license(self, license_id: str) -> License | None: ...

    def save_license(
        self,
        license: License,
        history: Iterable[HistoryEntry] = ...,
        refs: Iterable[str] = ...,
        *,
        guard: str | None = ...,
    ) -> License: ...


@dataclass(frozen=True)
class Change:
    """What a decision writes: the changed license, its history entries, the Stripe references to
    link, and a once-only claim written in the same transaction (Conflict when already taken)."""

    license: License
    history: list[HistoryEntry] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    guard: str | None = None


@dataclass(frozen=True)
class Updated:
    """A saved change: the license as it was read, and as it was saved."""

    read: License
    saved: License


def retry_on_conflict(attempt: Callable[[], T], *, exhausted: LicensingError, attempts: int = ATTEMPTS) -> T:
    """`attempt()`, run again from its first read whenever its write raises Conflict (another
    writer won the race); raises `exhausted` after `attempts` lost races."""
    for _ in range(attempts):
        try:
            return attempt()
        except Conflict:
            continue
    raise exhausted


def update_license(
    store: LicenseWriter,
    license_id: str,
    change: Callable[[License], Change | None],
    *,
    attempts: int = ATTEMPTS,
    exhausted: LicensingError | None = None,
) -> Updated | None:
    """Apply `change` to the current license and save what it decides, retrying on lost races.

    `change` sees the license as stored now and returns the Change to write, or None when nothing
    is to change (then nothing is written and None is returned). Raises NotFound when there is no
    such license, and `exhausted` (a TransientError by default) when every attempt lost its race.
    """

    def attempt() -> Updated | None:
        license = store.get_license(license_id)
        if license is None:
            raise NotFound(f"license {license_id} disappeared")
        decided = change(license)
        if decided is None:
            return None
        saved = store.save_license(decided.license, decided.history, decided.refs, guard=decided.guard)
        return Updated(read=license, saved=saved)

    return retry_on_conflict(
        attempt,
        attempts=attempts,
        exhausted=exhausted or TransientError("the license kept changing; retry"),
    )
