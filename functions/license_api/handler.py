"""The /v1 license API: what installed extensions call (API.md section 2). Also answers unknown
routes ($default). Every /v1/licenses/* answer is signed with Ed25519 over its exact body."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

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


class LicenseView(BaseModel):
    id: str
    product: str
    type: str
    status: str
    starts_on: str
    ends_on: str
    days_left: int
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


@lru_cache(maxsize=1)
def dependencies() -> tuple[Any, Any, Any]:
    from licensing.adapters.dynamo import DynamoStore
    from licensing.adapters.events import EventBridgePublisher
    from licensing.adapters.stripe_api import secret_values
    from licensing.settings import get_settings
    from licensing.signing import Signer

    settings = get_settings()
    seed = settings.signing_key or ""
    if settings.signing_key_secret_arn:
        seed = next(iter(secret_values(settings.signing_key_secret_arn)), "")
    return (
        DynamoStore(settings.table_name),
        EventBridgePublisher(settings.event_bus_name),
        Signer.from_seed_hex(seed),
    )


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    # Serialized by the resolver (validated against the route's answer model); signed afterwards,
    # over the exact bytes, in `sign`.
    return Response(status_code=status, content_type=JSON, body=body)


def _now() -> tuple[Any, str]:
    from licensing.dates import iso_timestamp, utc_now

    moment = utc_now()
    return moment.date(), iso_timestamp(moment)


@app.get("/v1/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/v1/keys")
def keys() -> dict[str, Any]:
    """The public keys that verify signed answers (`X-Signature-Key-Id` names one)."""
    _, _, signer = dependencies()
    return {"keys": [signer.jwk()]}


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi() -> dict[str, Any]:
    """The OpenAPI 3 document of every /v1 route, generated from the code."""
    document: dict[str, Any] = json.loads(app.get_openapi_json_schema())
    return document


@app.post("/v1/licenses/validate")
def validate(request: Annotated[ValidateRequest, Body()]) -> Response[ValidateAnswer]:
    """Whether a key is valid for a product and a site. 200 for every well-formed request."""
    from licensing.services.validation import license_view
    from licensing.services.validation import validate as validate_key

    store, _, _ = dependencies()
    today, timestamp = _now()
    answer = validate_key(store, key=request.key, product=request.product, site=request.site, today=today)
    return _json(
        200,
        {
            "valid": answer.valid,
            "code": answer.code,
            "detail": answer.detail,
            "license": license_view(answer.license, today, answer.host),
            "nonce": request.nonce,
            "timestamp": timestamp,
        },
    )


@app.post("/v1/licenses/activate")
def activate(request: Annotated[ActivateRequest, Body()]) -> Response[ActivateAnswer]:
    """Activate a site within the license's limit; development hosts are always free."""
    from licensing.services.validation import activate as activate_site
    from licensing.services.validation import license_view

    store, events, _ = dependencies()
    today, timestamp = _now()
    answer = activate_site(store, key=request.key, site=request.site, product=request.product, today=today)
    if answer.events:
        events.publish(answer.events)
    return _json(
        answer.status,
        {
            "activated": answer.status == 200,
            "code": answer.code,
            "detail": answer.detail,
            "license": license_view(answer.license, today, answer.host),
            "nonce": request.nonce,
            "timestamp": timestamp,
        },
    )


@app.post("/v1/licenses/deactivate")
def deactivate(request: Annotated[DeactivateRequest, Body()]) -> Response[DeactivateAnswer]:
    """Free a site's slot; 404 when the key or the site is unknown."""
    from licensing.services.validation import deactivate as deactivate_site
    from licensing.services.validation import license_view

    store, _, _ = dependencies()
    today, timestamp = _now()
    answer = deactivate_site(store, key=request.key, site=request.site)
    return _json(
        answer.status,
        {
            "deactivated": answer.status == 200,
            "code": answer.code,
            "detail": answer.detail,
            "license": license_view(answer.license, today, answer.host) if answer.status == 200 else None,
            "nonce": request.nonce,
            "timestamp": timestamp,
        },
    )


def sign(result: dict[str, Any], path: str) -> dict[str, Any]:
    """Sign the exact body bytes of every /v1/licenses/* answer, errors included."""
    if not path.startswith(SIGNED_PREFIXES) or result.get("isBase64Encoded"):
        return result
    _, _, signer = dependencies()
    body = str(result.get("body") or "").encode()
    headers = result.setdefault("headers", {})
    headers["X-Signature"] = signer.sign(body)
    headers["X-Signature-Key-Id"] = signer.kid
    return result


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return sign(app.resolve(event, context), str(event.get("rawPath", "")))
