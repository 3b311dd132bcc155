"""CloudWatch alarm helpers: one metric alarm, the standard set per function, and the
alarms the stacks share (a REST API's 5xx errors, a queue's depth, failed executions).

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


def function_alarms(
    scope: Construct, *, namer: Namer, topic_arn: str, functions: Mapping[str, tuple[str, str]]
) -> None:
    """:func:`lambda_alarms` for each function of a stack: construct id -> (service, function name)."""
    for id_, (service, function_name) in functions.items():
        lambda_alarms(
            scope, id_, namer=namer, service=service, function_name=function_name, topic_arn=topic_arn
        )


def api_5xx_alarm(
    scope: Construct,
    id_: str,
    *,
    name: str,
    description: str,
    api_name: str,
    stage: str,
    topic_arn: str,
) -> CloudwatchMetricAlarm:
    """A REST API stage answered with 5xx errors (one or more in 5 minutes)."""
    return metric_alarm(
        scope,
        id_,
        name=name,
        description=description,
        namespace="AWS/ApiGateway",
        metric="5XXError",
        dimensions={"ApiName": api_name, "Stage": stage},
        topic_arn=topic_arn,
    )


def queue_depth_alarm(
    scope: Construct,
    id_: str,
    *,
    name: str,
    description: str,
    queue_name: str,
    topic_arn: str,
    threshold: float = 1,
    period_seconds: int = 300,
) -> CloudwatchMetricAlarm:
    """A queue (typically a dead-letter queue) holds ``threshold`` or more visible messages."""
    return metric_alarm(
        scope,
        id_,
        name=name,
        description=description,
        namespace="AWS/SQS",
        metric="ApproximateNumberOfMessagesVisible",
        dimensions={"QueueName": queue_name},
        topic_arn=topic_arn,
        statistic="Maximum",
        threshold=threshold,
        period_seconds=period_seconds,
    )


def executions_failed_alarm(
    scope: Construct,
    id_: str,
    *,
    name: str,
    description: str,
    state_machine_arn: str,
    topic_arn: str,
) -> CloudwatchMetricAlarm:
    """A Step Functions state machine had one or more failed executions in 5 minutes."""
    return metric_alarm(
        scope,
        id_,
        name=name,
        description=description,
        namespace="AWS/States",
        metric="ExecutionsFailed",
        dimensions={"StateMachineArn": state_machine_arn},
        topic_arn=topic_arn,
    )
