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
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from lib.constructs.iam import Grant
from lib.constructs.kms import StackKey, StackKeyProps
from lib.constructs.queues import dead_letter_queue
from lib.naming import NameKind, Namer

#: What a function or workflow needs to read and write data encrypted with the key.
KEY_USE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class FoundationSpec:
    """What one serverless system opens with, as data (a constant of its stack module)."""

    #: The system's short name: the key's alias, ``<service>-<topic>``, ``<service>-<dlq>``.
    service: str
    #: The key's description; ``{suffix}`` (the environment's) and ``{name}`` (the
    #: service's name) are filled in.
    key_description: str
    #: The key's deletion window where the workflows may not destroy the environment
    #: (where they may, 7 days).
    kept_key_deletion_window_days: int = 7
    topic: str = "alerts"
    topic_id: str = "alerts"
    topic_display_name: str | None = None
    #: ``None``: the system brings its own dead-letter queue.
    dlq: str | None = "dlq"
    key_service_principals: Sequence[str] = ("cloudwatch.amazonaws.com",)


class SystemFoundation:
    """The KMS key (``<service>`` alias), ``key_use`` (the grant to use it), the alert
    topic ``<service>-<topic>`` and, unless ``dlq`` is ``None``, the dead-letter queue
    ``<service>-<dlq>``, all encrypted with the key.

    CloudWatch may use the key (alarms publish to the encrypted topic); so may CloudWatch
    Logs, as for every :class:`StackKey`.
    """

    def __init__(self, scope: Construct, spec: FoundationSpec, *, namer: Namer, destroyable: bool) -> None:
        service = namer.for_service(spec.service)
        self.key = StackKey(
            scope,
            "key",
            StackKeyProps(
                service=service,
                description=spec.key_description.format(suffix=namer.suffix, name=service.name()),
                service_principals=list(spec.key_service_principals),
                deletion_window_days=7 if destroyable else spec.kept_key_deletion_window_days,
            ),
        )
        self.key_use = Grant(actions=KEY_USE_ACTIONS, resources=[self.key.arn])
        self.topic = SnsTopic(
            scope,
            spec.topic_id,
            name=service.part(spec.topic).name(NameKind.SNS_TOPIC),
            display_name=spec.topic_display_name,
            kms_master_key_id=self.key.arn,
        )
        self._dlq: SqsQueue | None = None
        if spec.dlq is not None:
            dlq_name = service.part(spec.dlq).name(NameKind.SQS_QUEUE)
            self._dlq = dead_letter_queue(scope, "dlq", name=dlq_name, kms_key_arn=self.key.arn)

    @property
    def dlq(self) -> SqsQueue:
        if self._dlq is None:
            raise ValueError("this system's foundation has no dead-letter queue (its spec has dlq=None)")
        return self._dlq
