"""``make cost``: what the synthesized stack costs, read from its template (``cdk.out``).

Prints the fixed monthly cost of what the stack creates (alarms, dashboard, secrets, keys: the
charges that run whether or not anyone uses the system) and the cost of 1,000 license
validations. Prices are us-east-1 list prices, written below with their source; check them
against the pages named before relying on them. The per-validation duration is a stated
assumption (``--duration-ms``), not a measurement of this deployment: take the ``Duration`` of
the license API's function from its dashboard once it runs, and pass it.

Usage: ``python -m infra.cost [cdk.out | TEMPLATE.json ...] [--duration-ms 60] [--json]``
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# https://aws.amazon.com/cloudwatch/pricing/ (us-east-1): a standard-resolution alarm costs
# $0.10 a month per metric it reads (a metric-math alarm pays for each metric in its expression),
# a composite alarm $0.50, a dashboard $3.00; always free: 10 alarm metrics and 3 dashboards of
# up to 50 metrics per account. Custom metrics (log metric filters) $0.30 per metric-month,
# prorated by the hour, charged only for hours in which they are published.
ALARM_METRIC_MONTH = 0.10
COMPOSITE_ALARM_MONTH = 0.50
DASHBOARD_MONTH = 3.00
CUSTOM_METRIC_MONTH = 0.30
FREE_ALARM_METRICS = 10
FREE_DASHBOARDS = 3
# https://aws.amazon.com/cloudwatch/pricing/: log ingestion $0.50 per GB.
LOG_INGESTION_PER_GB = 0.50
# https://aws.amazon.com/secrets-manager/pricing/: $0.40 per secret per month.
SECRET_MONTH = 0.40
# Issue 8's goal for the fixed monthly cost of one idle stage, alarms included.
IDLE_GOAL = 5.00
# https://aws.amazon.com/kms/pricing/: $1.00 per customer-managed key per month.
KMS_KEY_MONTH = 1.00
# https://aws.amazon.com/aws-cost-management/aws-budgets/pricing/: budgets that only notify (no
# budget actions) are free.
BUDGET_MONTH = 0.0
# https://aws.amazon.com/api-gateway/pricing/: HTTP APIs $1.00 per million requests (first 300 M).
HTTP_API_PER_MILLION = 1.00
# https://aws.amazon.com/lambda/pricing/: $0.20 per million requests; Arm $0.0000133334 per GB-second.
LAMBDA_PER_MILLION_REQUESTS = 0.20
LAMBDA_ARM_GB_SECOND = 0.0000133334
# https://aws.amazon.com/dynamodb/pricing/on-demand/: $0.125 per million read request units; a
# strongly consistent read of up to 4 KB is one unit.
DYNAMODB_PER_MILLION_READS = 0.125
# https://aws.amazon.com/xray/pricing/: $5.00 per million traces recorded (100,000 a month free);
# the default sampling rule records 1 request a second and 5 % beyond, so at low traffic nearly
# every request: this counts every one.
XRAY_PER_MILLION_TRACES = 5.00

# Stated assumptions of one validation.
VALIDATION_DURATION_MS = 60  # a warm license API answering from one DynamoDB read
VALIDATION_READS = 1
# The access log line (~0.4 KB), Lambda's JSON platform lines (~0.6 KB) and one app log (~0.5 KB).
VALIDATION_LOG_BYTES = 1500
VALIDATION_ROUTE = "POST /v1/licenses/validate"
VALIDATION_FUNCTION = "license_api"

# What a resource type costs while nobody uses it; anything absent here is billed by use only.
FIXED = {
    "AWS::CloudWatch::CompositeAlarm": COMPOSITE_ALARM_MONTH,
    "AWS::CloudWatch::Dashboard": DASHBOARD_MONTH,
    "AWS::SecretsManager::Secret": SECRET_MONTH,
    "AWS::KMS::Key": KMS_KEY_MONTH,
    "AWS::Budgets::Budget": BUDGET_MONTH,
}


@dataclass
class Line:
    what: str
    count: int
    unit_price: float
    monthly: float


@dataclass
class Report:
    stacks: list[str]
    fixed: list[Line] = field(default_factory=list)
    alarm_metrics: int = 0
    alarms: int = 0
    dashboards: int = 0
    metric_filters: int = 0
    usage_priced: list[str] = field(default_factory=list)
    validation_memory_mb: int = 0
    validation_duration_ms: float = VALIDATION_DURATION_MS
    per_1000_validations: dict[str, float] = field(default_factory=dict)

    @property
    def fixed_monthly(self) -> float:
        return round(sum(line.monthly for line in self.fixed), 2)

    @property
    def fixed_monthly_with_free_dashboards(self) -> float:
        """With the account's 3 free dashboards: two stages and one more fit."""
        free = min(self.dashboards, FREE_DASHBOARDS) * DASHBOARD_MONTH
        return round(max(0.0, self.fixed_monthly - free), 2)

    @property
    def fixed_monthly_after_free_tier(self) -> float:
        """With the account's whole always-free CloudWatch allowance (if no other stack uses it)."""
        free = min(self.alarm_metrics, FREE_ALARM_METRICS) * ALARM_METRIC_MONTH
        return round(max(0.0, self.fixed_monthly_with_free_dashboards - free), 2)

    @property
    def per_1000_total(self) -> float:
        return round(sum(self.per_1000_validations.values()), 5)


