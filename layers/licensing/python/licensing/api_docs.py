"""What the license API's OpenAPI document says beyond the routes' own models: the error shape, the
statuses each route really answers, and the headers of signed answers (API.md section 2).

Routes declare their answers with `responses(...)`; `finish(document)` drops what the resolver adds
on its own but never answers (its 422 "Validation Error": this API answers 400 in the error shape).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

JSON = "application/json"


class _Documented(BaseModel):
    # Only documents the answers (never reads a request); as every model, keeps values out of errors.
    model_config = ConfigDict(hide_input_in_errors=True)


class ErrorBody(_Documented):
    code: str = Field(
        description="What went wrong, for code to branch on: e.g. INVALID_REQUEST, NOT_FOUND, LINK_EXPIRED, "
        "UNSUPPORTED_MEDIA_TYPE, CONFLICT, INTERNAL_ERROR, TEMPORARILY_UNAVAILABLE."
    )
    message: str = Field(description="What went wrong, for a person.")
    details: list[dict[str, Any]] = Field(
        description="For INVALID_REQUEST, one {field, message} per invalid field; otherwise usually empty."
    )


class ErrorAnswer(_Documented):
    """Every refusal that is not a validation answer: 4xx (do not retry as is) and 5xx (retry later)."""

    error: ErrorBody


_STRING = {"type": "string"}
REQUEST_ID = {
    "X-Request-Id": {"description": "The request's id: quote it when asking for help.", "schema": _STRING}
}
SIGNATURE = {
    "X-Signature": {
        "description": "Base64 Ed25519 signature of the exact response body bytes; verify it with the key "
        "of GET /v1/keys that X-Signature-Key-Id names, and check the echoed nonce.",
        "required": True,
        "schema": _STRING,
    },
    "X-Signature-Key-Id": {
        "description": "The kid of the signing key in GET /v1/keys.",
        "required": True,
        "schema": _STRING,
    },
}

ERRORS = {
    400: "The request is malformed (INVALID_REQUEST, with `details`): not UTF-8, not JSON, not an "
    "object, too deep, or a field of the wrong type, length or form. Nothing was written.",
    403: "Refused for the license's state.",
    404: "Not found.",
    409: "The license kept changing under concurrent requests (CONFLICT): try again.",
    410: "The link has expired (LINK_EXPIRED): check for updates again for a fresh one.",
    415: "The body is not sent as JSON (UNSUPPORTED_MEDIA_TYPE): use Content-Type: application/json.",
    500: "A fault on our side (INTERNAL_ERROR): retry later.",
    503: "Storage is briefly unavailable or throttled (TEMPORARILY_UNAVAILABLE): retry later.",
}
SERVER = (500, 503)


def _headers(signed: bool) -> dict[str, Any]:
    return {**REQUEST_ID, **(SIGNATURE if signed else {})}


def error(status: int, *, signed: bool, description: str | None = None) -> dict[str, Any]:
    """An answer in the error shape."""
    return {
        "description": description or ERRORS[status],
        "headers": _headers(signed),
        "content": {JSON: {"model": ErrorAnswer}},
    }


def answer(description: str, *, signed: bool, model: Any | None = None) -> dict[str, Any]:
    """An answer with the route's own model (`model` None: the route's return type)."""
    documented: dict[str, Any] = {"description": description, "headers": _headers(signed)}
    if model is not None:
        documented["content"] = {JSON: {"model": model}}
    return documented


def only(ok: dict[str, Any]) -> dict[int, Any]:
    """A route whose one answer is its success (nothing it reads can fail)."""
    return {200: ok}


def responses(
    ok: dict[str, Any], *errors: int, signed: bool, ok_status: int = 200, **answers: dict[str, Any]
) -> dict[int, Any]:
    """A route's every answer: its success, its errors in the error shape (the server's 5xx always),
    and `answers` keyed `s<status>` for other answers in the route's own shape."""
    documented: dict[int, Any] = {ok_status: ok}
    documented |= {int(name.removeprefix("s")): value for name, value in answers.items()}
    for status in (*errors, *SERVER):
        documented.setdefault(status, error(status, signed=signed))
    return dict(sorted(documented.items()))


def finish(document: dict[str, Any]) -> dict[str, Any]:
    """The generated document without the resolver's own 422 answers and their schemas, which this
    API never gives (its validation errors are 400 in the error shape)."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(name, None)
    return document
