"""The /v1 license API: what installed extensions call (API.md section 2). Also answers unknown
routes ($default). Every /v1/licenses/* answer is signed with Ed25519 over its exact body.

A well-formed validation, the call every installed extension makes, is answered here with the
request model, the store and the signer alone. Every other request (another route, a body the
model refuses, an error) goes to Powertools' resolver of every route (`licensing.license_api.routes`),
which a function instance imports at its first such request. So a cold start that validates does
not pay for the resolver and its OpenAPI machinery, and the answer is the same: the resolver's
validate route calls the same `answers.validate`, and `to_json` writes what the resolver writes."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

import licensing.signing  # noqa: F401  (every answer is signed: cryptography in the init phase)
from licensing import wiring
from licensing.bodies import read_json_object
from licensing.http import count_status, error_of, proxy_answer, request_id_of
from licensing.http import logger as package_logger
from licensing.license_api import answers
from licensing.license_api.models import ValidateAnswer, ValidateRequest

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="license_api")

SIGNED_PREFIXES = ("/v1/licenses/", "/v1/updates")
VALIDATE = "/v1/licenses/validate"


@cache
def routes() -> APIGatewayHttpResolver:
    """Powertools' resolver with every route, imported once per instance, at its first request that
    is not a well-formed validation."""
    from licensing.license_api.routes import app

    return app


def validation_answer(event: dict[str, Any], data: dict[str, Any] | None) -> dict[str, Any] | None:
    """The answer to a well-formed validation (`data`: its body's JSON object, read once), or None when
    the request is anything else (the resolver answers it, a 400 included: it reads the body
    itself, and nothing was written)."""
    if data is None or event.get("rawPath") != VALIDATE:
        return None
    try:
        request = ValidateRequest.model_validate(data)
    except ValueError:  # pydantic's ValidationError is one
        return None
    request_id = request_id_of(event)
    for each in (logger, package_logger):  # as the resolver's middleware does: the id finds the lines
        each.append_keys(request_id=request_id)
    try:
        status, body = 200, answers.to_json(ValidateAnswer, answers.validate(wiring.store(), request))
    except Exception as error:  # answered in the contract's shape, as the resolver's handlers do
        status, body = error_of(error)
    count_status(status, str(event.get("routeKey") or ""))
    return proxy_answer(status, body, request_id)


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
    body = read_json_object(event)  # a POST's body, read once; or the answer that refuses it
    answer = body.refusal or validation_answer(event, body.value) or routes().resolve(event, context)
    return sign(answer, str(event.get("rawPath", "")))
