"""``make cost`` on the synthesized templates: the fixed monthly cost and the cost of validations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra import constants, cost
from licensing import catalogue
from tests.infra.conftest import PRODUCTION_STACK_NAME, Synthesis


def test_the_idle_stack_costs_under_five_dollars_a_month_with_its_alarms(synthesis: Synthesis) -> None:
    report = cost.estimate([synthesis.template_file(constants.STACK_NAME)])
    # 6 route groups, 6 functions x (errors + throttles), the two DLQs' depth and age, the
    # lifecycle job's failures, SES bounces and complaints, the table's reads + writes throttled.
    assert report.alarms == 20
    assert report.alarm_metrics == 27
    lines = {line.what: line for line in report.fixed}
    assert lines["AWS::SecretsManager::Secret"].count == 4
    assert lines["AWS::CloudWatch::Dashboard"].count == 1
    assert report.fixed_monthly == pytest.approx(27 * 0.10 + 3.00 + 4 * 0.40)
    assert report.fixed_monthly_with_free_dashboards < 5
    assert report.fixed_monthly_after_free_tier == pytest.approx(report.fixed_monthly - 3.00 - 1.00)


def test_the_options_add_nothing_fixed_but_the_alarms_of_the_mail_events(synthesis: Synthesis) -> None:
    # A domain, an alarm email and an SES identity are billed by use only; `mail_from` adds the
    # ses_events function and its queue, and so their alarms (errors and throttles, two DLQ alarms).
    default = cost.estimate([synthesis.template_file(constants.STACK_NAME)])
    production = cost.estimate([synthesis.template_file(PRODUCTION_STACK_NAME)])
    assert production.alarms == default.alarms + 3
    extra_metrics = production.alarm_metrics - default.alarm_metrics
    assert 3 <= extra_metrics <= 4
    assert production.fixed_monthly == pytest.approx(
        default.fixed_monthly + extra_metrics * cost.ALARM_METRIC_MONTH
    )


def test_a_thousand_validations_cost_what_the_license_api_s_memory_and_duration_say(
    synthesis: Synthesis,
) -> None:
    report = cost.estimate([synthesis.template_file(constants.STACK_NAME)], duration_ms=100)
    memory = catalogue.function("license_api").memory_mb
    assert report.validation_memory_mb == memory
    duration = [v for k, v in report.per_1000_validations.items() if k.startswith("Lambda duration")]
    assert duration == [pytest.approx(1000 * memory / 1024 * 0.1 * cost.LAMBDA_ARM_GB_SECOND, rel=1e-3)]
    assert report.per_1000_validations["API Gateway HTTP API request"] == pytest.approx(0.001)
    assert 0.001 < report.per_1000_total < 0.02


def test_make_cost_prints_the_totals_and_json(
    synthesis: Synthesis, capsys: pytest.CaptureFixture[str]
) -> None:
    template = synthesis.template_file(constants.STACK_NAME)
    cost.main([str(template)])
    text = capsys.readouterr().out
    assert "Total at list price" in text and "Per 1,000 validations" in text
    assert "Goal, under $5 a month idle with the alarms: met" in text
    cost.main([str(template), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["alarm_metrics"] == 27
    assert data["fixed_monthly"] == pytest.approx(7.30)
    assert data["fixed_monthly_with_free_dashboards"] < cost.IDLE_GOAL


def test_without_a_synthesized_template_it_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="make synth"):
        cost.main([str(tmp_path)])


def test_a_metric_math_alarm_costs_each_metric_it_reads() -> None:
    single = {"MetricName": "Errors", "Namespace": "AWS/Lambda"}
    math = {
        "Metrics": [
            {"Id": "e", "Expression": "a + b"},
            {"Id": "a", "MetricStat": {}},
            {"Id": "b", "MetricStat": {}},
        ]
    }
    assert cost.alarm_metrics(single) == 1
    assert cost.alarm_metrics(math) == 2
