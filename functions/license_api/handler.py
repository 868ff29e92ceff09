"""The /v1 license API: what installed extensions call (API.md section 2). Also answers unknown
routes ($default). Every /v1/licenses/* answer is signed with Ed25519 over its exact body."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from licensing import api_docs, wiring
from licensing.adapters.dynamo import DynamoStore
from licensing.adapters.events import EventBridgePublisher
from licensing.adapters.s3 import S3Files
from licensing.api_docs import answer, error, responses
from licensing.codes import Code
from licensing.dates import iso_timestamp, utc_now
from licensing.errors import LicensingError, NotFound
from licensing.request_patterns import KEY_PATTERN, SITE_DESCRIPTION, SITE_FORMAT, VERSION_PATTERN
from licensing.services import downloads, usage, validation
from licensing.services.updates import check_updates, offline_file, read_download_token
from licensing.services.validation import Answer, license_view
from licensing.signing import Signer
from licensing.tokens import TokenKey
from licensing.web import JSON, create_resolver

logger = Logger(service="license_api")
app = create_resolver(function_logger=logger)
app.configure_openapi(
    title="License API",
    version="1.0.0",
    summary="What installed extensions call: validate a key, activate and deactivate sites.",
)

SIGNED_PREFIXES = ("/v1/licenses/", "/v1/updates")


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


class ValidateRequest(BaseModel):
    key: str = _key()
    product: str | None = Field(
        default=None, max_length=64, description="The product slug of the extension: always send it."
    )
    site: str | None = _site()
    nonce: str | None = _nonce()
    version: str | None = _version("The extension's installed version, recorded as the site's usage.")
    host_version: str | None = _version("The host's version (e.g. EspoCRM's), recorded as the site's usage.")


class ActivateRequest(BaseModel):
    key: str = _key()
    site: str = _site(True, "The site (a URL or a host) to activate.")
    product: str | None = Field(default=None, max_length=64, description="The product slug of the extension.")
    nonce: str | None = _nonce()


class DeactivateRequest(BaseModel):
    key: str = _key()
    site: str = _site(True, "The activated site (a URL or a host) to free.")
    nonce: str | None = _nonce()


class UpdatesRequest(BaseModel):
    key: str = _key()
    product: str = Field(min_length=1, max_length=64, description="The product slug of the extension.")
    site: str | None = _site()
    current_version: str | None = _version("The installed version (e.g. 1.2.0), recorded as usage.")
    host_version: str | None = _version(
        "The host's version (e.g. EspoCRM's): the answer offers the newest release that supports it; "
        "recorded as the site's usage."
    )
    nonce: str | None = _nonce()


class LicenseFileRequest(BaseModel):
    key: str = _key()
    site: str | None = _site()
    nonce: str | None = _nonce()


class LicenseView(BaseModel):
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


class ValidateAnswer(BaseModel):
    valid: bool = Field(description="Whether the extension may run (GRACE_PERIOD is still valid).")
    code: str = Field(description=_CODE + " SITE_NOT_ACTIVATED or PRODUCT_MISMATCH.")
    detail: str = Field(description=_DETAIL)
    license: LicenseView | None = Field(description=_LICENSE)
    nonce: str | None = Field(description=_ECHO)
    timestamp: str = Field(description=_TIMESTAMP)


class ActivateAnswer(BaseModel):
    activated: bool = Field(description="Whether the site is now activated.")
    code: str = Field(description="VALID, or why not: NOT_FOUND, TOO_MANY_SITES, RATE_LIMITED, " + _CODE)
    detail: str = Field(description=_DETAIL)
    license: LicenseView | None = Field(description=_LICENSE)
    nonce: str | None = Field(description=_ECHO)
    timestamp: str = Field(description=_TIMESTAMP)


class DeactivateAnswer(BaseModel):
    deactivated: bool = Field(description="Whether the site was freed.")
    code: str = Field(description="VALID, or NOT_FOUND when the key or the site is unknown.")
    detail: str = Field(description=_DETAIL)
    license: LicenseView | None = Field(description=_LICENSE)
    nonce: str | None = Field(description=_ECHO)
    timestamp: str = Field(description=_TIMESTAMP)


class LatestRelease(BaseModel):
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


class UpdatesAnswer(BaseModel):
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


class LicenseFile(BaseModel):
    kid: str = Field(description="The signing key's id in GET /v1/keys.")
    alg: str = Field(description="Ed25519.")
    payload: str = Field(
        description="Base64 of the JSON {license, issued_at, valid_until}; valid_until never past ends_on."
    )
    signature: str = Field(description="Base64 Ed25519 signature of the payload's bytes.")
    nonce: str | None = Field(description=_ECHO)
    timestamp: str = Field(description=_TIMESTAMP)


class PublicKey(BaseModel):
    kid: str = Field(description="The key's id, as X-Signature-Key-Id names it.")
    alg: str = Field(description="Ed25519.")
    public_key: str = Field(description="Base64 of the 32 raw bytes of the Ed25519 public key.")


class PublicKeys(BaseModel):
    keys: list[PublicKey] = Field(
        description="The signing key and, during a rotation, the next or previous one."
    )


class Health(BaseModel):
    status: str = Field(description="ok")


# The HTTP status of a refused activation; every other refusal is 403.
_ACTIVATE_REFUSALS = {Code.NOT_FOUND: 404, Code.TOO_MANY_SITES: 409, Code.RATE_LIMITED: 429}

Store = Annotated[DynamoStore, Depends(wiring.store)]
Events = Annotated[EventBridgePublisher, Depends(wiring.publisher)]
SignerDep = Annotated[Signer, Depends(wiring.signer)]
TokenKeyDep = Annotated[TokenKey, Depends(wiring.token_key)]
Files = Annotated[S3Files, Depends(wiring.files)]


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    # Serialized by the resolver (validated against the route's answer model); signed afterwards,
    # over the exact bytes, in `sign`.
    return Response(status_code=status, content_type=JSON, body=body)


def _now() -> tuple[date, str]:
    moment = utc_now()
    return moment.date(), iso_timestamp(moment)


def _site_answer(
    outcome: str,
    status: int,
    answer: Answer,
    nonce: str | None,
    moment: tuple[date, str],
    *,
    shown: bool = True,
) -> Response[Any]:
    """The shared shape of validate, activate and deactivate answers, `outcome` first; `moment` is
    the (day, timestamp) the answer was decided at."""
    today, timestamp = moment
    return _json(
        status,
        {
            outcome: answer.valid if outcome == "valid" else status == 200,
            "code": answer.code,
            "detail": answer.detail,
            "license": license_view(answer.license, today, answer.host) if shown else None,
            "nonce": nonce,
            "timestamp": timestamp,
        },
    )


@app.get("/v1/health", responses=api_docs.only(answer("The API is up.", signed=False)))
def health() -> Health:
    """Whether the API answers (no storage is read)."""
    return Health(status="ok")


@app.get("/v1/keys", responses=responses(answer("The public keys.", signed=False), signed=False))
def keys() -> PublicKeys:
    """The public keys that verify signed answers (`X-Signature-Key-Id` names one): the current key
    and, during a rotation, the next or previous one."""
    return PublicKeys.model_validate({"keys": [signer.jwk() for signer in wiring.signing_keys()]})


@app.get("/v1/openapi.json", responses=api_docs.only(answer("This document.", signed=False)))
def openapi() -> dict[str, Any]:
    """The OpenAPI 3 document of every /v1 route, generated from the code."""
    return api_docs.finish(json.loads(app.get_openapi_json_schema()))


@app.post(
    "/v1/licenses/validate",
    responses=responses(
        answer("Every well-formed request, valid or not: `valid` and `code` say.", signed=True),
        400,
        415,
        signed=True,
    ),
)
def validate(request: Annotated[ValidateRequest, Body()], store: Store) -> Response[ValidateAnswer]:
    """Whether a key is valid for a product and a site. 200 for every well-formed request."""
    moment = _now()
    answer = validation.validate(
        store, key=request.key, product=request.product, site=request.site, today=moment[0]
    )
    response = _site_answer("valid", 200, answer, request.nonce, moment)
    # After the answer is decided, and never failing it: one conditional write at most, per day.
    usage.record_usage(
        store,
        answer.license,
        answer.host,
        answer.code,
        today=moment[0],
        version=request.version,
        host_version=request.host_version,
    )
    return response


@app.post(
    "/v1/licenses/activate",
    responses=responses(
        answer("Activated (or already was): code VALID.", signed=True),
        400,
        415,
        signed=True,
        s403=answer("Refused for the license's state: code says why.", signed=True, model=ActivateAnswer),
        s404=answer("No license has this key (NOT_FOUND).", signed=True, model=ActivateAnswer),
        s409={
            "description": "The site limit is reached (an answer, code TOO_MANY_SITES), or the license kept "
            "changing under concurrent requests (an error, CONFLICT: try again).",
            "headers": {**api_docs.REQUEST_ID, **api_docs.SIGNATURE},
            "content": {
                api_docs.JSON: {
                    "schema": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/ActivateAnswer"},
                            {"$ref": "#/components/schemas/ErrorAnswer"},
                        ]
                    }
                }
            },
        },
        s429=answer(
            "Too many new production sites for this key today (RATE_LIMITED): try tomorrow.",
            signed=True,
            model=ActivateAnswer,
        ),
    ),
)
def activate(
    request: Annotated[ActivateRequest, Body()], store: Store, events: Events
) -> Response[ActivateAnswer]:
    """Activate a site within the license's limit; development hosts are always free."""
    moment = _now()
    answer = validation.activate(
        store, key=request.key, site=request.site, product=request.product, today=moment[0]
    )
    if answer.events:
        events.publish(answer.events)
    status = 200 if answer.code is Code.VALID else _ACTIVATE_REFUSALS.get(answer.code, 403)
    return _site_answer("activated", status, answer, request.nonce, moment)


