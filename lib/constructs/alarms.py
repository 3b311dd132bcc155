"""CloudWatch alarms, declared as data (:class:`Watch`: a :class:`Signal` such as a
queue's depth, failed executions or a REST API's 5xx errors, a name, a description and
when it fires), and the standard set per function (:func:`lambda_watches`).

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


@dataclass(frozen=True)
class Watch:
    """One alarm a stack declares: what it watches, its name (``namer.name(service,
    NameKind.ALARM)``), what it says, and when it fires (``comparison`` with ``threshold``
    in ``evaluation_periods`` periods)."""

    signal: Signal
    service: str
    description: str
    threshold: float = 1
    period_seconds: int = 300
    evaluation_periods: int = 1
    comparison: str = "GreaterThanOrEqualToThreshold"

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(f"comparison {self.comparison!r} is not one of {', '.join(COMPARISONS)}")
        if self.period_seconds < 10 or (self.period_seconds >= 60 and self.period_seconds % 60):
            raise ValueError(f"period_seconds {self.period_seconds} must be 10, 30 or a multiple of 60")


def lambda_watches(id_: str, *, service: str, function_name: str) -> dict[str, Watch]:
    """Errors and throttles of one function (``<id_>-errors``, ``<id_>-throttles``): any in
    5 minutes."""
    return {
        f"{id_}-{metric.lower()}": Watch(
            lambda_metric(metric, function_name),
            f"{service}-{metric.lower()}",
            f"Lambda {function_name}: {metric} >= 1 in 5 minutes",
        )
        for metric in ("Errors", "Throttles")
    }


def watch(scope: Construct, *, namer: Namer, topic_arn: str, watches: Mapping[str, Watch]) -> None:
    """One metric alarm per entry of ``watches`` (construct id -> :class:`Watch`), in order,
    notifying ``topic_arn``."""
    for id_, w in watches.items():
        CloudwatchMetricAlarm(
            scope,
            id_,
            alarm_name=namer.name(w.service, NameKind.ALARM),
            alarm_description=w.description,
            namespace=w.signal.namespace,
            metric_name=w.signal.metric,
            dimensions=dict(w.signal.dimensions),
            statistic=w.signal.statistic,
            period=w.period_seconds,
            evaluation_periods=w.evaluation_periods,
            threshold=w.threshold,
            comparison_operator=w.comparison,
            treat_missing_data="notBreaching",
            alarm_actions=[topic_arn],
            ok_actions=[topic_arn],
        )


def function_alarms(
    scope: Construct, *, namer: Namer, topic_arn: str, functions: Mapping[str, tuple[str, str]]
) -> None:
    """:func:`lambda_watches` of each function of a stack: construct id -> (service, function name)."""
    watches = {
        key: w
        for id_, (service, function_name) in functions.items()
        for key, w in lambda_watches(id_, service=service, function_name=function_name).items()
    }
    watch(scope, namer=namer, topic_arn=topic_arn, watches=watches)
