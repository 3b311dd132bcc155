"""CloudWatch alarm helpers: one metric alarm, and the standard set per function.

Every alarm notifies ``topic_arn`` on ALARM and on OK, and treats missing data
as not breaching (an idle function is healthy).
"""

from __future__ import annotations

from collections.abc import Mapping

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from constructs import Construct

from lib.naming import NameKind, Namer

COMPARISONS = (
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
)


def metric_alarm(
    scope: Construct,
    id_: str,
    *,
    name: str,
    description: str,
    namespace: str,
    metric: str,
    dimensions: Mapping[str, str],
    topic_arn: str,
    threshold: float = 1,
    statistic: str = "Sum",
    period_seconds: int = 300,
    evaluation_periods: int = 1,
    comparison: str = "GreaterThanOrEqualToThreshold",
) -> CloudwatchMetricAlarm:
    """One alarm on one metric, notifying ``topic_arn``."""
    if comparison not in COMPARISONS:
        raise ValueError(f"comparison {comparison!r} is not one of {', '.join(COMPARISONS)}")
    if period_seconds < 10 or (period_seconds >= 60 and period_seconds % 60):
        raise ValueError(f"period_seconds {period_seconds} must be 10, 30 or a multiple of 60")
    return CloudwatchMetricAlarm(
        scope,
        id_,
        alarm_name=name,
        alarm_description=description,
        namespace=namespace,
        metric_name=metric,
        dimensions=dict(dimensions),
        statistic=statistic,
        period=period_seconds,
        evaluation_periods=evaluation_periods,
        threshold=threshold,
        comparison_operator=comparison,
        treat_missing_data="notBreaching",
        alarm_actions=[topic_arn],
        ok_actions=[topic_arn],
    )


def lambda_alarms(
    scope: Construct,
    id_: str,
    *,
    namer: Namer,
    service: str,
    function_name: str,
    topic_arn: str,
    error_threshold: float = 1,
    throttle_threshold: float = 1,
) -> dict[str, CloudwatchMetricAlarm]:
    """Errors and throttles alarms of one function (``{"errors": ..., "throttles": ...}``)."""
    alarms = {}
    for metric, threshold in (("Errors", error_threshold), ("Throttles", throttle_threshold)):
        key = metric.lower()
        alarms[key] = metric_alarm(
            scope,
            f"{id_}-{key}",
            name=namer.name(f"{service}-{key}", NameKind.ALARM),
            description=f"Lambda {function_name}: {metric} >= {threshold:g} in 5 minutes",
            namespace="AWS/Lambda",
            metric=metric,
            dimensions={"FunctionName": function_name},
            topic_arn=topic_arn,
            threshold=threshold,
        )
    return alarms