@app.post(
    "/v1/licenses/deactivate",
    responses=responses(
        answer("The site was freed.", signed=True),
        400,
        409,
        415,
        signed=True,
        s404=answer("The key or the site is unknown (NOT_FOUND).", signed=True, model=DeactivateAnswer),
    ),
)
def deactivate(request: Annotated[DeactivateRequest, Body()], store: Store) -> Response[DeactivateAnswer]:
    """Free a site's slot; 404 when the key or the site is unknown."""
    answer = validation.deactivate(store, key=request.key, site=request.site)
    found = answer.code is not Code.NOT_FOUND
    return _site_answer("deactivated", 200 if found else 404, answer, request.nonce, _now(), shown=found)


@app.post(
    "/v1/updates",
    responses=responses(
        answer(
            "The newest release for the host; `code` says whether the license may download it.", signed=True
        ),
        400,
        415,
        signed=True,
    ),
)
def updates(
    request: Annotated[UpdatesRequest, Body()], store: Store, token_key: TokenKeyDep
) -> Response[UpdatesAnswer]:
    """The newest release for the caller's host version, with a 24-hour download link when the
    license entitles to it (`code` says why not otherwise)."""
    now = utc_now()
    answer = check_updates(
        store,
        token_key,
        key=request.key,
        product=request.product,
        site=request.site,
        current_version=request.current_version,
        host_version=request.host_version,
        now=now,
        base_url=wiring.settings().public_base_url,
    )
    response = _json(200, answer.body() | {"nonce": request.nonce, "timestamp": iso_timestamp(now)})
    usage.record_usage(
        store,
        answer.license,
        answer.host,
        answer.code,
        today=now.date(),
        version=request.current_version,
        host_version=request.host_version,
    )
    return response


