"""The HTTP API: one route per catalogue route, each throttled on its own, with access logs.

With a ``domain`` (and its ``certificate_arn``, an ACM certificate in the stack's region) the API
answers at ``https://{domain}`` only: the ``execute-api`` address is disabled, so that every
extension, Stripe endpoint and emailed link names an address the vendor controls.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import jsii
from aws_cdk import Acknowledgment, CfnOutput, Validations
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import constants
from licensing import catalogue

DEFAULT_ROUTE = "$default"
# The stage served at the API's root URL, without a stage prefix in paths.
DEFAULT_STAGE_NAME = "$default"
# The stage's default throttle, for the routes without one of their own ($default).
THROTTLE_RATE_PER_SECOND = catalogue.THROTTLE_PORTAL.rate_per_second
THROTTLE_BURST = catalogue.THROTTLE_PORTAL.burst
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

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        domain: str | None = None,
        certificate_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if (domain is None) != (certificate_arn is None):
            raise ValueError("a custom domain needs both `domain` and `certificate_arn`")
        self.http_api = apigwv2.HttpApi(
            self,
            constants.HTTP_API,
            api_name=name_prefix,
            description="License manager: Stripe webhook, license API for extensions, customer portal.",
            # The stage is made below, with throttling and access logs the default stage lacks.
            create_default_stage=False,
            disable_execute_api_endpoint=domain is not None,
        )
        self.access_logs = logs.LogGroup(self, constants.ACCESS_LOGS, retention=ACCESS_LOG_RETENTION)
        domain_mapping = None
        if domain is not None and certificate_arn is not None:
            domain_name = apigwv2.DomainName(
                self,
                constants.DOMAIN_NAME,
                domain_name=domain,
                certificate=acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn),
                security_policy=apigwv2.SecurityPolicy.TLS_1_2,
            )
            domain_mapping = apigwv2.DomainMappingOptions(domain_name=domain_name)
            CfnOutput(
                self,
                constants.DOMAIN_TARGET_OUTPUT,
                value=domain_name.regional_domain_name,
                description=f"Point {domain} here (CNAME, or a Route 53 alias record).",
            )
            CfnOutput(
                self,
                constants.DOMAIN_ZONE_OUTPUT,
                value=domain_name.regional_hosted_zone_id,
                description="The hosted zone of the target, for a Route 53 alias record.",
            )
        self.stage = apigwv2.HttpStage(
            self,
            constants.DEFAULT_STAGE,
            http_api=self.http_api,
            stage_name=DEFAULT_STAGE_NAME,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=THROTTLE_RATE_PER_SECOND, burst_limit=THROTTLE_BURST
            ),
            access_log_settings=_AccessLogSettings(self.access_logs),
            domain_mapping=domain_mapping,
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
        self.url = f"https://{domain}" if domain is not None else self.http_api.api_endpoint

    def add_routes(
        self, specs: Sequence[catalogue.Function], functions: Mapping[str, lambda_.IFunction]
    ) -> None:
        """Route each catalogue route to its function (payload format 2.0), with its own throttle."""
        route_settings: dict[str, dict[str, int]] = {}
        for spec in specs:
            if not spec.routes:
                continue
            integration = integrations.HttpLambdaIntegration(
                f"{constants.pascal(spec.name)}Integration",
                functions[spec.name],
                payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
            )
            for route in spec.routes:
                http_route = apigwv2.HttpRoute(
                    self,
                    f"Route {route}".replace("/", "|"),
                    http_api=self.http_api,
                    route_key=route_key(route),
                    integration=integration,
                )
                if route == DEFAULT_ROUTE:
                    continue  # the stage's default throttle is $default's
                throttle = spec.throttle(route)
                route_settings[route] = {
                    "ThrottlingRateLimit": throttle.rate_per_second,
                    "ThrottlingBurstLimit": throttle.burst,
                }
                # A stage may name only routes that exist.
                self.stage.node.add_dependency(http_route)
        stage = self.stage.node.default_child
        assert isinstance(stage, apigwv2.CfnStage)
        stage.route_settings = route_settings
