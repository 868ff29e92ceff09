"""The alarm topic and every alarm on what users feel, the dashboard and the budget."""

from __future__ import annotations

import json
import re
from typing import Any

from infra import constants
from infra.monitoring import route_groups, server_error_pattern
from licensing import catalogue
from tests.infra.conftest import PRODUCTION, Deployment


def _topic(deployment: Deployment) -> str:
    return deployment.logical_id(f"{constants.MONITORING}{constants.ALARM_TOPIC}", "AWS::SNS::Topic")


def _alarms(deployment: Deployment) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in deployment.resources("AWS::CloudWatch::Alarm").values()
    }


def test_every_alarm_tells_the_topic_when_it_fires_and_when_it_recovers(deployment: Deployment) -> None:
    topic = {"Ref": _topic(deployment)}
    alarms = _alarms(deployment)
    assert alarms
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [topic], name
        assert alarm["OKActions"] == [topic], name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert alarm["AlarmDescription"], name


def test_the_alarm_email_is_subscribed_only_when_given(stack: Deployment, production: Deployment) -> None:
    assert not stack.resources("AWS::SNS::Subscription")
    (subscription,) = production.resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == PRODUCTION["alarm_email"]
    assert subscription["Properties"]["TopicArn"] == {"Ref": _topic(production)}


def test_cloudwatch_and_budgets_of_this_account_only_may_publish_over_tls(deployment: Deployment) -> None:
    (policy,) = deployment.resources("AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    publishers = {
        s["Principal"]["Service"]: s
        for s in statements
        if s["Effect"] == "Allow" and "Service" in s["Principal"]
    }
    assert set(publishers) == {"cloudwatch.amazonaws.com", "budgets.amazonaws.com"}
    for statement in publishers.values():
        assert statement["Action"] == "sns:Publish"
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def test_every_route_is_in_exactly_one_alarmed_group_named_by_its_throttle(deployment: Deployment) -> None:
    groups = route_groups(deployment.functions)
    routes = [route for group in groups for route in group.routes]
    assert sorted(routes) == sorted(route for spec in deployment.functions for route in spec.routes)
    filters = {
        f["Properties"]["MetricTransformations"][0]["MetricName"]: f["Properties"]
        for f in deployment.resources("AWS::Logs::MetricFilter").values()
    }
    access_logs = deployment.logical_id(f"{constants.API}{constants.ACCESS_LOGS}", "AWS::Logs::LogGroup")
    alarms = _alarms(deployment)
    for group in groups:
        metric = f"ServerErrors-{group.name}"
        assert filters[metric]["LogGroupName"] == {"Ref": access_logs}
        assert filters[metric]["FilterPattern"] == server_error_pattern(group.routes)
        transformation = filters[metric]["MetricTransformations"][0]
        # Published only when a 5xx happens: no default value, so a healthy API has no data points.
        assert "DefaultValue" not in transformation
        alarm = alarms[f"{deployment.name}-5xx-{group.name}"]
        assert (alarm["Namespace"], alarm["MetricName"]) == (transformation["MetricNamespace"], metric)
        assert alarm["Statistic"] == "Sum" and alarm["Threshold"] == 1


def test_the_catalogue_groups_are_those_users_feel(stack: Deployment) -> None:
    names = {group.name for group in route_groups(stack.functions)}
    assert names == {"validate", "activate", "updates", "download", "webhook", "portal"}


def _matches(pattern: str, line: dict[str, str]) -> bool:
    # CloudWatch's JSON pattern, evaluated as it defines it: the status by wildcard, any route listed.
    status = re.search(r'\$\.status = "([^"]+)"', pattern)
    assert status is not None
    routes = re.findall(r'\$\.routeKey = "([^"]+)"', pattern)
    return (
        re.fullmatch(status.group(1).replace("*", ".*"), line["status"]) is not None
        and line["routeKey"] in routes
    )


def test_the_filter_counts_5xx_of_its_routes_and_nothing_else() -> None:
    pattern = server_error_pattern(("POST /v1/licenses/validate", "GET /v1/keys"))
    assert pattern.startswith("{ ") and pattern.endswith(" }")
    assert _matches(pattern, {"status": "502", "routeKey": "POST /v1/licenses/validate"})
    assert _matches(pattern, {"status": "500", "routeKey": "GET /v1/keys"})
    assert not _matches(pattern, {"status": "429", "routeKey": "POST /v1/licenses/validate"})
    assert not _matches(pattern, {"status": "200", "routeKey": "GET /v1/keys"})
    assert not _matches(pattern, {"status": "503", "routeKey": "POST /webhooks/stripe"})


