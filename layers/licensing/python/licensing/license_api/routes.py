"""Powertools' resolver with every route of the license API, and the OpenAPI document generated from
them. Every /v1/licenses/* answer is signed, over its exact body, by the function's handler."""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from .. import api_docs, wiring
from ..adapters.dynamo import DynamoStore
from ..adapters.events import EventBridgePublisher
from ..adapters.s3 import S3Files
from ..api_docs import answer, error, responses
from ..codes import Code
from ..dates import iso_timestamp, utc_now
from ..errors import LicensingError, NotFound
from ..services import downloads, usage, validation
from ..services.updates import check_updates, offline_file, read_download_token
from ..services.validation import license_view
from ..signing import Signer
from ..tokens import TokenKey
from ..web import JSON, create_resolver
from . import answers
from .models import (
    ActivateAnswer,
    ActivateRequest,
    DeactivateAnswer,
    DeactivateRequest,
    EspoCrmRelease,
    Health,
    LicenseFile,
    LicenseFileRequest,
    PublicKeys,
    UpdatesAnswer,
    UpdatesRequest,
    ValidateAnswer,
    ValidateRequest,
)

# The function's logger (the same one as its handler's: Powertools shares a service's logger).
logger = Logger(service="license_api")
app = create_resolver(function_logger=logger)
app.configure_openapi(
    title="License API",
    version="1.0.0",
    summary="What installed extensions call: validate a key, activate and deactivate sites.",
)

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
    return _json(200, answers.validate(store, request))


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
    moment = answers.now()
    answer = validation.activate(
        store, key=request.key, site=request.site, product=request.product, today=moment[0]
    )
    if answer.events:
        events.publish(answer.events)
    status = 200 if answer.code is Code.VALID else _ACTIVATE_REFUSALS.get(answer.code, 403)
    return _json(status, answers.site_answer("activated", status, answer, request.nonce, moment))


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
    status = 200 if found else 404
    body = answers.site_answer("deactivated", status, answer, request.nonce, answers.now(), shown=found)
    return _json(status, body)


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
        base_url=wiring.settings().require("public_base_url"),
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
