"""The base of the serverless systems' stacks (data, IoT, transaction, file processing).

Each opens alike: the provider, backend and tags of every :class:`TapStack`, then its
:class:`~lib.constructs.foundation.SystemFoundation` (KMS key, alert topic, dead-letter
queue), built from the stack's :attr:`SystemStack.foundation`, before anything else.
What every system then makes the same way is here too: tables and buckets encrypted
with the system's key and kept unless the environment is destroyable, the family of
its zip functions around its declared :attr:`SystemStack.shared_layer`, its API's
deployment and logs, and its alarms, all notifying its topic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from cdktf_cdktf_provider_aws.api_gateway_stage import ApiGatewayStage
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from lib.constructs.alarms import Watch, function_alarms, watch
from lib.constructs.dynamodb_table import Index, OnDemandTable
from lib.constructs.foundation import FoundationSpec, SystemFoundation
from lib.constructs.function_family import FunctionFamily, SharedLayer, system_layer
from lib.constructs.lambda_function import VpcPlacement
from lib.constructs.rest_api import JSON_ACCESS_LOG_FORMAT, RestApi
from lib.constructs.secure_bucket import BucketCors, SecureBucket, SecureBucketProps
from lib.naming import NameKind
from lib.stacks.base import StackContext, TapStack


class SystemStack(TapStack):
    """A :class:`TapStack` that opens with its system's foundation (``self.base``)."""

    #: What the system opens with (each system stack sets it).
    foundation: ClassVar[FoundationSpec]
    #: The layer of the system's zip functions (see :meth:`function_family`).
    shared_layer: ClassVar[SharedLayer | None] = None

    def __init__(self, scope: Construct, *, ctx: StackContext[Any]) -> None:
        super().__init__(scope, ctx=ctx)
        self.base = SystemFoundation(self, self.foundation, namer=self.namer, destroyable=self.destroyable)
        self.key, self.topic = self.base.key, self.base.topic

    @property
    def dlq(self) -> SqsQueue:
        """The foundation's dead-letter queue (an error where the system brings its own)."""
        return self.base.dlq

    # -- the system's data, encrypted with its key and kept unless the environment is destroyable

    def system_table(
        self,
        id_: str,
        service: str,
        *,
        hash_key: str,
        attributes: Mapping[str, str],
        range_key: str | None = None,
        indexes: Sequence[Index] = (),
    ) -> OnDemandTable:
        """The table ``<service>``: deletion-protected where the environment is kept."""
        return OnDemandTable(
            self,
            id_,
            name=self.namer.name(service, NameKind.DYNAMODB_TABLE),
            hash_key=hash_key,
            range_key=range_key,
            attributes=attributes,
            indexes=indexes,
            kms_key_arn=self.key.arn,
            deletion_protection=not self.destroyable,
        )

    def system_bucket(
        self,
        id_: str,
        service: str,
        *,
        noncurrent_expiration_days: int,
        glacier_transition_days: int | None = None,
        cors: BucketCors | None = None,
    ) -> SecureBucket:
        """The bucket ``<service>`` (with the account id): emptied on destroy where the
        environment is destroyable."""
        props = SecureBucketProps(
            name=self.namer.bucket(service),
            kms_key_arn=self.key.arn,
            noncurrent_expiration_days=noncurrent_expiration_days,
            glacier_transition_days=glacier_transition_days,
            cors=cors,
            force_destroy=self.destroyable,
        )
        return SecureBucket(self, id_, props)

    def alarms(self, *, functions: Mapping[str, tuple[str, str]], watches: Mapping[str, Watch]) -> None:
        """The system's alarms, all notifying its topic: errors and throttles of each function
        (construct id -> (service, function name)), then one alarm per watch."""
        function_alarms(self, namer=self.namer, topic_arn=self.topic.arn, functions=functions)
        watch(self, namer=self.namer, topic_arn=self.topic.arn, watches=watches)

    def function_family(
        self,
        *,
        system: str,
        runtime: str,
        memory_mb: int,
        dead_letter_queue_arn: str | None = None,
        package_id: str = "{function}-package",
        vpc: VpcPlacement | None = None,
    ) -> FunctionFamily:
        """The system's zip functions (``lib/lambda/<system>/``): the :attr:`shared_layer`
        (built here), the system's key, the foundation's dead-letter queue unless another
        is given, the settings' log retention."""
        if self.shared_layer is None:
            raise TypeError(f"{type(self).__name__} declares no shared_layer for its functions")
        shared = system_layer(self, self.shared_layer, namer=self.namer, system=system, runtime=runtime)
        return FunctionFamily(
            scope=self,
            namer=self.namer,
            system=system,
            layer_arn=shared.arn,
            key_arn=self.key.arn,
            dead_letter_queue_arn=dead_letter_queue_arn or self.dlq.arn,
            log_retention_days=self.settings.log_retention_days,
            memory_mb=memory_mb,
            runtime=runtime,
            package_id=package_id,
            vpc=vpc,
        )

    def deploy_api(
        self, api: RestApi, *, log_id: str, log_format: str = JSON_ACCESS_LOG_FORMAT
    ) -> ApiGatewayStage:
        """Deploy the system's ``api``: execution errors logged, and an access log (under
        ``log_id``) encrypted with the system's key, kept as long as its other logs."""
        access_log = api.access_log_group(
            log_id,
            retention_days=self.settings.log_retention_days,
            kms_key_arn=self.key.arn,
            log_format=log_format,
        )
        return api.deploy(access_log=access_log, logging_level="ERROR")