@app.get(
    "/v1/download",
    responses=responses(
        {
            "description": "To a fresh presigned URL of the release file, which lives a few minutes.",
            "headers": {
                **api_docs.REQUEST_ID,
                "Location": {
                    "description": "The presigned URL.",
                    "required": True,
                    "schema": {"type": "string"},
                },
            },
            "content": {},
        },
        400,
        410,
        signed=False,
        ok_status=303,
        s403=error(403, signed=False, description="The license no longer entitles to this release."),
        s404=error(404, signed=False, description="The release is no longer available."),
    ),
)
def download(store: Store, token_key: TokenKeyDep, files: Files, token: str = "") -> Response[Any]:
    """303 to a fresh presigned URL of the release file; 410 once the link has expired."""
    now = utc_now()
    claims = read_download_token(token_key, token, now=now)
    release = store.get_release(claims["p"], claims["v"])
    if release is None:
        raise NotFound("This release is no longer available.")
    license = store.get_license(claims["l"])
    # Revoked or suspended since the link was made: the link dies with the entitlement.
    licenses = [license] if license is not None else []
    url = downloads.download(
        store, files, licenses=licenses, release=release, today=now.date(), actor="extension"
    )
    return Response(status_code=303, headers={"Location": url, "Cache-Control": "no-store"}, body="")


