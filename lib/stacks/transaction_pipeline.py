"""Serverless transaction processing (seed 002): upload API -> validated CSV in S3
-> EXPRESS workflow (validate -> transform -> notify) -> DynamoDB + SNS.

Composition only: the pieces live in ``lib/constructs/`` and the workflow
definition in :func:`workflow_definition`. The three functions are container
images (arm64) from ``lib/lambda/transaction_pipeline/<function>/``; their
repositories live in the ``transaction_images`` stack and the images are
pushed between the two applies (docs/stacks/transaction_pipeline.md).
"""

from __future__ import annotations

import json
from typing import Any

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.api_gateway_api_key import ApiGatewayApiKey
from cdktf_cdktf_provider_aws.api_gateway_model import ApiGatewayModel
from cdktf_cdktf_provider_aws.api_gateway_request_validator import ApiGatewayRequestValidator
from cdktf_cdktf_provider_aws.api_gateway_usage_plan import (
    ApiGatewayUsagePlan,
    ApiGatewayUsagePlanApiStages,
    ApiGatewayUsagePlanQuotaSettings,
    ApiGatewayUsagePlanThrottleSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_usage_plan_key import ApiGatewayUsagePlanKey
from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.s3_bucket_notification import S3BucketNotification
from cdktf_cdktf_provider_aws.sfn_state_machine import (
    SfnStateMachine,
    SfnStateMachineLoggingConfiguration,
    SfnStateMachineTracingConfiguration,
)
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from lib.config.settings.transaction_pipeline import TransactionPipelineSettings, WorkflowRetry
from lib.constructs.alarms import lambda_alarms, metric_alarm
from lib.constructs.container_image import ContainerImage
from lib.constructs.dynamodb_table import Index, OnDemandTable
from lib.constructs.iam import Grant, ServiceRole
from lib.constructs.kms import StackKey
from lib.constructs.lambda_function import LambdaFunction, LambdaImage
from lib.constructs.rest_api import AccessLog, RestApi, Throttle
from lib.constructs.secure_bucket import SecureBucket
from lib.naming import NameKind
from lib.stacks.base import StackContext, TapStack
from lib.stacks.transaction_images import FUNCTIONS, repository_name

SYSTEM = "transaction_pipeline"
VALIDATED_PREFIX = "validated/"
UPLOAD_PATH = "/upload"
STAGE = "v1"
#: Errors worth retrying: Lambda's own transient failures, not a bad file.
TRANSIENT_LAMBDA_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
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


def _task(
    function_arn: str,
    *,
    payload: dict[str, str],
    result: dict[str, str],
    result_path: str,
    retry: WorkflowRetry,
    next_state: str,
) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload": payload},
        "ResultSelector": result,
        "ResultPath": result_path,
        "Retry": [
            {
                "ErrorEquals": TRANSIENT_LAMBDA_ERRORS,
                "IntervalSeconds": retry.interval_seconds,
                "MaxAttempts": retry.max_attempts,
                "BackoffRate": retry.backoff_rate,
            }
        ],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}],
        "Next": next_state,
    }


