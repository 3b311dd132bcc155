"""Serverless transaction processing (seed 002): upload API -> validated CSV in S3
-> EXPRESS workflow (validate -> transform -> notify) -> DynamoDB + SNS.

Composition only: the pieces live in ``lib/constructs/`` and the workflow
definition in :mod:`lib.stacks.transaction_workflow`. The three functions are container
images (arm64) from ``lib/lambda/transaction_pipeline/<function>/``; their
repositories live in the ``transaction_images`` stack and the images are
pushed between the two applies (docs/stacks/transaction_pipeline.md).
"""

from __future__ import annotations

import json
from typing import Any

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.s3_bucket_notification import S3BucketNotification
from constructs import Construct

from lib.config.settings.transaction_pipeline import TransactionPipelineSettings
from lib.constructs.alarms import Watch, executions_failed, queue_depth
from lib.constructs.api_clients import UsagePlanProps, json_body, usage_plan
from lib.constructs.container_image import ContainerImage
from lib.constructs.dynamodb_table import Index
from lib.constructs.foundation import FoundationSpec
from lib.constructs.iam import Grant, ServiceRole
from lib.constructs.lambda_function import LambdaFunction, LambdaFunctionProps, LambdaImage
from lib.constructs.rest_api import RestApi, Throttle
from lib.constructs.state_machine import StateMachine, StateMachineProps
from lib.naming import NameKind
from lib.stacks.base import StackContext
from lib.stacks.system import SystemStack
from lib.stacks.transaction_images import FUNCTIONS, repository_name
from lib.stacks.transaction_workflow import workflow_definition

SYSTEM = "transaction_pipeline"
VALIDATED_PREFIX = "validated/"
UPLOAD_PATH = "/upload"
STAGE = "v1"
FILE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.csv$"


def upload_schema(max_file_bytes: int) -> dict[str, Any]:
    """The JSON schema (draft-04, as API Gateway models use) of POST /upload."""
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "UploadRequest",
        "type": "object",
        "required": ["file_name", "content"],
        "additionalProperties": False,
        "properties": {
            "file_name": {"type": "string", "pattern": FILE_NAME_PATTERN},
            "content": {"type": "string", "minLength": 1, "maxLength": max_file_bytes},
        },
    }


