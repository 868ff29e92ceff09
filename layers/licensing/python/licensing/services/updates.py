"""Update checks and downloads for installed extensions (API.md section 2).

A release is downloadable with a license that is VALID or in its GRACE_PERIOD, or EXPIRED when the
release was published on or before the license's end date: customers keep what they paid for. A
custom product's releases only for licenses of that product. The download link is a stable URL
with a signed token valid for 24 hours (updaters cache answers); each use redirects to a presigned
S3 URL that lives a few minutes.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from .. import tokens
from ..dates import iso_timestamp
from ..errors import InvalidInput, LicensingError
from ..lifecycle import EXPIRED, GRACE_PERIOD, VALID, updates_until, validity_code
from ..models import License, Release
from ..signing import Signer
from ..urls import PublicUrls
from ..versions import parse_version, supports_host
from .validation import NOT_FOUND, PRODUCT_MISMATCH, SITE_NOT_ACTIVATED, validate

DOWNLOAD_LINK_LIFETIME = timedelta(hours=24)
# An offline file's signature covers this prefix and the payload, so that no signed API answer
# (signed over its bare body) can pass for an offline file, nor a file for an answer.
OFFLINE_FILE_CONTEXT = b"licensing-offline-file:v1\n"
PRESIGNED_SECONDS = 300
_DOWNLOAD = "download"


class ReleaseReader(Protocol):
    def get_license(self, license_id: str) -> License | None: ...
    def list_releases(self, product: str) -> list[Release]: ...


class LinkExpired(LicensingError):
    code = "LINK_EXPIRED"
    status = 410


def entitled(license: License, release: Release, code: str) -> bool:
    """Whether the license may download the release, given its validity code today."""
    if release.product != license.product:
        return False
    if code in (VALID, GRACE_PERIOD):
        return True
    return code == EXPIRED and release.published_at.date() <= license.ends_on


@dataclass
class UpdateAnswer:
    code: str
    release: Release | None = None
    update_available: bool = False
    download_url: str | None = None
    download_expires_at: str | None = None
    # The license and site the check was for (not in the body): usage is recorded after the answer.
    license: License | None = None
    host: str | None = None
    # The newest release, when it is newer than what an expired license may download.
    renewal_brings: Release | None = None

    def body(self) -> dict[str, Any]:
        latest = None
        if self.release is not None:
            latest = {
                "version": self.release.version,
                "released_at": iso_timestamp(self.release.published_at),
                "notes_markdown": self.release.notes_markdown,
                "sha256": self.release.sha256,
                "size": self.release.size,
                "download_url": self.download_url,
                "download_expires_at": self.download_expires_at,
            }
        body: dict[str, Any] = {
            "code": self.code,
            "update_available": self.update_available,
            "latest": latest,
        }
        newer = self.renewal_brings
        body["renewal_brings"] = newer.version if newer else None
        body["detail"] = (
            f"Version {newer.version} was released after this license ended: renewing brings it."
            if newer
            else None
        )
        return body


def check_updates(
    store: ReleaseReader,
    token_key: tokens.TokenKey,
    *,
    key: str,
    product: str,
    site: str | None = None,
    current_version: str | None,
    host_version: str | None,
    now: datetime,
    base_url: str,
) -> UpdateAnswer:
    """The newest release that supports the caller's host, and a download link when entitled (a
    site that is given must be activated, or a development host, as for a validation)."""
    if current_version is not None:
        parse_version(current_version)
    validation = validate(store, key=key, product=product, site=site, today=now.date())
    license = validation.license
    if license is None:
        return UpdateAnswer(NOT_FOUND)
    if validation.code == PRODUCT_MISMATCH:
        return UpdateAnswer(PRODUCT_MISMATCH)
    code = validation.code
    candidates = [r for r in store.list_releases(product) if supports_host(r.requires_host, host_version)]
    if not candidates:
        return UpdateAnswer(code, license=license, host=validation.host)
    newest = release = candidates[0]
    renewal_brings = None
    if validity_code(license, now.date()) == EXPIRED:
        # Offer what the license still entitles to (published by its end date); renewal brings the rest.
        release = next((r for r in candidates if r.published_at.date() <= updates_until(license)), newest)
        if release is not newest or not entitled(license, release, EXPIRED):
            renewal_brings = newest
    newer = current_version is None or parse_version(release.version) > parse_version(current_version)
    answer = UpdateAnswer(
        code,
        release,
        update_available=newer,
        license=license,
        host=validation.host,
        renewal_brings=renewal_brings,
    )
    if code != SITE_NOT_ACTIVATED and entitled(license, release, code):
        expires = now + DOWNLOAD_LINK_LIFETIME
        token = download_token(token_key, license_id=license.id, release=release, expires=expires)
        answer.download_url = PublicUrls(base_url).download(token)
        answer.download_expires_at = iso_timestamp(expires)
    return answer


def download_token(key: tokens.TokenKey, *, license_id: str, release: Release, expires: datetime) -> str:
    """A signed, self-contained token naming the release file and when the link expires."""
    claims = {"l": license_id, "p": release.product, "v": release.version, "exp": int(expires.timestamp())}
    return tokens.encode(key, _DOWNLOAD, claims)


def read_download_token(key: tokens.TokenKey, token: str, *, now: datetime) -> dict[str, Any]:
    """The token's claims; InvalidInput for a forged or garbled one, LinkExpired after 24 hours."""
    try:
        claims = tokens.decode(key, _DOWNLOAD, token)
        expires = int(claims["exp"])
        str(claims["l"]), str(claims["p"]), str(claims["v"])
    except (tokens.BadToken, KeyError, TypeError, ValueError) as error:
        raise InvalidInput("This download link is not valid.") from error
    if expires < now.timestamp():
        raise LinkExpired("This download link has expired: check for updates again for a fresh one.")
    return claims


def offline_file(
    signer: Signer, license_view: dict[str, Any], *, now: datetime, ends_on: date
) -> dict[str, str]:
    """A signed offline license file: the license, when it was issued, and until when it holds
    (30 days, never past the license's end date)."""
    valid_until = min(now.date() + timedelta(days=30), ends_on)
    payload = json.dumps(
        {"license": license_view, "issued_at": iso_timestamp(now), "valid_until": valid_until.isoformat()},
        separators=(",", ":"),
    ).encode()
    return {
        "kid": signer.kid,
        "alg": "Ed25519",
        "payload": base64.b64encode(payload).decode(),
        "signature": signer.sign(OFFLINE_FILE_CONTEXT + payload),
    }
