"""CloudWatch alarms: one metric alarm, the standard set per function, and the
alarms a stack declares as data (:class:`Watch`: a :class:`Signal` such as a queue's
depth, failed executions or a REST API's 5xx errors, a name and a description).

Every alarm notifies ``topic_arn`` on ALARM and on OK, and treats missing data
as not breaching (an idle function is healthy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from constructs import Construct

from lib.naming import NameKind, Namer

COMPARISONS = (
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
)


@dataclass(frozen=True)
class Signal:
    """A metric of one resource, and how its data points are combined."""

    namespace: str
    metric: str
    dimensions: Mapping[str, str] = field(default_factory=dict)
    statistic: str = "Sum"


def queue_depth(queue_name: str) -> Signal:
    """Visible messages of a queue (typically a dead-letter queue), the maximum in a period."""
    return Signal("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue_name}, "Maximum")


def executions_failed(state_machine_arn: str) -> Signal:
    """Failed executions of a Step Functions state machine."""
    return Signal("AWS/States", "ExecutionsFailed", {"StateMachineArn": state_machine_arn})


def api_5xx(api_name: str, stage: str) -> Signal:
    """5xx answers of a REST API stage."""
    return Signal("AWS/ApiGateway", "5XXError", {"ApiName": api_name, "Stage": stage})


def lambda_metric(metric: str, function_name: str) -> Signal:
    return Signal("AWS/Lambda", metric, {"FunctionName": function_name})


def metric_alarm(
    scope: Construct,
    id_: str,
    *,
    name: str,
    description: str,
    signal: Signal,
    topic_arn: str,
    threshold: float = 1,
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
        namespace=signal.namespace,
        metric_name=signal.metric,
        dimensions=dict(signal.dimensions),
        statistic=signal.statistic,
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
            signal=lambda_metric(metric, function_name),
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


@dataclass(frozen=True)
class Watch:
    """One alarm a stack declares: what it watches, its name (``namer.name(service,
    NameKind.ALARM)``), what it says, and when it fires (>= ``threshold`` in a period)."""

    signal: Signal
    service: str
    description: str
    threshold: float = 1
    period_seconds: int = 300


def watch(scope: Construct, *, namer: Namer, topic_arn: str, watches: Mapping[str, Watch]) -> None:
    """One :func:`metric_alarm` per entry of ``watches`` (construct id -> :class:`Watch`), in order."""
    for id_, w in watches.items():
        metric_alarm(
            scope,
            id_,
            name=namer.name(w.service, NameKind.ALARM),
            description=w.description,
            signal=w.signal,
            topic_arn=topic_arn,
            threshold=w.threshold,
            period_seconds=w.period_seconds,
        )
