"""An SQS queue with its dead-letter queue, both encrypted.

The redrive policy is compact JSON: SQS returns it without whitespace, and
the provider compares it as text, so ``json.dumps`` default separators would
show a change on every plan.
"""

from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from lib.naming import NameKind, Namer

MAX_RETENTION_SECONDS = 14 * 24 * 3600


def redrive_policy(dead_letter_arn: str, max_receive_count: int) -> str:
    return json.dumps(
        {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": max_receive_count}, separators=(",", ":")
    )


class QueueWithDlq(Construct):
    """``<service>`` and ``<service>-dlq``: after ``max_receive_count`` receives a message moves over."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        namer: Namer,
        service: str,
        kms_key_arn: str,
        max_receive_count: int,
        visibility_timeout_seconds: int,
        dlq_retention_seconds: int = MAX_RETENTION_SECONDS,
        retention_seconds: int = 4 * 24 * 3600,
    ) -> None:
        if max_receive_count < 1:
            raise ValueError(f"max_receive_count {max_receive_count} must be at least 1")
        for label, value in (
            ("retention_seconds", retention_seconds),
            ("dlq_retention_seconds", dlq_retention_seconds),
        ):
            if not 60 <= value <= MAX_RETENTION_SECONDS:
                raise ValueError(f"{label} {value} is outside 60-{MAX_RETENTION_SECONDS}")
        super().__init__(scope, id_)
        self.dlq = SqsQueue(
            self,
            "dlq",
            name=namer.name(f"{service}-dlq", NameKind.SQS_QUEUE),
            message_retention_seconds=dlq_retention_seconds,
            kms_master_key_id=kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
        )
        self.queue = SqsQueue(
            self,
            "queue",
            name=namer.name(service, NameKind.SQS_QUEUE),
            visibility_timeout_seconds=visibility_timeout_seconds,
            message_retention_seconds=retention_seconds,
            kms_master_key_id=kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
            redrive_policy=redrive_policy(self.dlq.arn, max_receive_count),
        )
