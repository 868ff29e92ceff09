"""The validity codes of license answers (API.md section 2), in one enum."""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    VALID = "VALID"
    NOT_FOUND = "NOT_FOUND"
    PENDING = "PENDING"
    GRACE_PERIOD = "GRACE_PERIOD"
    EXPIRED = "EXPIRED"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"
    PRODUCT_MISMATCH = "PRODUCT_MISMATCH"
    SITE_NOT_ACTIVATED = "SITE_NOT_ACTIVATED"
    TOO_MANY_SITES = "TOO_MANY_SITES"
    RATE_LIMITED = "RATE_LIMITED"


DETAILS: dict[Code, str] = {
    Code.VALID: "The license is valid.",
    Code.NOT_FOUND: "No license has this key.",
    Code.PENDING: "The license awaits its payment.",
    Code.GRACE_PERIOD: "The license has ended and is in its grace period: renew it to keep updates.",
    Code.EXPIRED: "The license has expired.",
    Code.SUSPENDED: "The license is suspended.",
    Code.REVOKED: "The license has been revoked.",
    Code.PRODUCT_MISMATCH: "The key belongs to another product.",
    Code.SITE_NOT_ACTIVATED: "The license is not activated for this site.",
    Code.TOO_MANY_SITES: "The license's site limit is reached: deactivate a site first.",
    Code.RATE_LIMITED: "Too many new sites activated with this key today: try again tomorrow.",
}
