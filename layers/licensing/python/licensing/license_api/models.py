"""The license API's request and answer models: what the routes validate, what the OpenAPI document
describes, and what the hot path (a validation) checks its request and answer against."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..request_patterns import KEY_PATTERN, SITE_DESCRIPTION, SITE_FORMAT, VERSION_PATTERN


# The request fields every route shares, described once. Their patterns admit exactly what the
# API takes, so a request the document calls valid never gets 400 (licensing/request_patterns.py).
def _key() -> Any:
    return Field(
        min_length=1,
        max_length=200,
        pattern=KEY_PATTERN,
        description="The license key: any case, dashes optional.",
    )


def _site(required: bool = False, what: str = "The site (a URL or a host) the extension runs on.") -> Any:
    return Field(
        ... if required else None,
        min_length=1 if required else None,
        max_length=2048,
        json_schema_extra={"format": SITE_FORMAT},
        description=what + SITE_DESCRIPTION,
    )


def _nonce() -> Any:
    return Field(
        default=None,
        max_length=200,
        description="A fresh random value, echoed in the signed answer (a replayed one carries an old one).",
    )


def _version(what: str) -> Any:
    # PEP 440, as the version is compared by (e.g. 1.2.0, 8.4.1, 2.0.0-beta.1, 9.1+build5).
    return Field(default=None, max_length=64, pattern=VERSION_PATTERN, description=what + " PEP 440.")


class _Model(BaseModel):
    # Built at first use: a function validates a few of these, and a cold start builds only those.
    model_config = ConfigDict(defer_build=True, hide_input_in_errors=True)


class ValidateRequest(_Model):
    key: str = _key()
    product: str | None = Field(
        default=None, max_length=64, description="The product slug of the extension: always send it."
    )
    site: str | None = _site()
    nonce: str | None = _nonce()
    version: str | None = _version("The extension's installed version, recorded as the site's usage.")
    host_version: str | None = _version("The host's version (e.g. EspoCRM's), recorded as the site's usage.")


class ActivateRequest(_Model):
    key: str = _key()
    site: str = _site(True, "The site (a URL or a host) to activate.")
    product: str | None = Field(default=None, max_length=64, description="The product slug of the extension.")
    nonce: str | None = _nonce()


class DeactivateRequest(_Model):
    key: str = _key()
    site: str = _site(True, "The activated site (a URL or a host) to free.")
    nonce: str | None = _nonce()


class UpdatesRequest(_Model):
    key: str = _key()
    product: str = Field(min_length=1, max_length=64, description="The product slug of the extension.")
    site: str | None = _site()
    current_version: str | None = _version("The installed version (e.g. 1.2.0), recorded as usage.")
    host_version: str | None = _version(
        "The host's version (e.g. EspoCRM's): the answer offers the newest release that supports it; "
        "recorded as the site's usage."
    )
    nonce: str | None = _nonce()


class LicenseFileRequest(_Model):
    key: str = _key()
    site: str | None = _site()
    nonce: str | None = _nonce()


class LicenseView(_Model):
    """What a key holder may learn of its license: nothing of the customer, other sites or billing."""

    id: str = Field(description="The license's id.")
    product: str = Field(description="The product slug it licenses.")
    type: str = Field(description="commercial, trial or custom.")
    status: str = Field(description="ACTIVE, PENDING, SUSPENDED, REVOKED or EXPIRED (computed today).")
    starts_on: str = Field(description="The first day of its term (YYYY-MM-DD).")
    ends_on: str = Field(description="The last day of its term (YYYY-MM-DD).")
    days_left: int = Field(description="Days until ends_on (negative once past).")
    updates_until: str = Field(description="The last day whose releases this license may download.")
    max_sites: int = Field(description="How many production sites it may activate.")
    sites_used: int = Field(description="How many production sites are activated.")
    site_active: bool | None = Field(
        description="Whether the request's site is activated (null: none given)."
    )


_CODE = "The validity code (VALID, NOT_FOUND, PENDING, GRACE_PERIOD, EXPIRED, SUSPENDED, REVOKED, ...)."
_DETAIL = "The code, said for a person."
_LICENSE = "The license (null when the key is unknown)."
_ECHO = "The request's nonce, echoed."
_TIMESTAMP = "When the answer was made (UTC, ISO 8601)."


class ValidateAnswer(_Model):
    valid: bool = Field(description="Whether the extension may run (GRACE_PERIOD is still valid).")
    code: str = Field(description=_CODE + " SITE_NOT_ACTIVATED or PRODUCT_MISMATCH.")
    detail: str = Field(description=_DETAIL)
    license: LicenseView | None = Field(description=_LICENSE)
    nonce: str | None = Field(description=_ECHO)
    timestamp: str = Field(description=_TIMESTAMP)


class ActivateAnswer(_Model):
    activated: bool = Field(description="Whether the site is now activated.")
    code: str = Field(description="VALID, or why not: NOT_FOUND, TOO_MANY_SITES, RATE_LIMITED, " + _CODE)
    detail: str = Field(description=_DETAIL)
    license: LicenseView | None = Field(description=_LICENSE)
    nonce: str | None = Field(description=_ECHO)
    timestamp: str = Field(description=_TIMESTAMP)


class DeactivateAnswer(_Model):
    deactivated: bool = Field(description="Whether the site was freed.")
    code: str = Field(description="VALID, or NOT_FOUND when the key or the site is unknown.")
    detail: str = Field(description=_DETAIL)
    license: LicenseView | None = Field(description=_LICENSE)
    nonce: str | None = Field(description=_ECHO)
    timestamp: str = Field(description=_TIMESTAMP)


class LatestRelease(_Model):
    version: str = Field(description="The release's version.")
    released_at: str = Field(description="When it was published (UTC, ISO 8601).")
    notes_markdown: str = Field(description="Its release notes, Markdown.")
    sha256: str = Field(description="The file's SHA-256, hex: check the download against it.")
    size: int = Field(description="The file's size in bytes.")
    download_url: str | None = Field(
        description="A stable link valid for 24 hours (GET /v1/download); null when the license does not "
        "entitle to this release (code says why)."
    )
    download_expires_at: str | None = Field(description="When download_url expires (UTC, ISO 8601).")


class UpdatesAnswer(_Model):
    code: str = Field(description=_CODE)
    update_available: bool = Field(description="Whether latest is newer than current_version.")
    latest: LatestRelease | None = Field(
        description="The newest release that supports host_version (null: none)."
    )
    renewal_brings: str | None = Field(
        default=None,
        description="For an expired license: the newer version a renewal brings (`latest` is the newest "
        "one it may still download).",
    )
    detail: str | None = Field(
        default=None, description="A sentence saying what renewing brings, if anything."
    )
    nonce: str | None = Field(description=_ECHO)
    timestamp: str = Field(description=_TIMESTAMP)


class LicenseFile(_Model):
    kid: str = Field(description="The signing key's id in GET /v1/keys.")
    alg: str = Field(description="Ed25519.")
    payload: str = Field(
        description="Base64 of the JSON {license, issued_at, valid_until}; valid_until never past ends_on."
    )
    signature: str = Field(description="Base64 Ed25519 signature of the payload's bytes.")
    nonce: str | None = Field(description=_ECHO)
    timestamp: str = Field(description=_TIMESTAMP)


class PublicKey(_Model):
    kid: str = Field(description="The key's id, as X-Signature-Key-Id names it.")
    alg: str = Field(description="Ed25519.")
    public_key: str = Field(description="Base64 of the 32 raw bytes of the Ed25519 public key.")


class PublicKeys(_Model):
    keys: list[PublicKey] = Field(
        description="The signing key and, during a rotation, the next or previous one."
    )


class Health(_Model):
    status: str = Field(description="ok")


class EspoCrmRelease(_Model):
    version: str = Field(
        description="The newest release's version; EspoCRM compares it with the installed one."
    )
    notes: str = Field(description="Its release notes, as plain text.")