def workflow_definition(
    *,
    validator_arn: str,
    transformer_arn: str,
    notifier_arn: str,
    status_table: str,
    dlq_url: str,
    topic_arn: str,
    retry: WorkflowRetry,
) -> dict[str, Any]:
    """validate -> transform -> notify; any failure -> status FAILED, DLQ message, SNS notice, Fail."""
    service_retry = [
        {
            "ErrorEquals": ["States.TaskFailed"],
            "IntervalSeconds": retry.interval_seconds,
            "MaxAttempts": retry.max_attempts,
            "BackoffRate": retry.backoff_rate,
        }
    ]
    return {
        "Comment": "Transaction CSV processing: validate, transform, notify",
        "StartAt": "Describe",
        "States": {
            # The EventBridge "Object Created" event -> {bucket, key, upload_id}.
            "Describe": {
                "Type": "Pass",
                "Parameters": {
                    "bucket.$": "$.detail.bucket.name",
                    "key.$": "$.detail.object.key",
                    "upload_id.$": "States.ArrayGetItem(States.StringSplit($.detail.object.key, '/'), 1)",
                },
                "Next": "Validate",
            },
            "Validate": _task(
                validator_arn,
                payload={"bucket.$": "$.bucket", "key.$": "$.key"},
                result={"rows.$": "$.Payload.rows"},
                result_path="$.validation",
                retry=retry,
                next_state="Transform",
            ),
            "Transform": _task(
                transformer_arn,
                payload={"bucket.$": "$.bucket", "key.$": "$.key", "upload_id.$": "$.upload_id"},
                result={"written.$": "$.Payload.written", "totals.$": "$.Payload.totals"},
                result_path="$.transform",
                retry=retry,
                next_state="Notify",
            ),
            "Notify": _task(
                notifier_arn,
                payload={
                    "upload_id.$": "$.upload_id",
                    "key.$": "$.key",
                    "written.$": "$.transform.written",
                    "totals.$": "$.transform.totals",
                },
                result={"message_id.$": "$.Payload.message_id"},
                result_path="$.notification",
                retry=retry,
                next_state="Done",
            ),
            "Done": {"Type": "Succeed"},
            "RecordFailure": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {
                    "TableName": status_table,
                    "Key": {"upload_id": {"S.$": "$.upload_id"}},
                    "UpdateExpression": "SET #s = :s, #e = :e",
                    "ExpressionAttributeNames": {"#s": "status", "#e": "error"},
                    "ExpressionAttributeValues": {":s": {"S": "FAILED"}, ":e": {"S.$": "$.error.Error"}},
                },
                "ResultPath": None,
                "Retry": service_retry,
                # Even if the status cannot be written, the failure still reaches the DLQ.
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "SendToDlq"}],
                "Next": "SendToDlq",
            },
            "SendToDlq": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": dlq_url, "MessageBody.$": "$"},
                "ResultPath": None,
                "Retry": service_retry,
                "Next": "NotifyFailure",
            },
            "NotifyFailure": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {
                    "TopicArn": topic_arn,
                    "Subject": "Transaction upload failed",
                    "Message.$": "States.JsonToString($)",
                },
                "ResultPath": None,
                "Retry": service_retry,
                "Next": "Failed",
            },
            "Failed": {
                "Type": "Fail",
                "Error": "TransactionProcessingFailed",
                "Cause": "A step failed; the execution input and error are on the dead-letter queue.",
            },
        },
    }