def alarm_metrics(properties: dict[str, Any]) -> int:
    """The metrics an alarm reads: one, or each MetricStat of a metric-math alarm."""
    metrics = properties.get("Metrics")
    if not metrics:
        return 1
    return sum(1 for metric in metrics if "MetricStat" in metric)


def templates(paths: Sequence[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(path.glob("*.template.json")) if path.is_dir() else [path])
    if not found:
        raise SystemExit(
            f"no *.template.json in {', '.join(map(str, paths))}: run `make synth` (or `make cost`)"
        )
    return found


def _validation_memory(resources: dict[str, Any]) -> int:
    for resource in resources.values():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        if variables.get("POWERTOOLS_SERVICE_NAME") == VALIDATION_FUNCTION:
            return int(resource["Properties"].get("MemorySize", 128))
    raise SystemExit(f"the template has no {VALIDATION_FUNCTION} function")


def estimate(template_files: Iterable[Path], *, duration_ms: float = VALIDATION_DURATION_MS) -> Report:
    files = list(template_files)
    report = Report(stacks=[path.name.removesuffix(".template.json") for path in files])
    counts: dict[str, int] = {}
    usage: set[str] = set()
    memory = 0
    for path in files:
        resources: dict[str, Any] = json.loads(path.read_text()).get("Resources", {})
        for resource in resources.values():
            kind = resource["Type"]
            if kind == "AWS::CloudWatch::Alarm":
                report.alarms += 1
                report.alarm_metrics += alarm_metrics(resource["Properties"])
            elif kind in FIXED:
                counts[kind] = counts.get(kind, 0) + 1
            elif kind == "AWS::Logs::MetricFilter":
                report.metric_filters += 1
            else:
                usage.add(kind)
        memory = max(memory, _validation_memory(resources))
    report.dashboards = counts.get("AWS::CloudWatch::Dashboard", 0)
    report.fixed.append(
        Line(
            f"CloudWatch alarms ({report.alarms}, reading {report.alarm_metrics} metrics)",
            report.alarm_metrics,
            ALARM_METRIC_MONTH,
            round(report.alarm_metrics * ALARM_METRIC_MONTH, 2),
        )
    )
    for kind, price in FIXED.items():
        if counts.get(kind):
            report.fixed.append(Line(kind, counts[kind], price, round(counts[kind] * price, 2)))
    report.usage_priced = sorted(usage)
    report.validation_memory_mb = memory
    report.validation_duration_ms = duration_ms
    gb_seconds = memory / 1024 * duration_ms / 1000
    report.per_1000_validations = {
        "API Gateway HTTP API request": round(1000 * HTTP_API_PER_MILLION / 1e6, 6),
        "Lambda request": round(1000 * LAMBDA_PER_MILLION_REQUESTS / 1e6, 6),
        f"Lambda duration ({memory} MB, {duration_ms:g} ms, Arm)": round(
            1000 * gb_seconds * LAMBDA_ARM_GB_SECOND, 6
        ),
        f"DynamoDB reads ({VALIDATION_READS})": round(
            1000 * VALIDATION_READS * DYNAMODB_PER_MILLION_READS / 1e6, 6
        ),
        "X-Ray trace (every request sampled)": round(1000 * XRAY_PER_MILLION_TRACES / 1e6, 6),
        f"CloudWatch Logs ({VALIDATION_LOG_BYTES} bytes)": round(
            1000 * VALIDATION_LOG_BYTES / 1e9 * LOG_INGESTION_PER_GB, 6
        ),
    }
    return report


def render(report: Report) -> str:
    lines = [
        f"Cost of {', '.join(report.stacks)} (us-east-1 list prices, infra/cost.py names the sources)",
        "",
    ]
    lines.append("Fixed monthly cost, whether or not anyone uses it:")
    for line in report.fixed:
        lines.append(f"  {line.what:<58} {line.count:>3} x ${line.unit_price:.2f} = ${line.monthly:6.2f}")
    lines.append(f"  {'Total at list price':<58} {'':>13} ${report.fixed_monthly:6.2f}")
    lines.append(
        f"  {'With the always-free 3 dashboards per account':<58} {'':>13} "
        f"${report.fixed_monthly_with_free_dashboards:6.2f}"
    )
    lines.append(
        f"  {'... and the always-free 10 alarm metrics':<58} {'':>13} "
        f"${report.fixed_monthly_after_free_tier:6.2f}"
    )
    verdict = "met" if report.fixed_monthly_with_free_dashboards < IDLE_GOAL else "NOT met"
    lines.append(
        f"  Goal, under ${IDLE_GOAL:.0f} a month idle with the alarms: {verdict} with the dashboard in AWS's "
        "always-free 3 (permanent, per account: two stages fit)."
    )
    lines.append("")
    lines.append(
        f"  {report.metric_filters} log metric filters (5xx per route group): ${CUSTOM_METRIC_MONTH:.2f} per "
        "metric-month only in hours with a 5xx, $0 while healthy."
    )
    services = sorted(
        {kind.split("::")[1] for kind in report.usage_priced if kind.startswith("AWS::")} - {"IAM", "CDK"}
    )
    lines.append(f"  Billed by use only, $0 idle: {', '.join(services)}.")
    lines.append(
        "  (DynamoDB storage and backups, S3 storage and logs grow with data: cents for a small vendor.)"
    )
    lines.append("")
    lines.append(f"Per 1,000 validations ({VALIDATION_ROUTE}):")
    for what, cost in report.per_1000_validations.items():
        lines.append(f"  {what:<58} ${cost:.6f}")
    lines.append(f"  {'Total':<58} ${report.per_1000_total:.6f}")
    lines.append(
        f"  (stated duration {report.validation_duration_ms:g} ms: pass the measured one with --duration-ms)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.cost", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("cdk.out")], help="cdk.out or templates")
    parser.add_argument("--duration-ms", type=float, default=VALIDATION_DURATION_MS, help="one validation's")
    parser.add_argument("--json", action="store_true", help="the report as JSON")
    arguments = parser.parse_args(argv)
    if arguments.duration_ms <= 0:
        parser.error("--duration-ms must be positive")
    report = estimate(templates(arguments.paths), duration_ms=arguments.duration_ms)
    if arguments.json:
        data = asdict(report) | {
            "fixed_monthly": report.fixed_monthly,
            "fixed_monthly_with_free_dashboards": report.fixed_monthly_with_free_dashboards,
            "fixed_monthly_after_free_tier": report.fixed_monthly_after_free_tier,
            "per_1000_total": report.per_1000_total,
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(render(report) + "\n")


if __name__ == "__main__":
    main()
