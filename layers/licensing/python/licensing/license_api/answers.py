"""What the license API's answers share, with no HTTP framework: the moment an answer is decided, the
shape of validate, activate and deactivate answers, a validation's whole answer, and its JSON as
Powertools' resolver writes it (so the hot path and the resolver's route answer the same bytes)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from pydantic import BaseModel

from ..adapters.dynamo import DynamoStore
from ..dates import iso_timestamp, utc_now
from ..services import usage, validation
from ..services.validation import Answer, license_view
from .models import ValidateRequest


def now() -> tuple[date, str]:
    moment = utc_now()
    return moment.date(), iso_timestamp(moment)


def site_answer(
    outcome: str,
    status: int,
    answer: Answer,
    nonce: str | None,
    moment: tuple[date, str],
    *,
    shown: bool = True,
) -> dict[str, Any]:
    """The shared shape of validate, activate and deactivate answers, `outcome` first; `moment` is
    the (day, timestamp) the answer was decided at; `status` the HTTP status it goes with."""
    today, timestamp = moment
    return {
        outcome: answer.valid if outcome == "valid" else status == 200,
        "code": answer.code,
        "detail": answer.detail,
        "license": license_view(answer.license, today, answer.host) if shown else None,
        "nonce": nonce,
        "timestamp": timestamp,
    }


def validate(store: DynamoStore, request: ValidateRequest) -> dict[str, Any]:
    """The answer to a validation (always 200): whether the key is valid for the product and site.
    The site's usage is recorded after the answer is decided, and never fails it."""
    moment = now()
    answer = validation.validate(
        store, key=request.key, product=request.product, site=request.site, today=moment[0]
    )
    body = site_answer("valid", 200, answer, request.nonce, moment)
    # One conditional write at most, per site and day.
    usage.record_usage(
        store,
        answer.license,
        answer.host,
        answer.code,
        today=moment[0],
        version=request.version,
        host_version=request.host_version,
    )
    return body


def to_json(model: type[BaseModel], body: dict[str, Any]) -> str:
    """`body` checked against its answer model and written as the resolver writes a route's answer
    (the model's fields in order, JSON types, no spaces)."""
    checked = model.model_validate(body).model_dump(mode="json", by_alias=True)
    return json.dumps(checked, separators=(",", ":"))
