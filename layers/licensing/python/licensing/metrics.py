"""CloudWatch metrics as Powertools' embedded metric format: a JSON line on stdout that CloudWatch
turns into a metric, with no API call and nothing to flush. Only where the stack names a namespace
(POWERTOOLS_METRICS_NAMESPACE, `Licensing/<stage>-licensing`); the dev server and tests without it
write none. Powertools' metrics module is imported at the first metric, not at a cold start."""

from __future__ import annotations

import os


def count(name: str, value: float = 1, **dimensions: str) -> None:
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE")
    if not namespace or value <= 0:
        return
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=namespace) as metric:
        for dimension, dimension_value in dimensions.items():
            metric.add_dimension(name=dimension, value=dimension_value)
