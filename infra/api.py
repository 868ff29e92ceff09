"""The HTTP API: one route per catalogue route, throttled, with access logs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import jsii
from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import constants
from licensing import catalogue

DEFAULT_ROUTE = "$default"
# The stage served at the API's root URL, without a stage prefix in paths.
DEFAULT_STAGE_NAME = "$default"
THROTTLE_RATE_PER_SECOND = 50
THROTTLE_BURST = 100
ACCESS_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS

# HTTP API context variables. The path is logged, the query string is not: sign-in and download
# tokens travel in it.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "routeKey": "$context.routeKey",
    "path": "$context.path",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationError": "$context.integrationErrorMessage",
    "userAgent": "$context.identity.userAgent",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._log_group = log_group

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return apigwv2.LogGroupLogDestination(self._log_group)

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT))


def route_key(route: str) -> apigwv2.HttpRouteKey:
    """``"$default"``, or ``"METHOD /path"`` with ``ANY`` for every method, as a route key."""
    if route == DEFAULT_ROUTE:
        return apigwv2.HttpRouteKey.DEFAULT
    method, _, path = route.partition(" ")
    return apigwv2.HttpRouteKey.with_(path, apigwv2.HttpMethod(method))


class Api(Construct):
    """An HTTP API whose routes are added from the catalogue once the functions exist.

    The API comes first because every function is told its URL (``PUBLIC_BASE_URL``).
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.http_api = apigwv2.HttpApi(
            self,
            constants.HTTP_API,
            api_name=constants.HTTP_API_NAME,
            description="License manager: Stripe webhook, license API for extensions, customer portal.",
            # The stage is made below, with throttling and access logs the default stage lacks.
            create_default_stage=False,
        )
        access_logs = logs.LogGroup(self, constants.ACCESS_LOGS, retention=ACCESS_LOG_RETENTION)
        apigwv2.HttpStage(
            self,
            constants.DEFAULT_STAGE,
            http_api=self.http_api,
            stage_name=DEFAULT_STAGE_NAME,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=THROTTLE_RATE_PER_SECOND, burst_limit=THROTTLE_BURST
            ),
            access_log_settings=_AccessLogSettings(access_logs),
        )
        Validations.of(self).acknowledge(
            Acknowledgment(
                id="AwsSolutions-APIG4",
                reason="Every caller authenticates inside its function, each in its own way: extensions "
                "by license key, Stripe by webhook signature, customers by portal session; unknown "
                "routes answer 404. No API Gateway authorizer fits all three.",
            )
        )
        # No trailing slash: the functions append absolute paths ("/portal/...").
        self.url = self.http_api.api_endpoint

    def add_routes(
        self, specs: Sequence[catalogue.Function], functions: Mapping[str, lambda_.IFunction]
    ) -> None:
        """Route each catalogue route to its function (payload format 2.0)."""
        for spec in specs:
            if not spec.routes:
                continue
            integration = integrations.HttpLambdaIntegration(
                f"{constants.pascal(spec.name)}Integration",
                functions[spec.name],
                payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
            )
            for route in spec.routes:
                apigwv2.HttpRoute(
                    self,
                    f"Route {route}".replace("/", "|"),
                    http_api=self.http_api,
                    route_key=route_key(route),
                    integration=integration,
                )
