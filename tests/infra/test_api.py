"""The HTTP API: every catalogue route to its function, the $default 404, throttling, access logs."""

from __future__ import annotations

import json

import pytest

from infra import constants
from infra.api import ACCESS_LOG_FORMAT, route_key
from tests.infra.conftest import Deployment


@pytest.mark.parametrize(
    ("route", "key"),
    [
        ("$default", "$default"),
        ("ANY /v1/{proxy+}", "ANY /v1/{proxy+}"),
        ("POST /webhooks/stripe", "POST /webhooks/stripe"),
    ],
)
def test_catalogue_routes_become_route_keys(route: str, key: str) -> None:
    assert route_key(route).key == key


def test_each_catalogue_route_reaches_its_function(deployment: Deployment) -> None:
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in deployment.resources("AWS::ApiGatewayV2::Route").values()
    }
    integrations = deployment.resources("AWS::ApiGatewayV2::Integration")
    expected = {route: spec.name for spec in deployment.functions for route in spec.routes}
    assert set(routes) == set(expected)
    for route, function_name in expected.items():
        integration_id = routes[route]["Target"]["Fn::Join"][1][1]["Ref"]
        integration = integrations[integration_id]["Properties"]
        function_id, _ = deployment.function(function_name)
        assert integration["IntegrationUri"] == {"Fn::GetAtt": [function_id, "Arn"]}
        assert integration["IntegrationType"] == "AWS_PROXY"
        assert integration["PayloadFormatVersion"] == "2.0"
        assert routes[route]["AuthorizationType"] == "NONE"


def test_unknown_paths_go_to_the_portal_which_answers_404(stack: Deployment) -> None:
    (default,) = [
        r["Properties"]
        for r in stack.resources("AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["RouteKey"] == "$default"
    ]
    integration_id = default["Target"]["Fn::Join"][1][1]["Ref"]
    integration = stack.resources("AWS::ApiGatewayV2::Integration")[integration_id]["Properties"]
    function_id, _ = stack.function("portal")
    assert integration["IntegrationUri"] == {"Fn::GetAtt": [function_id, "Arn"]}


def test_api_gateway_may_invoke_each_routed_function(deployment: Deployment) -> None:
    permissions = [p["Properties"] for p in deployment.resources("AWS::Lambda::Permission").values()]
    for spec in deployment.functions:
        if not spec.routes:
            continue
        function_id, _ = deployment.function(spec.name)
        assert any(
            p["Principal"] == "apigateway.amazonaws.com"
            and p["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
            for p in permissions
        ), spec.name


def test_default_stage_is_throttled_and_logs_access_without_query_strings(stack: Deployment) -> None:
    (stage,) = [s["Properties"] for s in stack.resources("AWS::ApiGatewayV2::Stage").values()]
    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 50}
    log_group = stack.logical_id(f"{constants.API}{constants.ACCESS_LOGS}", "AWS::Logs::LogGroup")
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": [log_group, "Arn"]}
    access_log_format = json.loads(stage["AccessLogSettings"]["Format"])
    assert access_log_format == ACCESS_LOG_FORMAT
    assert access_log_format["requestId"] == "$context.requestId"
    # Sign-in and download tokens travel in query strings: they must stay out of the logs.
    assert not [value for value in access_log_format.values() if "querystring" in value.lower()]
    assert stack.resources("AWS::Logs::LogGroup")[log_group]["Properties"]["RetentionInDays"] == 90


def test_the_api_url_is_an_output(stack: Deployment) -> None:
    api = stack.logical_id(f"{constants.API}{constants.HTTP_API}", "AWS::ApiGatewayV2::Api")
    assert stack.json["Outputs"][constants.API_URL_OUTPUT]["Value"] == {"Fn::GetAtt": [api, "ApiEndpoint"]}
