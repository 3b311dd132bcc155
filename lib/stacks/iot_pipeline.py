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

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.api_gateway_stage import ApiGatewayStage
from cdktf_cdktf_provider_aws.lambda_event_source_mapping import (
    LambdaEventSourceMapping,
    LambdaEventSourceMappingScalingConfig,
)
from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter
from constructs import Construct

from lib.config.settings.iot_pipeline import IotPipelineSettings
from lib.constructs.alarms import Watch, api_5xx, queue_depth
from lib.constructs.api_clients import UsagePlanProps, json_body, usage_plan
from lib.constructs.foundation import FoundationSpec
from lib.constructs.function_family import FunctionSpec, SharedLayer
from lib.constructs.iam import Grant
from lib.constructs.lambda_function import LambdaFunction
from lib.constructs.queues import QueueWithDlq, QueueWithDlqProps
from lib.constructs.rest_api import RestApi, Throttle
from lib.constructs.ssm import secure_parameter
from lib.naming import NameKind
from lib.stacks.base import StackContext
from lib.stacks.system import SystemStack

SYSTEM = "iot_pipeline"
RUNTIME = "python3.12"

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
READING_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "Reading",
    "type": "object",
    "required": ["device_id", "sensor_data"],
    "properties": {
        "device_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "sensor_data": {"type": "object"},
    },
}
#: What the processor does with the queue (an SQS event source's consumer).
CONSUME_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
)


@dataclass(frozen=True)
class Route:
    path: str
    method: str
    function: LambdaFunction


class IotPipelineStack(SystemStack):
    #: Key and alert topic; the ingestion queue brings its own dead-letter queue.
    foundation = FoundationSpec(
        service="iot",
        key_description="IoT pipeline data at rest ({suffix})",
        topic_display_name="IoT pipeline alerts",
        dlq=None,
    )
    shared_layer = SharedLayer(service="iot-common", description="IoT pipeline shared code (iot_common)")
    settings: IotPipelineSettings

    def __init__(self, scope: Construct, *, ctx: StackContext[IotPipelineSettings]) -> None:
        super().__init__(scope, ctx=ctx)
        self._data()
        self._functions()
        self.api, self.stage = self._api(
            [
                Route("ingest", "POST", self.ingest),
                Route("process", "POST", self.processor),
                Route("query", "GET", self.query),
            ]
        )
        self._alarms()

        # -- outputs (names the seed's tests read) --------------------------------
        TerraformOutput(self, "ApiEndpoint", value=self.stage.invoke_url)
        TerraformOutput(self, "RawSensorTableName", value=self.raw_table.name)
        TerraformOutput(self, "ProcessedDataTableName", value=self.processed_table.name)
        TerraformOutput(self, "IngestionQueueUrl", value=self.queues.queue.url)
        TerraformOutput(self, "AlertTopicArn", value=self.topic.arn)

    # -- sections -------------------------------------------------------------------
    def _data(self) -> None:
        """The raw and processed tables, the ingestion queue and the runtime configuration."""
        settings, namer, key_arn = self.settings, self.namer, self.key.arn
        # Both keyed by device: raw readings by time, processed records by day.
        self.raw_table, self.processed_table = (
            self.system_table(
                f"{kind}-table",
                f"iot-{kind}",
                hash_key="device_id",
                range_key=range_key,
                attributes={"device_id": "S", range_key: key_type},
            )
            for kind, range_key, key_type in (("raw", "timestamp", "N"), ("processed", "event_date", "S"))
        )
        self.queues = QueueWithDlq(
            self,
            "ingestion",
            QueueWithDlqProps(
                service=namer.for_service("iot-ingestion"),
                kms_key_arn=key_arn,
                max_receive_count=settings.max_receive_count,
                visibility_timeout_seconds=settings.queue_visibility_timeout_seconds,
                dlq_retention_seconds=settings.dlq_retention_days * 86400,
            ),
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

    def _functions(self) -> None:
        """ingest (API -> raw table + queue), processor (queue -> processed table), query."""
        settings, queue, use_key = self.settings, self.queues.queue, self.base.key_use
        specs = {
            "ingest": FunctionSpec(
                "Validate a reading; store it raw and queue it",
                environment={
                    "RAW_TABLE_NAME": self.raw_table.name,
                    "QUEUE_URL": queue.url,
                    "CONFIG_PARAMETER": self.config_parameter.name,
                },
                grants=[
                    Grant(actions=["dynamodb:PutItem"], resources=[self.raw_table.arn]),
                    Grant(actions=["sqs:SendMessage"], resources=[queue.arn]),
                    Grant(actions=["ssm:GetParameter"], resources=[self.config_parameter.arn]),
                ],
                timeout_seconds=settings.ingest_timeout_seconds,
            ),
            "processor": FunctionSpec(
                "Transform queued readings into per-day records",
                environment={
                    "PROCESSED_TABLE_NAME": self.processed_table.name,
                    "MAX_METRICS_PER_READING": str(settings.max_metrics_per_reading),
                },
                grants=[
                    Grant(actions=CONSUME_ACTIONS, resources=[queue.arn]),
                    Grant(actions=["dynamodb:UpdateItem"], resources=[self.processed_table.arn]),
                ],
                timeout_seconds=settings.processor_timeout_seconds,
            ),
            "query": FunctionSpec(
                "Read a device's daily records by date range",
                environment={"PROCESSED_TABLE_NAME": self.processed_table.name},
                grants=[Grant(actions=["dynamodb:Query"], resources=[self.processed_table.arn])],
                timeout_seconds=settings.query_timeout_seconds,
            ),
        }
        # The ingestion queue's dead-letter queue also keeps the functions' failed async events.
        family = self.function_family(
            system=SYSTEM,
            runtime=RUNTIME,
            memory_mb=settings.memory_mb,
            dead_letter_queue_arn=self.queues.dlq.arn,
        )
        functions = family.functions(
            specs, prefix="iot", grants=[use_key], reserved_concurrency=settings.reserved_concurrency
        )
        self.ingest, self.processor, self.query = (functions[name] for name in specs)
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
        reading = json_body(
            api,
            "reading-model",
            name="Reading",
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
                request_validator_id=reading.validator.id,
                request_models={"application/json": reading.model.name} if route.method == "POST" else None,
            )
        stage = self.deploy_api(api, log_id="access-logs", log_format=ACCESS_LOG_FORMAT)
        devices_name = namer.name("iot-devices")
        devices = usage_plan(
            api,
            UsagePlanProps(
                name=devices_name, description="Device clients of the IoT API", key_name=devices_name
            ),
        )
        # The key's value is generated by API Gateway: it lives in state and in
        # SSM (encrypted), never in the synthesized configuration.
        secure_parameter(
            self,
            "api-key-parameter",
            name=namer.ssm_path("iot-pipeline", "api-key"),
            value=devices.key.value,
            kms_key_arn=self.key.arn,
            description="API key of the IoT API's device clients",
        )
        return api, stage

    def _alarms(self) -> None:
        functions = (("ingest", self.ingest), ("processor", self.processor), ("query", self.query))
        dead = "IoT ingestion messages failed processing and reached the dead-letter queue"
        self.alarms(
            functions={f"{i}-alarms": (f"iot-{i}", fn.function_name) for i, fn in functions},
            watches={
                "dlq-alarm": Watch(
                    queue_depth(self.queues.dlq.name), "iot-dlq-depth", dead, period_seconds=60
                ),
                "api-5xx-alarm": Watch(
                    api_5xx(self.api.api.name, self.stage.stage_name),
                    "iot-api-5xx",
                    "IoT API answered with 5xx errors",
                ),
            },
        )
