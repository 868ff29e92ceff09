"""One alarm topic, the alarms on what users feel, a dashboard of the same, and a budget.

Every alarm notifies the topic (an email subscription with ``-c alarm_email=...``) when it fires
and when it recovers. CloudWatch bills each metric an alarm reads ($0.10 a month), so the set is
chosen per failure a user feels, not per metric available (``make cost`` counts them):

- 5xx per route group, from API Gateway's own access log: a metric filter per throttle group of
  the catalogue (validate, activate, updates, download, webhook, portal) counts the routes' 5xx
  answers, whoever made them (a function's caught exception, a crash, a timeout). A filter's metric
  is published only when a 5xx happens, so a healthy API costs nothing beyond the alarm.
- Lambda Errors and Throttles per function (one alarm each, summing the two).
- Dead-letter queues: a message in one, and the oldest one nearing the 14 days after which SQS
  drops it.
- SES bounce and complaint rates (the account's reputation, which SES pauses sending on).
- DynamoDB throttled reads and writes of the table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Acknowledgment, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants
from licensing import catalogue

PERIOD = Duration.minutes(5)
# SQS keeps a message 14 days: warn while 4 are left to fix the cause and redrive.
DEAD_LETTER_AGE_ALARM_SECONDS = 10 * 24 * 3600
# SES reviews an account at 5 % bounces and 0.1 % complaints, and may pause it at 10 % and 0.5 %.
SES_BOUNCE_RATE_ALARM = 0.05
SES_COMPLAINT_RATE_ALARM = 0.001
# Alerts at 80 % of the month's budget spent, and when the forecast passes it.
BUDGET_ACTUAL_PERCENT = 80
BUDGET_FORECAST_PERCENT = 100


@dataclass(frozen=True)
class RouteGroup:
    """The routes that share a throttle, alarmed together."""

    name: str
    routes: tuple[str, ...]


def route_groups(specs: Sequence[catalogue.Function]) -> list[RouteGroup]:
    """The catalogue's routes grouped by throttle name, in the catalogue's order."""
    groups: dict[str, list[str]] = {}
    for spec in specs:
        for route in spec.routes:
            groups.setdefault(spec.throttle(route).name, []).append(route)
    return [RouteGroup(name=name, routes=tuple(routes)) for name, routes in groups.items()]


def server_error_pattern(routes: Sequence[str]) -> str:
    """A JSON filter pattern: an access log line of one of ``routes`` with a 5xx status."""
    # The access log writes the status as a string ("502"): match it with a wildcard.
    keys = " || ".join(f'$.routeKey = "{route}"' for route in routes)
    return f'{{ $.status = "5*" && ({keys}) }}'


class Monitoring(Construct):
    """The alarm topic, alarms, dashboard and budget of one stage."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        alarm_email: str | None,
        monthly_budget_usd: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.name_prefix = name_prefix
        self.namespace = f"Licensing/{name_prefix}"
        self.topic = sns.Topic(
            self,
            constants.ALARM_TOPIC,
            topic_name=f"{name_prefix}-alarms",
            display_name=f"{name_prefix} alarms",
            enforce_ssl=True,
        )
        self._allow_publishing()
        if alarm_email is not None:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        CfnOutput(self, constants.ALARM_TOPIC_OUTPUT, value=self.topic.topic_arn, description="Alarm topic.")
        self.alarms: list[cloudwatch.Alarm] = []
        self._widgets: list[cloudwatch.IWidget] = []
        self._budget(monthly_budget_usd)

    def _allow_publishing(self) -> None:
        account = Stack.of(self).account
        for service, source_arn in (
            ("cloudwatch.amazonaws.com", Stack.of(self).format_arn(service="cloudwatch", resource="alarm:*")),
            ("budgets.amazonaws.com", f"arn:{Stack.of(self).partition}:budgets::{account}:*"),
        ):
            self.topic.add_to_resource_policy(
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal(service)],
                    actions=["sns:Publish"],
                    resources=[self.topic.topic_arn],
                    conditions={
                        "StringEquals": {"aws:SourceAccount": account},
                        "ArnLike": {"aws:SourceArn": source_arn},
                    },
                )
            )
        Validations.of(self.topic).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SNS2",
                reason="Alarm and budget notices carry no customer data, only names of alarms, metrics "
                "and budgets. CloudWatch and Budgets cannot publish to a topic under the AWS-managed SNS "
                "key; a customer-managed key would add $1 a month (a fifth of the stage's idle cost "
                "goal) to protect those names. Publishing requires TLS (SNS3).",
            )
        )

    def _budget(self, monthly_budget_usd: int) -> None:
        def notification(kind: str, percent: int) -> budgets.CfnBudget.NotificationWithSubscribersProperty:
            return budgets.CfnBudget.NotificationWithSubscribersProperty(
                notification=budgets.CfnBudget.NotificationProperty(
                    notification_type=kind,
                    comparison_operator="GREATER_THAN",
                    threshold=percent,
                    threshold_type="PERCENTAGE",
                ),
                subscribers=[
                    budgets.CfnBudget.SubscriberProperty(
                        subscription_type="SNS", address=self.topic.topic_arn
                    )
                ],
            )

        budget = budgets.CfnBudget(
            self,
            constants.BUDGET,
            # The account's whole cost: a stage's resources cannot be told apart without a cost
            # allocation tag activated by hand in the billing console.
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=f"{self.name_prefix}-monthly",
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=monthly_budget_usd, unit="USD"),
            ),
            notifications_with_subscribers=[
                notification("ACTUAL", BUDGET_ACTUAL_PERCENT),
                notification("FORECASTED", BUDGET_FORECAST_PERCENT),
            ],
        )
        # Budgets checks that it may publish when the budget is created.
        policy = self.topic.node.try_find_child("Policy")
        if policy is not None:
            budget.node.add_dependency(policy)

    def alarm(
        self,
        construct_id: str,
        *,
        name: str,
        description: str,
        metric: cloudwatch.IMetric,
        threshold: float = 1,
    ) -> cloudwatch.Alarm:
        """An alarm that tells the topic when ``metric`` reaches ``threshold`` and when it recovers."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"{self.name_prefix}-{name}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No data is no failure: the 5xx metrics exist only while there are 5xx answers.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
        self._widgets.append(cloudwatch.AlarmWidget(alarm=alarm, title=name, width=8, height=5))
        return alarm

    def route_server_errors(self, access_logs: logs.ILogGroup, specs: Sequence[catalogue.Function]) -> None:
        for group in route_groups(specs):
            metric_name = f"ServerErrors-{group.name}"
            logs.MetricFilter(
                self,
                f"{constants.pascal(group.name)}ServerErrorsFilter",
                log_group=access_logs,
                filter_pattern=logs.FilterPattern.literal(server_error_pattern(group.routes)),
                metric_namespace=self.namespace,
                metric_name=metric_name,
                metric_value="1",
            )
            self.alarm(
                f"{constants.pascal(group.name)}ServerErrorsAlarm",
                name=f"5xx-{group.name}",
                description=f"5xx answers on {', '.join(group.routes)}: the function logs (X-Request-Id) "
                "tell the cause.",
                metric=cloudwatch.Metric(
                    namespace=self.namespace,
                    metric_name=metric_name,
                    statistic=cloudwatch.Stats.SUM,
                    period=PERIOD,
                ),
            )

    def function_failures(self, functions: Mapping[str, lambda_.Function]) -> None:
        for name, function in functions.items():
            self.alarm(
                f"{constants.pascal(name)}FailuresAlarm",
                name=f"{name}-errors-throttles",
                description=f"The {name} function failed or was throttled (Lambda Errors + Throttles): "
                "see its log group; throttles mean its reserved or the account's concurrency ran out.",
                metric=cloudwatch.MathExpression(
                    expression="errors + throttles",
                    label=f"{name} errors + throttles",
                    using_metrics={
                        "errors": function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                        "throttles": function.metric_throttles(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                    },
                    period=PERIOD,
                ),
            )

    def dead_letters(self, name: str, queue: sqs.IQueue, what: str) -> None:
        prefix = constants.pascal(name)
        self.alarm(
            f"{prefix}DeadLetterAlarm",
            name=f"{name}-dead-letters",
            description=f"{what} wait in the dead-letter queue {name}: fix the cause, then redrive "
            "them (README: redriving a dead-letter queue).",
            metric=queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
        )

    def dead_letter_age(self, name: str, queue: sqs.IQueue) -> None:
        self.alarm(
            f"{constants.pascal(name)}DeadLetterAgeAlarm",
            name=f"{name}-dead-letters-expiring",
            description=f"The oldest message of the dead-letter queue {name} is 10 days old: SQS drops "
            "it after 14. Redrive it now.",
            metric=queue.metric_approximate_age_of_oldest_message(
                period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=DEAD_LETTER_AGE_ALARM_SECONDS,
        )

    def mail_reputation(self) -> None:
        for metric_name, threshold, what in (
            ("Reputation.BounceRate", SES_BOUNCE_RATE_ALARM, "bounce"),
            ("Reputation.ComplaintRate", SES_COMPLAINT_RATE_ALARM, "complaint"),
        ):
            self.alarm(
                f"Ses{what.capitalize()}RateAlarm",
                name=f"ses-{what}-rate",
                description=f"The account's SES {what} rate is at {threshold:.1%}: SES reviews the "
                "account there and may pause all sending above it.",
                metric=cloudwatch.Metric(
                    namespace="AWS/SES",
                    metric_name=metric_name,
                    statistic=cloudwatch.Stats.MAXIMUM,
                    period=Duration.hours(1),
                ),
                threshold=threshold,
            )

    def table_throttles(self, table: dynamodb.TableV2) -> None:
        def throttles(metric_name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/DynamoDB",
                metric_name=metric_name,
                dimensions_map={"TableName": table.table_name},
                statistic=cloudwatch.Stats.SUM,
                period=PERIOD,
            )

        self.alarm(
            "TableThrottlesAlarm",
            name="table-throttles",
            description="DynamoDB throttled reads or writes of the table: requests failed or were retried.",
            metric=cloudwatch.MathExpression(
                expression="reads + writes",
                label="throttled reads + writes",
                using_metrics={
                    "reads": throttles("ReadThrottleEvents"),
                    "writes": throttles("WriteThrottleEvents"),
                },
                period=PERIOD,
            ),
        )

    def dashboard(self, api_id: str) -> cloudwatch.Dashboard:
        """The dashboard of the stage: every alarm's state and graph, and the API's traffic."""

        def api_metric(metric_name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/ApiGateway",
                metric_name=metric_name,
                dimensions_map={"ApiId": api_id, "Stage": "$default"},
                statistic=cloudwatch.Stats.SUM,
                period=PERIOD,
            )

        dashboard = cloudwatch.Dashboard(
            self, constants.DASHBOARD, dashboard_name=self.name_prefix, default_interval=Duration.days(1)
        )
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(alarms=list(self.alarms), title="Alarms", width=24),
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[api_metric("Count"), api_metric("4xx"), api_metric("5xx")],
                width=24,
            ),
        )
        dashboard.add_widgets(*self._widgets)
        return dashboard