def upload_event_pattern(bucket: str) -> dict[str, Any]:
    """S3 "Object Created" events for keys under ``validated/`` of ``bucket``."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": VALIDATED_PREFIX}]}},
    }


class TransactionPipelineStack(SystemStack):
    #: Key, notification topic (summaries and alerts) and the dead-letter queue.
    foundation = FoundationSpec(
        service="txn",
        key_description="Transaction pipeline data at rest ({name})",
        kept_key_deletion_window_days=30,
        topic="notifications",
        topic_id="topic",
    )
    depends_on = ("transaction_images",)
    settings: TransactionPipelineSettings

    def __init__(self, scope: Construct, *, ctx: StackContext[TransactionPipelineSettings]) -> None:
        images_region = ctx.dependency_regions["transaction_images"]
        if images_region != ctx.region:
            raise ValueError(
                f"transaction_pipeline deploys to {ctx.region} but transaction_images to {images_region}: "
                "Lambda pulls images only from ECR in its own region; set the same region for both"
            )
        super().__init__(scope, ctx=ctx)
        self._storage()
        self._functions()
        self.workflow = self._workflow()
        self._upload_trigger()
        self._api()
        self._alarms()
        self._outputs()

    # -- sections -------------------------------------------------------------------
    def _storage(self) -> None:
        """The uploads bucket (its events go to EventBridge), the transactions and status tables."""
        self.bucket = self.system_bucket("uploads", "txn-uploads", noncurrent_expiration_days=7)
        S3BucketNotification(self, "uploads-eventbridge", bucket=self.bucket.id, eventbridge=True)
        # Each keyed by its id, with an index of its items by time: transactions per
        # day, uploads per status.
        self.transactions, self.status = (
            self.system_table(
                id_,
                service,
                hash_key=hash_key,
                attributes={hash_key: "S", by: "S", "timestamp": "S"},
                indexes=[Index(name="by-timestamp", hash_key=by, range_key="timestamp")],
            )
            for id_, service, hash_key, by in (
                ("transactions", "txn-transactions", "transaction_id", "transaction_date"),
                ("status", "txn-processing-status", "upload_id", "status"),
            )
        )

    def _functions(self) -> None:
        """The three container-image functions; their images are pushed between the applies."""
        settings, bucket, status, namer = self.settings, self.bucket, self.status, self.namer
        env_common = {"STATUS_TABLE": status.name}
        update_status = Grant(actions=["dynamodb:UpdateItem"], resources=[status.arn])
        function_inputs: dict[str, tuple[dict[str, str], list[Grant], str]] = {
            "csv_validator": (
                {
                    **env_common,
                    "UPLOAD_BUCKET": bucket.name,
                    "MAX_FILE_BYTES": str(settings.max_file_bytes),
                    "MAX_ROWS": str(settings.max_rows),
                },
                [
                    Grant(
                        actions=["s3:GetObject", "s3:PutObject"],
                        resources=[bucket.objects_arn(VALIDATED_PREFIX)],
                    ),
                    Grant(actions=["dynamodb:PutItem"], resources=[status.arn]),
                ],
                "Validates uploaded transaction CSVs (API and workflow)",
            ),
            "data_transformer": (
                {**env_common, "TRANSACTIONS_TABLE": self.transactions.name},
                [
                    Grant(actions=["s3:GetObject"], resources=[bucket.objects_arn(VALIDATED_PREFIX)]),
                    Grant(
                        actions=["dynamodb:BatchWriteItem", "dynamodb:PutItem"],
                        resources=[self.transactions.arn],
                    ),
                    update_status,
                ],
                "Normalizes validated transactions into DynamoDB",
            ),
            "notification_sender": (
                {**env_common, "NOTIFICATION_TOPIC_ARN": self.topic.arn},
                [Grant(actions=["sns:Publish"], resources=[self.topic.arn]), update_status],
                "Publishes a processing summary and completes the status",
            ),
        }
        self.container_images: list[ContainerImage] = []
        self.functions: dict[str, LambdaFunction] = {}
        for function, (environment, grants, description) in function_inputs.items():
            image = ContainerImage.for_function(
                system=SYSTEM,
                function=function,
                repository=repository_name(namer, function),
                account_id=self.ctx.account_id,
                region=self.ctx.region,
                architecture="arm64",
            )
            self.container_images.append(image)
            props = LambdaFunctionProps(
                service=namer.for_service(FUNCTIONS[function]),
                code=LambdaImage(image_uri=image.uri, command=image.command),
                description=description,
                log_retention_days=settings.log_retention_days,
                log_kms_key_arn=self.key.arn,
                grants=[*grants, self.base.key_use],
                environment=environment,
                architecture="arm64",
                memory_mb=settings.memory_mb,
                timeout_seconds=settings.timeout_seconds,
                reserved_concurrency=settings.reserved_concurrency,
                dead_letter_queue_arn=self.dlq.arn,
                kms_key_arn=self.key.arn,
            )
            self.functions[function] = LambdaFunction(self, function.replace("_", "-"), props)

    def _workflow(self) -> StateMachine:
        """validate -> transform -> notify (EXPRESS); rows carry account ids, so executions'
        data stays out of the logs."""
        machine_name = self.namer.name("txn-workflow", NameKind.STATE_MACHINE)
        definition = workflow_definition(
            validator_arn=self.functions["csv_validator"].arn,
            transformer_arn=self.functions["data_transformer"].arn,
            notifier_arn=self.functions["notification_sender"].arn,
            status_table=self.status.name,
            dlq_url=self.dlq.url,
            topic_arn=self.topic.arn,
            retry=self.settings.retry,
        )
        props = StateMachineProps(
            service=self.namer.for_service("txn-workflow"),
            role_description=f"Step Functions role of {machine_name}",
            grants=[
                Grant(actions=["lambda:InvokeFunction"], resources=[f.arn for f in self.functions.values()]),
                Grant(actions=["dynamodb:UpdateItem"], resources=[self.status.arn]),
                Grant(actions=["sqs:SendMessage"], resources=[self.dlq.arn]),
                Grant(actions=["sns:Publish"], resources=[self.topic.arn]),
                self.base.key_use,
            ],
            definition=json.dumps(definition, separators=(",", ":")),
            kms_key_arn=self.key.arn,
            log_retention_days=self.settings.log_retention_days,
            type_="EXPRESS",
            log_level="ALL",
            include_execution_data=False,
            wait_for_role_policy=True,
        )
        return StateMachine(self, "workflow", props)

    def _upload_trigger(self) -> None:
        """S3 (validated/) -> EventBridge -> the workflow."""
        namer = self.namer
        self.rule = CloudwatchEventRule(
            self,
            "upload-rule",
            name=namer.name("txn-validated-upload"),
            description="A CSV under validated/ starts the transaction workflow",
            event_pattern=json.dumps(upload_event_pattern(self.bucket.name), separators=(",", ":")),
        )
        events_role = ServiceRole(
            self,
            "events-role",
            name=namer.name("txn-events", NameKind.IAM_ROLE),
            service="events.amazonaws.com",
            source_account=self.ctx.account_id,
            description="EventBridge starts the transaction workflow",
            grants=[Grant(actions=["states:StartExecution"], resources=[self.workflow.arn])],
        )
        CloudwatchEventTarget(
            self,
            "upload-target",
            rule=self.rule.name,
            target_id="transaction-workflow",
            arn=self.workflow.arn,
            role_arn=events_role.arn,
        )

    def _api(self) -> None:
        """POST /upload: a validated body, an API key, a usage plan with a daily quota."""
        settings, namer, validator = self.settings, self.namer, self.functions["csv_validator"]
        api = self.api = RestApi(
            self,
            "rest-api",
            name=namer.name("txn-api", NameKind.API),
            description="Transaction CSV uploads",
            stage_name=STAGE,
            throttle=Throttle(rate_limit=settings.api.rate_limit, burst_limit=settings.api.burst_limit),
        )
        body = json_body(
            api,
            "api-model",
            name="UploadRequest",
            description="POST /upload body",
            schema=upload_schema(settings.max_file_bytes),
        )
        api.lambda_route(
            UPLOAD_PATH,
            "POST",
            function_name=validator.name,
            invoke_arn=validator.invoke_arn,
            authorization="NONE",
            api_key_required=True,
            request_validator_id=body.validator.id,
            request_models={"application/json": body.model.name},
        )
        self.deploy_api(api, log_id="api-access-logs")
        clients = UsagePlanProps(
            name=namer.name("txn-usage-plan"),
            description="Upload API clients: steady rate, burst and a daily quota per key",
            key_name=namer.name("txn-upload-client"),
            key_description="Upload API client key (value generated by AWS)",
            daily_quota=settings.api.daily_quota,
        )
        self.clients = usage_plan(api, clients)

    def _alarms(self) -> None:
        threshold = self.settings.dlq_alarm_threshold
        self.alarms(
            functions={
                f"alarms-{function.replace('_', '-')}": (FUNCTIONS[function], fn.name)
                for function, fn in self.functions.items()
            },
            watches={
                "alarm-workflow-failed": Watch(
                    executions_failed(self.workflow.arn),
                    "txn-workflow-failed",
                    f"Step Functions {self.workflow.name}: executions failed",
                ),
                "alarm-dlq-depth": Watch(
                    queue_depth(self.dlq.name),
                    "txn-dlq-depth",
                    f"Dead-letter queue holds >= {threshold} message(s)",
                    threshold=threshold,
                ),
            },
        )

    def _outputs(self) -> None:
        outputs = {
            "TransactionApiEndpoint": f"{self.api.invoke_url}{UPLOAD_PATH}",
            "TransactionApiId": self.api.id,
            "TransactionApiKeyId": self.clients.key.id,
            "TransactionUsagePlanId": self.clients.plan.id,
            "TransactionUploadBucketName": self.bucket.name,
            "TransactionsTableName": self.transactions.name,
            "TransactionStatusTableName": self.status.name,
            "TransactionStateMachineArn": self.workflow.arn,
            "TransactionNotificationTopicArn": self.topic.arn,
            "TransactionDlqUrl": self.dlq.url,
            "TransactionEventRuleName": self.rule.name,
            "TransactionKmsKeyArn": self.key.arn,
        }
        for function, fn in self.functions.items():
            prefix = "Transaction" + "".join(p.capitalize() for p in function.split("_"))
            outputs[f"{prefix}FunctionName"] = fn.name
        for name, value in outputs.items():
            TerraformOutput(self, name, value=value)
