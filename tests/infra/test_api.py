"""The HTTP API: every catalogue route to its function's alias, the $default 404, a throttle per
route, access logs, and the custom domain with the default endpoint disabled."""

from __future__ import annotations

import json

import pytest

from infra import constants
from infra.api import ACCESS_LOG_FORMAT, route_key
from licensing import catalogue
from tests.infra.conftest import PRODUCTION, Deployment


@pytest.mark.parametrize(
    ("route", "key"),
    [
        ("$default", "$default"),
        ("ANY /portal/{proxy+}", "ANY /portal/{proxy+}"),
        ("POST /v1/licenses/validate", "POST /v1/licenses/validate"),
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
        # The alias: a deploy switches code and layers for every route at once.
        alias_id, _ = deployment.alias(function_name)
        assert integration["IntegrationUri"] == {"Ref": alias_id}
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
    alias_id, _ = stack.alias("portal")
    assert integration["IntegrationUri"] == {"Ref": alias_id}


def test_api_gateway_may_invoke_each_routed_function(deployment: Deployment) -> None:
    permissions = [p["Properties"] for p in deployment.resources("AWS::Lambda::Permission").values()]
    for spec in deployment.functions:
        if not spec.routes:
            continue
        alias_id, _ = deployment.alias(spec.name)
        assert any(
            p["Principal"] == "apigateway.amazonaws.com" and p["FunctionName"] == {"Ref": alias_id}
            for p in permissions
        ), spec.name


def test_default_stage_is_throttled_and_logs_access_without_query_strings(stack: Deployment) -> None:
    (stage,) = [s["Properties"] for s in stack.resources("AWS::ApiGatewayV2::Stage").values()]
    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True
    portal = catalogue.THROTTLE_PORTAL
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": portal.burst,
        "ThrottlingRateLimit": portal.rate_per_second,
    }
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


def _stage(deployment: Deployment) -> dict:
    (stage,) = [s["Properties"] for s in deployment.resources("AWS::ApiGatewayV2::Stage").values()]
    return stage


def test_every_route_but_default_has_the_throttle_of_its_catalogue_entry(deployment: Deployment) -> None:
    settings = _stage(deployment)["RouteSettings"]
    expected = {
        route: {
            "ThrottlingRateLimit": spec.throttle(route).rate_per_second,
            "ThrottlingBurstLimit": spec.throttle(route).burst,
        }
        for spec in deployment.functions
        for route in spec.routes
        if route != "$default"
    }
    assert settings == expected
    # The stage may name a route only once it exists.
    depends_on = next(iter(deployment.resources("AWS::ApiGatewayV2::Stage").values()))["DependsOn"]
    routes = set(deployment.resources("AWS::ApiGatewayV2::Route"))
    assert routes - {r for r in routes if "default" in r.lower()} <= set(depends_on)


def test_validation_has_a_bucket_apart_from_activation_and_downloads(stack: Deployment) -> None:
    settings = _stage(stack)["RouteSettings"]
    validate = settings["POST /v1/licenses/validate"]
    assert validate["ThrottlingRateLimit"] > settings["POST /v1/licenses/activate"]["ThrottlingRateLimit"]
    assert settings["GET /v1/download"] != validate
    assert (
        settings["POST /webhooks/stripe"]["ThrottlingRateLimit"] == catalogue.THROTTLE_WEBHOOK.rate_per_second
    )
    # Every /v1 route of API.md section 2 is a route of its own, no catch-all proxy.
    assert not [route for route in settings if "{proxy+}" in route and route.startswith("ANY /v1")]


def test_without_a_domain_the_default_endpoint_serves_and_no_domain_exists(stack: Deployment) -> None:
    (api,) = stack.resources("AWS::ApiGatewayV2::Api").values()
    assert api["Properties"].get("DisableExecuteApiEndpoint") in (None, False)
    assert not stack.resources("AWS::ApiGatewayV2::DomainName")
    assert api["Properties"]["Name"] == "dev-licensing"


def test_with_a_domain_the_api_answers_there_only(production: Deployment) -> None:
    ((api_id, api),) = production.resources("AWS::ApiGatewayV2::Api").items()
    assert api["Properties"]["DisableExecuteApiEndpoint"] is True
    assert api["Properties"]["Name"] == "prod-licensing"
    ((domain_id, domain),) = production.resources("AWS::ApiGatewayV2::DomainName").items()
    assert domain["Properties"]["DomainName"] == PRODUCTION["domain"]
    (configuration,) = domain["Properties"]["DomainNameConfigurations"]
    assert configuration["CertificateArn"] == PRODUCTION["certificate_arn"]
    assert configuration["EndpointType"] == "REGIONAL"
    assert configuration["SecurityPolicy"] == "TLS_1_2"
    (mapping,) = production.resources("AWS::ApiGatewayV2::ApiMapping").values()
    assert mapping["Properties"]["ApiId"] == {"Ref": api_id}
    assert mapping["Properties"]["DomainName"] == {"Ref": domain_id}
    outputs = production.json["Outputs"]
    assert outputs[constants.API_URL_OUTPUT]["Value"] == f"https://{PRODUCTION['domain']}"
    # The DNS target the operator points the domain at.
    target = [o["Value"] for key, o in outputs.items() if constants.DOMAIN_TARGET_OUTPUT in key]
    assert target == [{"Fn::GetAtt": [domain_id, "RegionalDomainName"]}]


def test_the_public_base_url_of_every_function_follows_the_domain(
    stack: Deployment, production: Deployment
) -> None:
    api = stack.logical_id(f"{constants.API}{constants.HTTP_API}", "AWS::ApiGatewayV2::Api")
    for spec in stack.functions:
        default = stack.function(spec.name)[1]["Properties"]["Environment"]["Variables"]
        assert default[constants.ENV_PUBLIC_BASE_URL] == {"Fn::GetAtt": [api, "ApiEndpoint"]}
        custom = production.function(spec.name)[1]["Properties"]["Environment"]["Variables"]
        assert custom[constants.ENV_PUBLIC_BASE_URL] == f"https://{PRODUCTION['domain']}"
