"""What installed extensions ask (API.md section 2): is this key valid for this product and site,
activate a site within the license's limit, deactivate one.

A validation is one read: the license id is derived from the key, and the license carries what
validation needs from its product. A key in this system's format with a wrong check character is
refused without any read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from ..codes import DETAILS, Code
from ..errors import Conflict, InvalidInput
from ..events import Event, SiteLimitReached
from ..keys import license_id_for_key, lookup_key
from ..lifecycle import EXPIRED, VALID, days_left, is_valid, keeps_running, updates_until, validity_code
from ..models import HistoryEntry, License, LicenseStatus, Site
from ..sites import is_development_host, normalize_site
from .licenses import retry_on_conflict

NOT_FOUND = Code.NOT_FOUND
PRODUCT_MISMATCH = Code.PRODUCT_MISMATCH
SITE_NOT_ACTIVATED = Code.SITE_NOT_ACTIVATED
TOO_MANY_SITES = Code.TOO_MANY_SITES
RATE_LIMITED = Code.RATE_LIMITED
DAILY_ACTIVATIONS = 10  # new production sites per key per day (API.md)
MAX_DEVELOPMENT_SITES = 50
_ATTEMPTS = 4


class LicenseReader(Protocol):
    def get_license(self, license_id: str) -> License | None: ...


@dataclass
class Answer:
    """A validation, activation or deactivation answer, before it is signed."""

    code: Code
    license: License | None = None
    host: str | None = None
    events: list[Event] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        # EXPIRED is valid for a keep_working product; never without a license (NOT_FOUND).
        return self.license is not None and keeps_running(self.license, self.code)

    @property
    def detail(self) -> str:
        return DETAILS[self.code]


def license_view(license: License | None, today: date, host: str | None) -> dict[str, Any] | None:
    """What a key holder may learn of its license: nothing of the customer, other sites or billing."""
    if license is None:
        return None
    return {
        "id": license.id,
        "product": license.product,
        "type": license.type.value,
        "status": _shown_status(license, today),
        "starts_on": license.starts_on.isoformat(),
        "ends_on": license.ends_on.isoformat(),
        "days_left": days_left(license, today),
        "updates_until": updates_until(license).isoformat(),
        "max_sites": license.max_sites,
        "sites_used": license.sites_used,
        "site_active": (host in license.sites) if host else None,
    }


def _shown_status(license: License, today: date) -> str:
    # Expiry is computed at read time, whatever the daily job has written down yet.
    code = validity_code(license, today)
    return LicenseStatus.EXPIRED.value if code == EXPIRED else license.status.value


def find_license(store: LicenseReader, key: str) -> License | None:
    """The license of a key: None without a read for a mistyped key of this system's format."""
    lookup = lookup_key(key)
    return store.get_license(license_id_for_key(lookup)) if lookup else None


def _site(raw: str | None) -> str | None:
    return normalize_site(raw) if raw is not None else None


def validate(store: LicenseReader, *, key: str, product: str | None, site: str | None, today: date) -> Answer:
    """Whether a key is valid, for a product and a site: always an answer, never an error, but
    for a malformed key or site (InvalidInput)."""
    host = _site(site)
    license = find_license(store, key)
    if license is None:
        return Answer(NOT_FOUND, host=host)
    if product and product != license.product:
        return Answer(PRODUCT_MISMATCH, license, host)
    code = validity_code(license, today)
    activated = host is None or host in license.sites or is_development_host(host, license.development_hosts)
    if keeps_running(license, code) and not activated:
        code = SITE_NOT_ACTIVATED
    return Answer(code, license, host)


def activate(
    store: Any, *, key: str, site: str, product: str | None, today: date, actor: str = "extension"
) -> Answer:
    """Activate a site within the license's limit (development hosts are free, and recorded)."""
    host = _site(site)
    if host is None:
        raise InvalidInput("A site is required.")

    def attempt() -> Answer:
        license = find_license(store, key)
        if license is None:
            return Answer(NOT_FOUND, host=host)
        if product and product != license.product:
            return Answer(PRODUCT_MISMATCH, license, host)
        code = validity_code(license, today)
        if not is_valid(code):
            return Answer(code, license, host)
        if host in license.sites:
            # Activating twice changes nothing; a retry re-announces a full license (mailed once).
            return _with_limit_event(Answer(VALID, license, host), host)
        counted = not is_development_host(host, license.development_hosts)
        if counted and license.sites_used >= license.max_sites:
            return Answer(TOO_MANY_SITES, license, host)
        if not counted and len(license.sites) - license.sites_used >= MAX_DEVELOPMENT_SITES:
            # Free, but not without end: a leaked key must not grow the license item unbounded.
            return Answer(TOO_MANY_SITES, license, host)
        if counted and license.activation_day == today and license.activations_today >= DAILY_ACTIVATIONS:
            return Answer(RATE_LIMITED, license, host)
        entry = HistoryEntry(
            license_id=license.id,
            actor=actor,
            action="site activated",
            detail={"site": host, "counted": counted},
            customer_visible=True,
        )
        new_site = Site(host=host, counted=counted)
        # Conflict: raced with another activation; read again and decide again.
        store.add_site(license, new_site, entry, today=today, daily_cap=DAILY_ACTIVATIONS)
        # The license as the conditional write left it: no second read.
        activated = license.model_copy(
            update={"sites": {**license.sites, host: new_site}, "revision": license.revision + 1}
        )
        return _with_limit_event(Answer(VALID, activated, host), host)

    return retry_on_conflict(
        attempt, attempts=_ATTEMPTS, exhausted=Conflict("The license kept changing; try again.")
    )


def _with_limit_event(answer: Answer, host: str) -> Answer:
    """Tell the account when this site filled the license's last slot."""
    license = answer.license
    if license is not None and license.sites[host].counted and license.sites_used >= license.max_sites:
        answer.events.append(
            SiteLimitReached(
                license_id=license.id,
                account_id=license.account_id,
                product=license.product,
                site=host,
                dedupe_key=f"SiteLimitReached:{license.id}:{host}",
            )
        )
    return answer


def deactivate(store: Any, *, key: str, site: str, actor: str = "extension") -> Answer:
    """Free a site's slot; NOT_FOUND (404) when the key or the site is unknown."""
    host = _site(site)
    if host is None:
        raise InvalidInput("A site is required.")

    def attempt() -> Answer:
        license = find_license(store, key)
        if license is None or host not in license.sites:
            return Answer(NOT_FOUND, license, host)
        entry = HistoryEntry(
            license_id=license.id,
            actor=actor,
            action="site deactivated",
            detail={"site": host},
            customer_visible=True,
        )
        store.remove_site(license, host, entry)  # Conflict: raced; read again and decide again
        remaining = {name: kept for name, kept in license.sites.items() if name != host}
        return Answer(
            VALID, license.model_copy(update={"sites": remaining, "revision": license.revision + 1}), host
        )

    return retry_on_conflict(
        attempt, attempts=_ATTEMPTS, exhausted=Conflict("The license kept changing; try again.")
    )
