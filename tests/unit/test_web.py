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


def _emf_lines(output: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line]


def test_each_error_answer_is_one_4xx_or_5xx_metric_of_its_route(monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Licensing/test-licensing")
    app = create_resolver()

    @app.get("/fine")
    def fine() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/boom")
    def boom() -> None:
        raise TimeoutError("read timed out")

    @app.get("/gone")
    def gone() -> Any:
        from aws_lambda_powertools.event_handler import Response

        return Response(status_code=410, content_type="application/json", body="{}")

    capsys.readouterr()
    statuses = [app.resolve(request(path), CONTEXT)["statusCode"] for path in ("/fine", "/boom", "/gone")]
    assert statuses == [200, 500, 410]
    metrics = _emf_lines(capsys.readouterr().out)
    route = EVENT["routeKey"]
    assert [
        (m["route"], [d["Name"] for d in m["_aws"]["CloudWatchMetrics"][0]["Metrics"]]) for m in metrics
    ] == [
        (route, ["5xx"]),
        (route, ["4xx"]),
    ]
    assert all(m["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Licensing/test-licensing" for m in metrics)
    assert [m.get("5xx", m.get("4xx")) for m in metrics] == [[1.0], [1.0]]  # EMF values: one count each


def test_without_a_namespace_no_metric_is_written(capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    app = create_resolver()
    capsys.readouterr()
    assert app.resolve(request("/nowhere"), CONTEXT)["statusCode"] == 404
    assert _emf_lines(capsys.readouterr().out) == []


def test_the_log_lines_of_a_request_carry_its_request_id(capsys: Any) -> None:
    from aws_lambda_powertools import Logger

    function_logger = Logger(service="test_web_function")
    app = create_resolver(function_logger=function_logger)

    @app.get("/logs")
    def logs() -> dict[str, str]:
        function_logger.warning("something to look at")
        return {}

    capsys.readouterr()
    app.resolve(request("/logs"), CONTEXT)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (line,) = [line for line in lines if line.get("message") == "something to look at"]
    assert line["request_id"] == EVENT["requestContext"]["requestId"]
