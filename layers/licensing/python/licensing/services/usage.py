"""Usage tracking (API.md section 2): each activated site records the day it was last seen and the
extension's and host's versions it sent, at most one write per site per day.

It never slows or fails the answer: the license was already read by the validation, so a site seen
today with the same versions costs no request at all; otherwise one conditional UpdateItem that
DynamoDB skips when a concurrent call wrote today's values first. A failed or throttled write is
logged and forgotten: tomorrow's first call writes again.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from aws_lambda_powertools import Logger

from ..codes import Code
from ..models import License, Site

logger = Logger(service="licensing")


class UsageWriter(Protocol):
    def record_site_usage(
        self, license_id: str, host: str, *, seen_on: date, version: str | None, host_version: str | None
    ) -> bool: ...


def is_recorded(site: Site, *, today: date, version: str | None, host_version: str | None) -> bool:
    """Whether the site as read already says: seen today, with these versions (None: not sent)."""
    return (
        site.last_seen_on == today
        and (version is None or site.version == version)
        and (host_version is None or site.host_version == host_version)
    )


def record_usage(
    store: UsageWriter,
    license: License | None,
    host: str | None,
    code: Code | str,
    *,
    today: date,
    version: str | None,
    host_version: str | None,
) -> bool:
    """Record that an activated site was seen (True when a write was made). Only a site among the
    license's activated sites, and never for another product's key (its versions are not ours)."""
    if license is None or host is None or code == Code.PRODUCT_MISMATCH:
        return False
    site = license.sites.get(host)
    if site is None or is_recorded(site, today=today, version=version, host_version=host_version):
        return False
    try:
        return store.record_site_usage(
            license.id, host, seen_on=today, version=version, host_version=host_version
        )
    except Exception as error:  # usage must never fail the answer it follows
        logger.warning("site usage not recorded", extra={"error_type": type(error).__name__})
        return False