def test_each_function_alarms_on_its_errors_and_throttles(deployment: Deployment) -> None:
    alarms = _alarms(deployment)
    for spec in deployment.functions:
        function_id, _ = deployment.function(spec.name)
        alarm = alarms[f"{deployment.name}-{spec.name}-errors-throttles"]
        assert [m["Expression"] for m in alarm["Metrics"] if "Expression" in m] == ["errors + throttles"]
        names = {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}
        assert names == {"Errors", "Throttles"}
        for m in alarm["Metrics"]:
            if "MetricStat" in m:
                assert m["MetricStat"]["Metric"]["Dimensions"] == [
                    {"Name": "FunctionName", "Value": {"Ref": function_id}}
                ]


def test_a_failed_lifecycle_run_raises_an_alarm(deployment: Deployment) -> None:
    alarms = _alarms(deployment)
    for spec in [spec for spec in deployment.functions if spec.schedule]:
        failures = deployment.logical_id(
            f"{constants.FUNCTIONS}{constants.pascal(spec.name)}FailuresQueue", "AWS::SQS::Queue"
        )
        alarm = alarms[f"{deployment.name}-{spec.name}-failures-dead-letters"]
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Dimensions"] == [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [failures, "QueueName"]}}
        ]


def test_ses_reputation_and_table_throttles_are_alarmed(stack: Deployment) -> None:
    alarms = _alarms(stack)
    bounce = alarms["dev-licensing-ses-bounce-rate"]
    complaint = alarms["dev-licensing-ses-complaint-rate"]
    assert (bounce["Namespace"], bounce["MetricName"], bounce["Threshold"]) == (
        "AWS/SES",
        "Reputation.BounceRate",
        0.05,
    )
    assert (complaint["MetricName"], complaint["Threshold"]) == ("Reputation.ComplaintRate", 0.001)
    table = stack.logical_id(f"{constants.STORAGE}{constants.TABLE}", "AWS::DynamoDB::GlobalTable")
    throttles = alarms["dev-licensing-table-throttles"]
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in throttles["Metrics"] if "MetricStat" in m}
    assert names == {"ReadThrottleEvents", "WriteThrottleEvents"}
    for m in throttles["Metrics"]:
        if "MetricStat" in m:
            assert m["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "TableName", "Value": {"Ref": table}}]


def test_the_dashboard_shows_every_alarm(deployment: Deployment) -> None:
    (dashboard,) = deployment.resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == deployment.name
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for logical_id in deployment.resources("AWS::CloudWatch::Alarm"):
        assert logical_id in body, logical_id


def test_the_budget_tells_the_topic_at_80_percent_and_on_a_forecast_overrun(
    stack: Deployment, production: Deployment
) -> None:
    for deployment, amount in (
        (stack, constants.DEFAULT_MONTHLY_BUDGET_USD),
        (production, PRODUCTION["monthly_budget_usd"]),
    ):
        (budget,) = deployment.resources("AWS::Budgets::Budget").values()
        properties = budget["Properties"]
        assert properties["Budget"]["BudgetLimit"] == {"Amount": amount, "Unit": "USD"}
        assert properties["Budget"]["TimeUnit"] == "MONTHLY"
        notifications = {
            n["Notification"]["NotificationType"]: n for n in properties["NotificationsWithSubscribers"]
        }
        assert notifications["ACTUAL"]["Notification"]["Threshold"] == 80
        assert notifications["FORECASTED"]["Notification"]["Threshold"] == 100
        for notification in notifications.values():
            assert notification["Subscribers"] == [
                {"SubscriptionType": "SNS", "Address": {"Ref": _topic(deployment)}}
            ]


def test_the_catalogue_alarm_count_is_what_make_cost_counts(stack: Deployment) -> None:
    # One per route group, one per function, two per catalogue DLQ, one per scheduled function's
    # failures, two SES, one table: kept small on purpose (each metric read costs $0.10 a month).
    functions = stack.functions
    expected = (
        len(route_groups(functions))
        + len(functions)
        + 2 * len(catalogue.QUEUES)
        + len([spec for spec in functions if spec.schedule])
        + 2
        + 1
    )
    assert len(_alarms(stack)) == expected