@app.post(
    "/v1/licenses/file",
    responses=responses(
        answer("The signed offline license file.", signed=True),
        400,
        415,
        signed=True,
        s403=error(403, signed=True, description="The license is not valid: the error's code says why."),
        s404=error(404, signed=True, description="No license has this key (NOT_FOUND)."),
    ),
)
def license_file(
    request: Annotated[LicenseFileRequest, Body()], store: Store, signer: SignerDep
) -> Response[LicenseFile]:
    """A signed offline license file, for sites that cannot call the API every time."""
    now = utc_now()
    answer = validation.validate(store, key=request.key, product=None, site=request.site, today=now.date())
    if not answer.valid or answer.license is None:
        error = LicensingError(answer.detail)
        error.code, error.status = answer.code, 404 if answer.code is Code.NOT_FOUND else 403
        raise error
    view = license_view(answer.license, now.date(), answer.host)
    document = offline_file(signer, view or {}, now=now, ends_on=answer.license.ends_on)
    return _json(200, document | {"nonce": request.nonce, "timestamp": iso_timestamp(now)})


class EspoCrmRelease(BaseModel):
    version: str = Field(
        description="The newest release's version; EspoCRM compares it with the installed one."
    )
    notes: str = Field(description="Its release notes, as plain text.")


@app.get("/espocrm/release/latest/", include_in_schema=False)
@app.get(
    "/espocrm/release/latest",
    responses=responses(
        answer("The newest release; cacheable for an hour (also with the trailing slash).", signed=False),
        400,
        signed=False,
        s404=error(404, signed=False, description="No public product has this name."),
    ),
)
def espocrm_latest_release(
    store: Store, name: Annotated[str, Query(max_length=200)] = ""
) -> Response[EspoCrmRelease]:
    """EspoCRM's own update check (`checkVersionUrl` = `{base URL}/espocrm`): the newest release of
    the public product whose name or slug is `name`; 404 for any other name. Cacheable for an hour."""
    from licensing.services.espocrm import latest_release

    latest = latest_release(store, name)
    if latest is None:
        raise NotFound("No public product has this name.")
    answer = _json(200, latest.body())
    answer.headers["Cache-Control"] = "public, max-age=3600"
    return answer


def sign(result: dict[str, Any], path: str) -> dict[str, Any]:
    """Sign the exact body bytes of every /v1/licenses/* answer, errors included."""
    if not path.startswith(SIGNED_PREFIXES) or result.get("isBase64Encoded"):
        return result
    signer = wiring.signer()
    body = str(result.get("body") or "").encode()
    headers = result.setdefault("headers", {})
    headers["X-Signature"] = signer.sign(body)
    headers["X-Signature-Key-Id"] = signer.kid
    return result


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from licensing.bodies import refuse_unreadable_json

    refused = refuse_unreadable_json(event)
    return sign(refused or app.resolve(event, context), str(event.get("rawPath", "")))
