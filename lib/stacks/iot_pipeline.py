"""IoT pipeline: a signed REST API in front of ingest -> SQS -> processor -> DynamoDB.

* ``POST /ingest`` validates a reading, stores it in the raw table and queues it;
* the processor consumes the queue in batches (reporting partial failures; a
  message failing ``max_receive_count`` times lands in the dead-letter queue)
  and keeps per-device, per-day records in the processed table;
* ``POST /process`` runs the processor on one reading synchronously;
* ``GET /query`` reads a device's daily records for a date range.

All methods need SigV4 (``AWS_IAM``) and the API key kept in SSM as a
SecureString. Data at rest is encrypted with the stack's KMS key. See
docs/stacks/iot_pipeline.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.api_gateway_api_key import ApiGatewayApiKey
from cdktf_cdktf_provider_aws.api_gateway_model import ApiGatewayModel
from cdktf_cdktf_provider_aws.api_gateway_request_validator import ApiGatewayRequestValidator
from cdktf_cdktf_provider_aws.api_gateway_stage import ApiGatewayStage
from cdktf_cdktf_provider_aws.api_gateway_usage_plan import (
    ApiGatewayUsagePlan,
    ApiGatewayUsagePlanApiStages,
    ApiGatewayUsagePlanThrottleSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_usage_plan_key import ApiGatewayUsagePlanKey
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_event_source_mapping import (
    LambdaEventSourceMapping,
    LambdaEventSourceMappingScalingConfig,
)
from cdktf_cdktf_provider_aws.lambda_layer_version import LambdaLayerVersion
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter
from constructs import Construct

from lib.config.settings.iot_pipeline import IotPipelineSettings
from lib.constructs.alarms import lambda_alarms, metric_alarm
from lib.constructs.dynamodb_table import OnDemandTable
from lib.constructs.iam import Grant
from lib.constructs.kms import StackKey
from lib.constructs.lambda_function import LambdaFunction, LambdaZip
from lib.constructs.packaging import LAMBDA_ROOT, function_package, layer_package
from lib.constructs.queues import QueueWithDlq
from lib.constructs.rest_api import AccessLog, RestApi, Throttle
from lib.constructs.ssm import secure_parameter
from lib.naming import NameKind
from lib.stacks.base import StackContext, TapStack

SYSTEM = "iot_pipeline"
RUNTIME = "python3.12"
LAYER_DIR: Path = LAMBDA_ROOT / SYSTEM / "layer"

#: Access log line: one JSON object per request.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "caller": "$context.identity.caller",
        "user": "$context.identity.user",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationError": "$context.integration.error",
    },
    separators=(",", ":"),
)


#: Shape of a reading (POST bodies); the handlers check values and ranges.
READING_SCHEMA = json.dumps(
    {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "Reading",
        "type": "object",
        "required": ["device_id", "sensor_data"],
        "properties": {
            "device_id": {"type": "string", "minLength": 1, "maxLength": 128},
            "sensor_data": {"type": "object"},
        },
    },
    separators=(",", ":"),
)


@dataclass(frozen=True)
class Route:
    path: str
    method: str
    function: LambdaFunction


class IotPipelineStack(TapStack):
    def __init__(self, scope: Construct, *, ctx: StackContext) -> None:
        super().__init__(scope, ctx=ctx)
        settings = ctx.settings_as(IotPipelineSettings)
        self.settings = settings
        namer = self.namer
        protect = not ctx.env.protection.destroy_allowed

        self.key = StackKey(
            self,
            "key",
            namer=namer,
            service="iot",
            description=f"IoT pipeline data at rest ({ctx.suffix})",
            service_principals=["cloudwatch.amazonaws.com"],  # alarms publish to the encrypted topic
        )
        key_arn = self.key.arn

        # -- data ---------------------------------------------------------------
        self.raw_table = OnDemandTable(
            self,
            "raw-table",
            name=namer.name("iot-raw", NameKind.DYNAMODB_TABLE),
            hash_key="device_id",
            range_key="timestamp",
            attributes={"device_id": "S", "timestamp": "N"},
            kms_key_arn=key_arn,
            deletion_protection=protect,
        )
        self.processed_table = OnDemandTable(
            self,
            "processed-table",
            name=namer.name("iot-processed", NameKind.DYNAMODB_TABLE),
            hash_key="device_id",
            range_key="event_date",
            attributes={"device_id": "S", "event_date": "S"},
            kms_key_arn=key_arn,
            deletion_protection=protect,
        )
        self.queues = QueueWithDlq(
            self,
            "ingestion",
            namer=namer,
            service="iot-ingestion",
            kms_key_arn=key_arn,
            max_receive_count=settings.max_receive_count,
            visibility_timeout_seconds=settings.queue_visibility_timeout_seconds,
            dlq_retention_seconds=settings.dlq_retention_days * 86400,
        )
        self.topic = SnsTopic(
            self,
            "alerts",
            name=namer.name("iot-alerts", NameKind.SNS_TOPIC),
            display_name="IoT pipeline alerts",
            kms_master_key_id=key_arn,
        )
        self.config_parameter = SsmParameter(
            self,
            "config",
            name=namer.ssm_path("iot-pipeline", "config"),
            type="String",
            description="IoT pipeline runtime configuration (JSON)",
            value=json.dumps(
                {
                    "max_metrics_per_reading": settings.max_metrics_per_reading,
                    "processor_batch_size": settings.processor_batch_size,
                    "max_receive_count": settings.max_receive_count,
                },
                separators=(",", ":"),
                sort_keys=True,
            ),
        )

        # -- functions ----------------------------------------------------------
        layer_pkg = layer_package(
            self,
            "layer-package",
            source=LAYER_DIR,
            label=f"{SYSTEM}-layer",
            requirements=LAYER_DIR / "requirements.txt",
        )
        self.layer = LambdaLayerVersion(
            self,
            "layer",
            layer_name=namer.name("iot-common", NameKind.LAMBDA_LAYER),
            description="IoT pipeline shared code (iot_common)",
            filename=layer_pkg.filename,
            source_code_hash=layer_pkg.source_code_hash,
            compatible_runtimes=[RUNTIME],
            compatible_architectures=["arm64"],
        )
        queue, dlq = self.queues.queue, self.queues.dlq
        use_key = Grant(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key_arn])
        self.ingest = self._function(
            "ingest",
            description="Validate a reading; store it raw and queue it",
            timeout=settings.ingest_timeout_seconds,
            environment={
                "RAW_TABLE_NAME": self.raw_table.name,
                "QUEUE_URL": queue.url,
                "CONFIG_PARAMETER": self.config_parameter.name,
            },
            grants=[
                Grant(actions=["dynamodb:PutItem"], resources=[self.raw_table.arn]),
                Grant(actions=["sqs:SendMessage"], resources=[queue.arn]),
                Grant(actions=["ssm:GetParameter"], resources=[self.config_parameter.arn]),
                use_key,
            ],
        )
        self.processor = self._function(
            "processor",
            description="Transform queued readings into per-day records",
            timeout=settings.processor_timeout_seconds,
            environment={
                "PROCESSED_TABLE_NAME": self.processed_table.name,
                "MAX_METRICS_PER_READING": str(settings.max_metrics_per_reading),
            },
            grants=[
                Grant(
                    actions=[
                        "sqs:ChangeMessageVisibility",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                        "sqs:ReceiveMessage",
                    ],
                    resources=[queue.arn],
                ),
                Grant(actions=["dynamodb:UpdateItem"], resources=[self.processed_table.arn]),
                use_key,
            ],
        )
        self.query = self._function(
            "query",
            description="Read a device's daily records by date range",
            timeout=settings.query_timeout_seconds,
            environment={"PROCESSED_TABLE_NAME": self.processed_table.name},
            grants=[Grant(actions=["dynamodb:Query"], resources=[self.processed_table.arn]), use_key],
        )
        LambdaEventSourceMapping(
            self,
            "processor-source",
            event_source_arn=queue.arn,
            function_name=self.processor.arn,
            batch_size=settings.processor_batch_size,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config=(
                LambdaEventSourceMappingScalingConfig(
                    maximum_concurrency=min(settings.reserved_concurrency, 1000)
                )
                if settings.reserved_concurrency >= 2
                else None
            ),
        )

        # -- API ----------------------------------------------------------------
        self.api, self.stage = self._api(
            [
                Route("ingest", "POST", self.ingest),
                Route("process", "POST", self.processor),
                Route("query", "GET", self.query),
            ]
        )

        # -- alarms -------------------------------------------------------------
        for fn_id, fn in (("ingest", self.ingest), ("processor", self.processor), ("query", self.query)):
            lambda_alarms(
                self,
                f"{fn_id}-alarms",
                namer=namer,
                service=f"iot-{fn_id}",
                function_name=fn.function_name,
                topic_arn=self.topic.arn,
            )
        metric_alarm(
            self,
            "dlq-alarm",
            name=namer.name("iot-dlq-depth", NameKind.ALARM),
            description="IoT ingestion messages failed processing and reached the dead-letter queue",
            namespace="AWS/SQS",
            metric="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": dlq.name},
            topic_arn=self.topic.arn,
            statistic="Maximum",
            period_seconds=60,
        )
        metric_alarm(
            self,
            "api-5xx-alarm",
            name=namer.name("iot-api-5xx", NameKind.ALARM),
            description="IoT API answered with 5xx errors",
            namespace="AWS/ApiGateway",
            metric="5XXError",
            dimensions={"ApiName": self.api.api.name, "Stage": self.stage.stage_name},
            topic_arn=self.topic.arn,
        )

        # -- outputs (names the seed's tests read) --------------------------------
        TerraformOutput(self, "ApiEndpoint", value=self.stage.invoke_url)
        TerraformOutput(self, "RawSensorTableName", value=self.raw_table.name)
        TerraformOutput(self, "ProcessedDataTableName", value=self.processed_table.name)
        TerraformOutput(self, "IngestionQueueUrl", value=queue.url)
        TerraformOutput(self, "AlertTopicArn", value=self.topic.arn)

    # -- helpers ----------------------------------------------------------------
    def _function(
        self,
        name: str,
        *,
        description: str,
        timeout: int,
        environment: dict[str, str],
        grants: list[Grant],
    ) -> LambdaFunction:
        settings = self.settings
        return LambdaFunction(
            self,
            name,
            namer=self.namer,
            service=f"iot-{name}",
            description=description,
            code=LambdaZip(
                package=function_package(self, f"{name}-package", system=SYSTEM, function=name),
                handler="handler.handler",
                runtime=RUNTIME,
            ),
            layers=[self.layer.arn],
            environment=environment,
            grants=grants,
            memory_mb=settings.memory_mb,
            timeout_seconds=timeout,
            reserved_concurrency=settings.reserved_concurrency,
            log_retention_days=settings.log_retention_days,
            log_kms_key_arn=self.key.arn,
            kms_key_arn=self.key.arn,
            dead_letter_queue_arn=self.queues.dlq.arn,
        )

    def _api(self, routes: list[Route]) -> tuple[RestApi, ApiGatewayStage]:
        settings, namer = self.settings, self.namer
        api = RestApi(
            self,
            "rest-api",
            name=namer.name("iot-api", NameKind.API),
            description="IoT sensor data API (SigV4 + API key)",
            stage_name=settings.stage_name,
            throttle=Throttle(
                rate_limit=settings.throttle_rate_limit, burst_limit=settings.throttle_burst_limit
            ),
        )
        validator = ApiGatewayRequestValidator(
            self,
            "api-validator",
            rest_api_id=api.id,
            name="body-and-parameters",
            validate_request_body=True,
            validate_request_parameters=True,
        )
        reading = ApiGatewayModel(
            self,
            "reading-model",
            rest_api_id=api.id,
            name="Reading",
            content_type="application/json",
            description="A sensor reading (POST /ingest, POST /process)",
            schema=READING_SCHEMA,
        )
        for route in routes:
            api.lambda_route(
                f"/{route.path}",
                route.method,
                function_name=route.function.name,
                invoke_arn=route.function.invoke_arn,
                authorization="AWS_IAM",
                api_key_required=True,
                request_validator_id=validator.id,
                request_models={"application/json": reading.name} if route.method == "POST" else None,
            )
        access_logs = CloudwatchLogGroup(
            self,
            "access-logs",
            name=f"/aws/apigateway/{namer.name('iot-api', NameKind.LOG_GROUP)}",
            retention_in_days=settings.log_retention_days,
            kms_key_id=self.key.arn,
        )
        stage = api.deploy(
            access_log=AccessLog(destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT),
            logging_level="ERROR",
        )
        plan = ApiGatewayUsagePlan(
            self,
            "usage-plan",
            name=namer.name("iot-devices"),
            description="Device clients of the IoT API",
            api_stages=[ApiGatewayUsagePlanApiStages(api_id=api.id, stage=stage.stage_name)],
            throttle_settings=ApiGatewayUsagePlanThrottleSettings(
                rate_limit=settings.throttle_rate_limit, burst_limit=settings.throttle_burst_limit
            ),
        )
        key = ApiGatewayApiKey(self, "api-key", name=namer.name("iot-devices"), enabled=True)
        ApiGatewayUsagePlanKey(
            self, "usage-plan-key", key_id=key.id, key_type="API_KEY", usage_plan_id=plan.id
        )
        # The key's value is generated by API Gateway: it lives in state and in
        # SSM (encrypted), never in the synthesized configuration.
        secure_parameter(
            self,
            "api-key-parameter",
            name=self.namer.ssm_path("iot-pipeline", "api-key"),
            value=key.value,
            kms_key_arn=self.key.arn,
            description="API key of the IoT API's device clients",
        )
        return api, stage
