"""What every serverless system opens with: its KMS key, the grant to use it, its
alert topic and its dead-letter queue.

:class:`SystemFoundation` opens a serverless system's stack (data, IoT, transaction and
file processing). It is deliberately *not* a construct scope: it creates its resources
directly in the scope it is given (the stack), under the ids ``key``, the topic's id and
``dlq``. A resource's Terraform address is derived from its construct path, so a stack
built on it keeps the addresses (and the state) it had before, and two stacks read alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from lib.constructs.iam import Grant
from lib.constructs.kms import StackKey, StackKeyProps
from lib.constructs.queues import dead_letter_queue
from lib.naming import NameKind, Namer

#: What a function or workflow needs to read and write data encrypted with the key.
KEY_USE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


class SystemFoundation:
    """The KMS key (``<service>`` alias), ``key_use`` (the grant to use it), the alert
    topic ``<service>-<topic>`` and, unless ``dlq`` is ``None``, the dead-letter queue
    ``<service>-<dlq>``, all encrypted with the key.

    CloudWatch may use the key (alarms publish to the encrypted topic); so may CloudWatch
    Logs, as for every :class:`StackKey`.
    """

    def __init__(
        self,
        scope: Construct,
        *,
        namer: Namer,
        service: str,
        key_description: str,
        key_deletion_window_days: int = 7,
        topic: str = "alerts",
        topic_id: str = "alerts",
        topic_display_name: str | None = None,
        dlq: str | None = "dlq",
        key_service_principals: Sequence[str] = ("cloudwatch.amazonaws.com",),
    ) -> None:
        self.key = StackKey(
            scope,
            "key",
            StackKeyProps(
                service=namer.for_service(service),
                description=key_description,
                service_principals=list(key_service_principals),
                deletion_window_days=key_deletion_window_days,
            ),
        )
        self.key_use = Grant(actions=KEY_USE_ACTIONS, resources=[self.key.arn])
        self.topic = SnsTopic(
            scope,
            topic_id,
            name=namer.name(f"{service}-{topic}", NameKind.SNS_TOPIC),
            display_name=topic_display_name,
            kms_master_key_id=self.key.arn,
        )
        self._dlq: SqsQueue | None = None
        if dlq is not None:
            dlq_name = namer.name(f"{service}-{dlq}", NameKind.SQS_QUEUE)
            self._dlq = dead_letter_queue(scope, "dlq", name=dlq_name, kms_key_arn=self.key.arn)

    @property
    def dlq(self) -> SqsQueue:
        if self._dlq is None:
            raise ValueError("this system's foundation has no dead-letter queue (it was built with dlq=None)")
        return self._dlq
