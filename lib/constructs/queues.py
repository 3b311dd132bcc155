"""Encrypted SQS queues: a dead-letter queue, and a queue with its dead-letter queue.

The redrive policy is compact JSON: SQS returns it without whitespace, and
the provider compares it as text, so ``json.dumps`` default separators would
show a change on every plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from lib.naming import NameKind, ServiceName

MAX_RETENTION_SECONDS = 14 * 24 * 3600


def dead_letter_queue(
    scope: Construct,
    id_: str,
    *,
    name: str,
    kms_key_arn: str,
    retention_seconds: int = MAX_RETENTION_SECONDS,
) -> SqsQueue:
    """An encrypted queue that keeps what failed (14 days, SQS's longest, by default)."""
    _check_retention("retention_seconds", retention_seconds)
    return SqsQueue(
        scope,
        id_,
        name=name,
        message_retention_seconds=retention_seconds,
        kms_master_key_id=kms_key_arn,
        kms_data_key_reuse_period_seconds=300,
    )


def _check_retention(label: str, value: int) -> None:
    if not 60 <= value <= MAX_RETENTION_SECONDS:
        raise ValueError(f"{label} {value} is outside 60-{MAX_RETENTION_SECONDS}")


def redrive_policy(dead_letter_arn: str, max_receive_count: int) -> str:
    return json.dumps(
        {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": max_receive_count}, separators=(",", ":")
    )


@dataclass(frozen=True)
class QueueWithDlqProps:
    """The queue ``<service>`` and its dead-letter queue ``<service>-dlq``, both encrypted
    with ``kms_key_arn``."""

    service: ServiceName
    kms_key_arn: str
    #: Receives after which a message moves to the dead-letter queue.
    max_receive_count: int
    visibility_timeout_seconds: int
    dlq_retention_seconds: int = MAX_RETENTION_SECONDS
    retention_seconds: int = 4 * 24 * 3600

    def __post_init__(self) -> None:
        if self.max_receive_count < 1:
            raise ValueError(f"max_receive_count {self.max_receive_count} must be at least 1")
        _check_retention("retention_seconds", self.retention_seconds)
        _check_retention("dlq_retention_seconds", self.dlq_retention_seconds)


class QueueWithDlq(Construct):
    """``<service>`` and ``<service>-dlq``: after ``max_receive_count`` receives a message moves over."""

    def __init__(self, scope: Construct, id_: str, props: QueueWithDlqProps) -> None:
        super().__init__(scope, id_)
        self.dlq = dead_letter_queue(
            self,
            "dlq",
            name=props.service.part("dlq").name(NameKind.SQS_QUEUE),
            kms_key_arn=props.kms_key_arn,
            retention_seconds=props.dlq_retention_seconds,
        )
        self.queue = SqsQueue(
            self,
            "queue",
            name=props.service.name(NameKind.SQS_QUEUE),
            visibility_timeout_seconds=props.visibility_timeout_seconds,
            message_retention_seconds=props.retention_seconds,
            kms_master_key_id=props.kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
            redrive_policy=redrive_policy(self.dlq.arn, props.max_receive_count),
        )
