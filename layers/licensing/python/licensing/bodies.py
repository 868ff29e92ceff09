"""Refusing a JSON POST whose body cannot be read before any handler sees it: not JSON by its
Content-Type (415), not UTF-8, not JSON, nested deeper than any request of the contract, or not
an object (400). Each in the contract's error shape, so a client is told and nothing is written
(the parser's own errors, UnicodeDecodeError and RecursionError, would otherwise be a 500 that
tells the client to retry)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from .http import JSON, error_body, proxy_answer, request_id_of

# The deepest body of the contract is two levels; anything far deeper is not a request of ours.
MAX_DEPTH = 32


def _depth(value: Any) -> int:
    depth, level = 0, [value]
    while level:
        depth += 1
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
    return depth


@dataclass(frozen=True)
class JsonBody:
    """What a request's body was read as: the JSON object of a POST, or the answer that refuses
    an unreadable one; neither for a request that is not a POST."""

    value: dict[str, Any] | None = None
    refusal: dict[str, Any] | None = None


def _refused(event: dict[str, Any], status: int, code: str, message: str) -> JsonBody:
    return JsonBody(refusal=proxy_answer(status, error_body(code, message), request_id_of(event)))


def read_json_object(event: dict[str, Any]) -> JsonBody:
    """A POST's body read once, as a JSON object or refused (the handlers read it from here)."""
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "")
    if method != "POST":
        return JsonBody()
    headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", JSON).split(";")[0].strip().lower()
    if media_type != JSON and not media_type.endswith("+json"):
        return _refused(
            event, 415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as JSON (Content-Type: application/json)."
        )
    raw = event.get("body") or ""
    try:
        data = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw.encode("utf-8")
        text = data.decode("utf-8")
    except (binascii.Error, UnicodeError):
        return _refused(event, 400, "INVALID_REQUEST", "The body is not UTF-8 text.")
    try:
        body = json.loads(text)
    except RecursionError:
        return _refused(event, 400, "INVALID_REQUEST", "The body is nested too deeply.")
    except ValueError:
        return _refused(event, 400, "INVALID_REQUEST", "The body is not valid JSON.")
    if not isinstance(body, dict):
        return _refused(event, 400, "INVALID_REQUEST", "The body is not a JSON object.")
    if _depth(body) > MAX_DEPTH:
        return _refused(event, 400, "INVALID_REQUEST", "The body is nested too deeply.")
    return JsonBody(value=body)
