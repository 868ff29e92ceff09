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

from licensing import wiring
from licensing.adapters.dynamo import DynamoStore
from licensing.adapters.events import EventBridgePublisher
from licensing.adapters.s3 import S3Files
from licensing.codes import Code
from licensing.dates import iso_timestamp, utc_now
from licensing.errors import LicensingError, NotFound
from licensing.services import downloads, validation
from licensing.services.updates import check_updates, offline_file, read_download_token
from licensing.services.validation import Answer, license_view
from licensing.signing import Signer
from licensing.web import JSON, create_resolver

logger = Logger(service="license_api")
app = create_resolver()
app.configure_openapi(
    title="License API",
    version="1.0.0",
    summary="What installed extensions call: validate a key, activate and deactivate sites.",
)

SIGNED_PREFIXES = ("/v1/licenses/", "/v1/updates")


class ValidateRequest(BaseModel):
    key: str = Field(min_length=1, max_length=200, description="The license key, any case, dashes optional.")
    product: str | None = Field(default=None, max_length=64, description="The product slug the extension is.")
    site: str | None = Field(default=None, max_length=2048, description="The site (URL or host) it runs on.")
    nonce: str | None = Field(default=None, max_length=200, description="Echoed in the signed answer.")


class ActivateRequest(BaseModel):
    key: str = Field(min_length=1, max_length=200)
    site: str = Field(min_length=1, max_length=2048)
    product: str | None = Field(default=None, max_length=64)
    nonce: str | None = Field(default=None, max_length=200)


class DeactivateRequest(BaseModel):
    key: str = Field(min_length=1, max_length=200)
    site: str = Field(min_length=1, max_length=2048)
    nonce: str | None = Field(default=None, max_length=200)


class UpdatesRequest(BaseModel):
    key: str = Field(min_length=1, max_length=200)
    product: str = Field(min_length=1, max_length=64)
    site: str | None = Field(default=None, max_length=2048)
    current_version: str | None = Field(default=None, max_length=64)
    host_version: str | None = Field(default=None, max_length=64)
    nonce: str | None = Field(default=None, max_length=200)


class LicenseFileRequest(BaseModel):
    key: str = Field(min_length=1, max_length=200)
    site: str | None = Field(default=None, max_length=2048)
    nonce: str | None = Field(default=None, max_length=200)


class LicenseView(BaseModel):
    id: str
    product: str
    type: str
    status: str
    starts_on: str
    ends_on: str
    days_left: int
    updates_until: str = Field(description="The last day whose releases this license may download.")
    max_sites: int
    sites_used: int
    site_active: bool | None


class ValidateAnswer(BaseModel):
    valid: bool
    code: str
    detail: str
    license: LicenseView | None
    nonce: str | None
    timestamp: str


class ActivateAnswer(BaseModel):
    activated: bool
    code: str
    detail: str
    license: LicenseView | None
    nonce: str | None
    timestamp: str


class DeactivateAnswer(BaseModel):
    deactivated: bool
    code: str
    detail: str
    license: LicenseView | None
    nonce: str | None
    timestamp: str


class LatestRelease(BaseModel):
    version: str
    released_at: str
    notes_markdown: str
    sha256: str
    size: int
    download_url: str | None
    download_expires_at: str | None


class UpdatesAnswer(BaseModel):
    code: str
    update_available: bool
    latest: LatestRelease | None
    renewal_brings: str | None = Field(
        default=None,
        description="For an expired license: the newer version a renewal brings (`latest` is the newest "
        "one it may still download).",
    )
    detail: str | None = Field(
        default=None, description="A sentence saying what renewing brings, if anything."
    )
    nonce: str | None
    timestamp: str


class LicenseFile(BaseModel):
    kid: str
    alg: str
    payload: str
    signature: str
    nonce: str | None
    timestamp: str


# The HTTP status of a refused activation; every other refusal is 403.
_ACTIVATE_REFUSALS = {Code.NOT_FOUND: 404, Code.TOO_MANY_SITES: 409, Code.RATE_LIMITED: 429}

Store = Annotated[DynamoStore, Depends(wiring.store)]
Events = Annotated[EventBridgePublisher, Depends(wiring.publisher)]
SignerDep = Annotated[Signer, Depends(wiring.signer)]
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


@app.get("/v1/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/v1/keys")
def keys(signer: SignerDep) -> dict[str, Any]:
    """The public keys that verify signed answers (`X-Signature-Key-Id` names one)."""
    return {"keys": [signer.jwk()]}


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi() -> dict[str, Any]:
    """The OpenAPI 3 document of every /v1 route, generated from the code."""
    document: dict[str, Any] = json.loads(app.get_openapi_json_schema())
    return document


@app.post("/v1/licenses/validate")
def validate(request: Annotated[ValidateRequest, Body()], store: Store) -> Response[ValidateAnswer]:
    """Whether a key is valid for a product and a site. 200 for every well-formed request."""
    moment = _now()
    answer = validation.validate(
        store, key=request.key, product=request.product, site=request.site, today=moment[0]
    )
    return _site_answer("valid", 200, answer, request.nonce, moment)


@app.post("/v1/licenses/activate")
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


@app.post("/v1/licenses/deactivate")
def deactivate(request: Annotated[DeactivateRequest, Body()], store: Store) -> Response[DeactivateAnswer]:
    """Free a site's slot; 404 when the key or the site is unknown."""
    answer = validation.deactivate(store, key=request.key, site=request.site)
    found = answer.code is not Code.NOT_FOUND
    return _site_answer("deactivated", 200 if found else 404, answer, request.nonce, _now(), shown=found)


@app.post("/v1/updates")
def updates(
    request: Annotated[UpdatesRequest, Body()], store: Store, signer: SignerDep
) -> Response[UpdatesAnswer]:
    """The newest release for the caller's host version, with a 24-hour download link when the
    license entitles to it (`code` says why not otherwise)."""
    now = utc_now()
    answer = check_updates(
        store,
        signer,
        key=request.key,
        product=request.product,
        site=request.site,
        current_version=request.current_version,
        host_version=request.host_version,
        now=now,
        base_url=wiring.settings().public_base_url,
    )
    return _json(200, answer.body() | {"nonce": request.nonce, "timestamp": iso_timestamp(now)})


@app.get("/v1/download")
def download(store: Store, signer: SignerDep, files: Files, token: str = "") -> Response[Any]:
    """303 to a fresh presigned URL of the release file; 410 once the link has expired."""
    now = utc_now()
    claims = read_download_token(signer, token, now=now)
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


@app.post("/v1/licenses/file")
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
@app.get("/espocrm/release/latest")
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