def upload_event_pattern(bucket: str) -> dict[str, Any]:
    """S3 "Object Created" events for keys under ``validated/`` of ``bucket``."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": VALIDATED_PREFIX}]}},
    }


class TransactionPipelineStack(TapStack):
    depends_on = ("transaction_images",)

    def __init__(self, scope: Construct, *, ctx: StackContext) -> None:
        super().__init__(scope, ctx=ctx)
        settings = ctx.settings_as(TransactionPipelineSettings)
        namer = self.namer
        images_region = ctx.env.region_for("transaction_images")
        if images_region != ctx.region:
            raise ValueError(
                f"transaction_pipeline deploys to {ctx.region} but transaction_images to {images_region}: "
                "Lambda pulls images only from ECR in its own region; set the same region for both"
            )
        destroyable = ctx.env.protection.destroy_allowed
        account = ctx.env.account_id

        key = StackKey(
            self,
            "key",
            namer=namer,
            service="txn",
            description=f"Transaction pipeline data at rest ({namer.name('txn')})",
            service_principals=["cloudwatch.amazonaws.com"],
            deletion_window_days=7 if destroyable else 30,
        )
        key_use = Grant(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.arn])

        # -- storage ------------------------------------------------------------
        bucket = SecureBucket(
            self,
            "uploads",
            name=namer.bucket("txn-uploads"),
            kms_key_arn=key.arn,
            noncurrent_expiration_days=7,
            force_destroy=destroyable,
        )
        S3BucketNotification(self, "uploads-eventbridge", bucket=bucket.id, eventbridge=True)
        transactions = OnDemandTable(
            self,
            "transactions",
            name=namer.name("txn-transactions", NameKind.DYNAMODB_TABLE),
            hash_key="transaction_id",
            attributes={"transaction_id": "S", "transaction_date": "S", "timestamp": "S"},
            indexes=[Index(name="by-timestamp", hash_key="transaction_date", range_key="timestamp")],
            kms_key_arn=key.arn,
            deletion_protection=not destroyable,
        )
        status = OnDemandTable(
            self,
            "status",
            name=namer.name("txn-processing-status", NameKind.DYNAMODB_TABLE),
            hash_key="upload_id",
            attributes={"upload_id": "S", "status": "S", "timestamp": "S"},
            indexes=[Index(name="by-timestamp", hash_key="status", range_key="timestamp")],
            kms_key_arn=key.arn,
            deletion_protection=not destroyable,
        )
        topic = SnsTopic(
            self, "topic", name=namer.name("txn-notifications", NameKind.SNS_TOPIC), kms_master_key_id=key.arn
        )
        dlq = SqsQueue(
            self,
            "dlq",
            name=namer.name("txn-dlq", NameKind.SQS_QUEUE),
            kms_master_key_id=key.arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=14 * 24 * 3600,
        )

        # -- functions (container images) --------------------------------------
        self.container_images: list[ContainerImage] = []
        env_common = {"STATUS_TABLE": status.name}
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
                {**env_common, "TRANSACTIONS_TABLE": transactions.name},
                [
                    Grant(actions=["s3:GetObject"], resources=[bucket.objects_arn(VALIDATED_PREFIX)]),
                    Grant(
                        actions=["dynamodb:BatchWriteItem", "dynamodb:PutItem"], resources=[transactions.arn]
                    ),
                    Grant(actions=["dynamodb:UpdateItem"], resources=[status.arn]),
                ],
                "Normalizes validated transactions into DynamoDB",
            ),
            "notification_sender": (
                {**env_common, "NOTIFICATION_TOPIC_ARN": topic.arn},
                [
                    Grant(actions=["sns:Publish"], resources=[topic.arn]),
                    Grant(actions=["dynamodb:UpdateItem"], resources=[status.arn]),
                ],
                "Publishes a processing summary and completes the status",
            ),
        }
        self.functions: dict[str, LambdaFunction] = {}
        for function, (environment, grants, description) in function_inputs.items():
            image = ContainerImage.for_function(
                system=SYSTEM,
                function=function,
                repository=repository_name(namer, function),
                account_id=account,
                region=ctx.region,
                architecture="arm64",
            )
            self.container_images.append(image)
            self.functions[function] = LambdaFunction(
                self,
                function.replace("_", "-"),
                namer=namer,
                service=FUNCTIONS[function],
                code=LambdaImage(image_uri=image.uri, command=image.command),
                description=description,
                log_retention_days=settings.log_retention_days,
                log_kms_key_arn=key.arn,
                grants=[*grants, key_use],
                environment=environment,
                architecture="arm64",
                memory_mb=settings.memory_mb,
                timeout_seconds=settings.timeout_seconds,
                reserved_concurrency=settings.reserved_concurrency,
                dead_letter_queue_arn=dlq.arn,
                kms_key_arn=key.arn,
            )
        validator = self.functions["csv_validator"]

        # -- workflow -----------------------------------------------------------
        machine_name = namer.name("txn-workflow", NameKind.STATE_MACHINE)
        workflow_logs = CloudwatchLogGroup(
            self,
            "workflow-logs",
            name=f"/aws/vendedlogs/states/{machine_name}",
            retention_in_days=settings.log_retention_days,
            kms_key_id=key.arn,
        )
        workflow_role = ServiceRole(
            self,
            "workflow-role",
            name=namer.name("txn-workflow", NameKind.IAM_ROLE),
            service="states.amazonaws.com",
            source_account=account,
            description=f"Step Functions role of {machine_name}",
            grants=[
                Grant(actions=["lambda:InvokeFunction"], resources=[f.arn for f in self.functions.values()]),
                Grant(actions=["dynamodb:UpdateItem"], resources=[status.arn]),
                Grant(actions=["sqs:SendMessage"], resources=[dlq.arn]),
                Grant(actions=["sns:Publish"], resources=[topic.arn]),
                key_use,
                Grant(
                    actions=[
                        "logs:CreateLogDelivery",
                        "logs:DeleteLogDelivery",
                        "logs:DescribeLogGroups",
                        "logs:DescribeResourcePolicies",
                        "logs:GetLogDelivery",
                        "logs:ListLogDeliveries",
                        "logs:PutResourcePolicy",
                        "logs:UpdateLogDelivery",
                    ],
                    resources=["*"],
                    reason="CloudWatch Logs vended-log delivery APIs have no resource-level permissions",
                ),
                Grant(
                    actions=[
                        "xray:GetSamplingRules",
                        "xray:GetSamplingTargets",
                        "xray:PutTelemetryRecords",
                        "xray:PutTraceSegments",
                    ],
                    resources=["*"],
                    reason="X-Ray trace APIs have no resource-level permissions",
                ),
            ],
        )
        definition = workflow_definition(
            validator_arn=validator.arn,
            transformer_arn=self.functions["data_transformer"].arn,
            notifier_arn=self.functions["notification_sender"].arn,
            status_table=status.name,
            dlq_url=dlq.url,
            topic_arn=topic.arn,
            retry=settings.retry,
        )
        machine = SfnStateMachine(
            self,
            "workflow",
            name=machine_name,
            type="EXPRESS",
            role_arn=workflow_role.arn,
            definition=json.dumps(definition, separators=(",", ":")),
            logging_configuration=SfnStateMachineLoggingConfiguration(
                log_destination=f"{workflow_logs.arn}:*",
                include_execution_data=False,  # rows carry account ids: keep them out of logs
                level="ALL",
            ),
            tracing_configuration=SfnStateMachineTracingConfiguration(enabled=True),
            depends_on=[workflow_role.policy],
        )

        # -- S3 (validated/) -> EventBridge -> workflow --------------------------
        rule = CloudwatchEventRule(
            self,
            "upload-rule",
            name=namer.name("txn-validated-upload"),
            description="A CSV under validated/ starts the transaction workflow",
            event_pattern=json.dumps(upload_event_pattern(bucket.name), separators=(",", ":")),
        )
        events_role = ServiceRole(
            self,
            "events-role",
            name=namer.name("txn-events", NameKind.IAM_ROLE),
            service="events.amazonaws.com",
            source_account=account,
            description="EventBridge starts the transaction workflow",
            grants=[Grant(actions=["states:StartExecution"], resources=[machine.arn])],
        )
        CloudwatchEventTarget(
            self,
            "upload-target",
            rule=rule.name,
            target_id="transaction-workflow",
            arn=machine.arn,
            role_arn=events_role.arn,
        )

        # -- REST API: POST /upload (validated body, API key, usage plan) --------
        api = RestApi(
            self,
            "rest-api",
            name=namer.name("txn-api", NameKind.API),
            description="Transaction CSV uploads",
            stage_name=STAGE,
            throttle=Throttle(rate_limit=settings.api.rate_limit, burst_limit=settings.api.burst_limit),
        )
        validator_rule = ApiGatewayRequestValidator(
            self,
            "api-validator",
            rest_api_id=api.id,
            name="body-and-parameters",
            validate_request_body=True,
            validate_request_parameters=True,
        )
        model = ApiGatewayModel(
            self,
            "api-model",
            rest_api_id=api.id,
            name="UploadRequest",
            content_type="application/json",
            description="POST /upload body",
            schema=json.dumps(upload_schema(settings.max_file_bytes), separators=(",", ":")),
        )
        api.lambda_route(
            UPLOAD_PATH,
            "POST",
            function_name=validator.name,
            invoke_arn=validator.invoke_arn,
            authorization="NONE",
            api_key_required=True,
            request_validator_id=validator_rule.id,
            request_models={"application/json": model.name},
        )
        access_logs = CloudwatchLogGroup(
            self,
            "api-access-logs",
            name=f"/aws/apigateway/{namer.name('txn-api', NameKind.LOG_GROUP)}",
            retention_in_days=settings.log_retention_days,
            kms_key_id=key.arn,
        )
        stage = api.deploy(access_log=AccessLog(destination_arn=access_logs.arn), logging_level="ERROR")
        plan = ApiGatewayUsagePlan(
            self,
            "usage-plan",
            name=namer.name("txn-usage-plan"),
            description="Upload API clients: steady rate, burst and a daily quota per key",
            api_stages=[ApiGatewayUsagePlanApiStages(api_id=api.id, stage=stage.stage_name)],
            throttle_settings=ApiGatewayUsagePlanThrottleSettings(
                rate_limit=settings.api.rate_limit, burst_limit=settings.api.burst_limit
            ),
            quota_settings=ApiGatewayUsagePlanQuotaSettings(limit=settings.api.daily_quota, period="DAY"),
        )
        api_key = ApiGatewayApiKey(
            self,
            "api-key",
            name=namer.name("txn-upload-client"),
            enabled=True,
            description="Upload API client key (value generated by AWS)",
        )
        ApiGatewayUsagePlanKey(
            self, "usage-plan-key", key_id=api_key.id, key_type="API_KEY", usage_plan_id=plan.id
        )

        # -- alarms ---------------------------------------------------------------
        for function, fn in self.functions.items():
            lambda_alarms(
                self,
                f"alarms-{function.replace('_', '-')}",
                namer=namer,
                service=FUNCTIONS[function],
                function_name=fn.name,
                topic_arn=topic.arn,
            )
        metric_alarm(
            self,
            "alarm-workflow-failed",
            name=namer.name("txn-workflow-failed", NameKind.ALARM),
            description=f"Step Functions {machine_name}: executions failed",
            namespace="AWS/States",
            metric="ExecutionsFailed",
            dimensions={"StateMachineArn": machine.arn},
            topic_arn=topic.arn,
        )
        metric_alarm(
            self,
            "alarm-dlq-depth",
            name=namer.name("txn-dlq-depth", NameKind.ALARM),
            description=f"Dead-letter queue holds >= {settings.dlq_alarm_threshold} message(s)",
            namespace="AWS/SQS",
            metric="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": dlq.name},
            topic_arn=topic.arn,
            statistic="Maximum",
            threshold=settings.dlq_alarm_threshold,
        )

        # -- outputs -------------------------------------------------------------
        outputs = {
            "TransactionApiEndpoint": f"{api.invoke_url}{UPLOAD_PATH}",
            "TransactionApiId": api.id,
            "TransactionApiKeyId": api_key.id,
            "TransactionUsagePlanId": plan.id,
            "TransactionUploadBucketName": bucket.name,
            "TransactionsTableName": transactions.name,
            "TransactionStatusTableName": status.name,
            "TransactionStateMachineArn": machine.arn,
            "TransactionNotificationTopicArn": topic.arn,
            "TransactionDlqUrl": dlq.url,
            "TransactionEventRuleName": rule.name,
            "TransactionKmsKeyArn": key.arn,
        }
        for function, fn in self.functions.items():
            prefix = "Transaction" + "".join(p.capitalize() for p in function.split("_"))
            outputs[f"{prefix}FunctionName"] = fn.name
        for name, value in outputs.items():
            TerraformOutput(self, name, value=value)
