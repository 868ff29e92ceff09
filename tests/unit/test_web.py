"""Every answer of an HTTP function keeps the contract: the error shape and X-Request-Id, also
when something unexpected breaks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from licensing import catalogue
from licensing.devserver.functions import LambdaContext
from licensing.errors import TransientError
from licensing.web import create_resolver

EVENT = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "aws-events" / "apiGatewayProxyV2Event_GET.json").read_text()
)


def request(path: str) -> dict[str, Any]:
    event = json.loads(json.dumps(EVENT))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    return event


CONTEXT: Any = LambdaContext(catalogue.Function(name="test", description="a test function"))


def test_an_unexpected_error_is_a_500_in_the_contract_shape() -> None:
    app = create_resolver()

    @app.get("/boom")
    def boom() -> None:
        raise TimeoutError("read timed out")

    @app.get("/busy")
    def busy() -> None:
        raise TransientError("storage is busy")

    answer = app.resolve(request("/boom"), CONTEXT)
    assert answer["statusCode"] == 500
    assert json.loads(answer["body"])["error"]["code"] == "INTERNAL_ERROR"
    assert "timed out" not in answer["body"]
    assert answer["headers"]["X-Request-Id"] == EVENT["requestContext"]["requestId"]
    transient = app.resolve(request("/busy"), CONTEXT)
    assert transient["statusCode"] == 503
    assert json.loads(transient["body"])["error"]["code"] == "TEMPORARILY_UNAVAILABLE"
