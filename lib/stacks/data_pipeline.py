"""Data pipeline: S3 raw bucket -> ingest -> validate -> transform -> load -> DynamoDB.

Four functions (arm64, one shared layer) run in private subnets of their own
VPC, reaching S3 and DynamoDB through gateway endpoints (no NAT). A Step
Functions workflow chains them, retrying each task with exponential backoff;
a failure that survives the retries is published to the alert topic and
sent to the dead-letter queue before the execution fails (the definition:
:mod:`lib.stacks.data_workflow`). See docs/stacks/data_pipeline.md.
"""

from __future__ import annotations

import json
from typing import Any

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from constructs import Construct

from lib.config.settings.data_pipeline import DataPipelineSettings
from lib.constructs.alarms import Watch, executions_failed, queue_depth
from lib.constructs.foundation import FoundationSpec
from lib.constructs.function_family import FunctionSpec, SharedLayer
from lib.constructs.iam import Grant
from lib.constructs.lambda_function import LambdaFunction, VpcPlacement
from lib.constructs.object_trigger import ObjectCreatedTrigger
from lib.constructs.private_network import PrivateNetwork, PrivateNetworkProps
from lib.constructs.ssm import SsmExports, SsmExportsProps
from lib.constructs.state_machine import StateMachine, StateMachineProps
from lib.naming import NameKind
from lib.stacks.base import StackContext
from lib.stacks.data_workflow import workflow_definition
from lib.stacks.system import SystemStack

SYSTEM = "data_pipeline"
RUNTIME = "python3.12"
#: Objects created under this prefix start an execution; inline batches are stored elsewhere.
RAW_PREFIX = "raw/"
INLINE_PREFIX = "inline/"


class DataPipelineStack(SystemStack):
    #: Key, alert topic and the dead-letter queue of failed executions.
    foundation = FoundationSpec(
        service="dpl",
        key_description="Data pipeline data at rest ({suffix})",
        topic_display_name="Data pipeline alerts",
        dlq="failed",
    )
    shared_layer = SharedLayer(
        service="dpl-common", description="Data pipeline shared code (pipeline_common)"
    )
    settings: DataPipelineSettings

    def __init__(self, scope: Construct, *, ctx: StackContext[DataPipelineSettings]) -> None:
        super().__init__(scope, ctx=ctx)
        namer = self.namer
        self._storage()
        self.network = PrivateNetwork(
            self,
            "network",
            PrivateNetworkProps(
                service=namer.for_service("dpl"),
                cidr=self.settings.vpc_cidr,
                logs_key_arn=self.key.arn,
                log_retention_days=self.settings.log_retention_days,
            ),
        )
        self.functions = self._functions()
        self.workflow = self._workflow()
        self.state_machine = self.workflow.machine
        ObjectCreatedTrigger(
            self,
            "raw-trigger",
            bucket_name=self.bucket.name,
            bucket_id=self.bucket.id,
            prefix=RAW_PREFIX,
            state_machine_arn=self.state_machine.arn,
            rule_name=namer.name("dpl-raw-object"),
            role_name=namer.name("dpl-events", NameKind.IAM_ROLE),
            account_id=namer.account_id,
        )
        self._monitoring()
        self._exports()

    # -- sections -------------------------------------------------------------------
    def _storage(self) -> None:
        """The raw bucket (objects under raw/ start the workflow) and the records table."""
        settings = self.settings
        self.bucket = self.system_bucket(
            "raw-bucket",
            "dpl-raw",
            noncurrent_expiration_days=settings.noncurrent_expiration_days,
            glacier_transition_days=settings.glacier_transition_days,
        )
        self.table = self.system_table(
            "table", "dpl-records", hash_key="record_id", attributes={"record_id": "S"}
        )

    def _functions(self) -> dict[str, LambdaFunction]:
        """One function per step: each reads what the step before wrote and writes its own prefix."""
        bucket, table = self.bucket, self.table
        read = Grant(actions=["s3:GetObject"], resources=[bucket.objects_arn()])
        env = {"RAW_BUCKET": bucket.name}

        def writes(prefix: str) -> Grant:
            return Grant(actions=["s3:PutObject"], resources=[bucket.objects_arn(prefix)])

        settings, network = self.settings, self.network
        timeout = settings.timeout_seconds
        load = Grant(actions=["dynamodb:BatchWriteItem", "dynamodb:PutItem"], resources=[table.arn])
        steps = {
            "ingest": FunctionSpec(
                f"Store an inline batch under {INLINE_PREFIX}", env, [writes(INLINE_PREFIX)], timeout
            ),
            "validate": FunctionSpec(
                "Keep well-formed records (validated/)", env, [read, writes("validated/")], timeout
            ),
            "transform": FunctionSpec(
                "Normalise validated records (transformed/)", env, [read, writes("transformed/")], timeout
            ),
            "load": FunctionSpec(
                "Write transformed records to DynamoDB",
                {**env, "TABLE_NAME": table.name},
                [read, load],
                timeout,
            ),
        }
        family = self.function_family(
            system=SYSTEM,
            runtime=RUNTIME,
            memory_mb=settings.memory_mb,
            vpc=VpcPlacement(subnet_ids=network.subnet_ids, security_group_ids=[network.security_group.id]),
        )
        return family.functions(
            steps,
            prefix="dpl",
            grants=[self.base.key_use],
            reserved_concurrency=settings.reserved_concurrency,
        )

    def _workflow(self) -> StateMachine:
        settings = self.settings
        props = StateMachineProps(
            service=self.namer.for_service("dpl-workflow"),
            role_description="Data pipeline workflow: invoke its functions, report failures",
            grants=[
                Grant(actions=["lambda:InvokeFunction"], resources=[f.arn for f in self.functions.values()]),
                Grant(actions=["sns:Publish"], resources=[self.topic.arn]),
                Grant(actions=["sqs:SendMessage"], resources=[self.dlq.arn]),
                self.base.key_use,
            ],
            definition=workflow_definition(
                function_arns={step: fn.arn for step, fn in self.functions.items()},
                topic_arn=self.topic.arn,
                dlq_url=self.dlq.url,
                max_attempts=settings.retry_max_attempts,
                interval_seconds=settings.retry_interval_seconds,
                backoff_rate=settings.retry_backoff_rate,
            ),
            kms_key_arn=self.key.arn,
            log_retention_days=settings.log_retention_days,
        )
        return StateMachine(self, "workflow", props)

    def _monitoring(self) -> None:
        failed = "Failed data pipeline executions are waiting in the dead-letter queue"
        self.alarms(
            functions={f"{s}-alarms": (f"dpl-{s}", fn.function_name) for s, fn in self.functions.items()},
            watches={
                "executions-failed-alarm": Watch(
                    executions_failed(self.state_machine.arn),
                    "dpl-executions-failed",
                    "Data pipeline executions failed",
                ),
                "dlq-alarm": Watch(queue_depth(self.dlq.name), "dpl-dlq-depth", failed, period_seconds=60),
            },
        )
        self.dashboard = CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=self.namer.name("dpl", NameKind.DASHBOARD),
            dashboard_body=self._dashboard_body(),
        )

    def _exports(self) -> None:
        exports = {
            "bucket-name": self.bucket.name,
            "table-name": self.table.name,
            "state-machine-arn": self.state_machine.arn,
            "vpc-id": self.network.vpc.id,
        }
        SsmExports(self, "exports", SsmExportsProps(namer=self.namer, system="data-pipeline", values=exports))
        TerraformOutput(self, "S3BucketName", value=self.bucket.name)
        TerraformOutput(self, "DynamoDBTableName", value=self.table.name)
        for step, fn in self.functions.items():
            TerraformOutput(self, f"{step.capitalize()}FunctionArn", value=fn.arn)
        TerraformOutput(self, "StepFunctionsStateMachineArn", value=self.state_machine.arn)
        TerraformOutput(self, "VpcId", value=self.network.vpc.id)
        TerraformOutput(self, "CloudWatchDashboardName", value=self.dashboard.dashboard_name)
        TerraformOutput(self, "DataPipelineDlqUrl", value=self.dlq.url)

    def _dashboard_body(self) -> str:
        region = self.namer.region
        names = [fn.function_name for fn in self.functions.values()]

        def widget(title: str, x: int, y: int, metrics: list[list[str]]) -> dict[str, Any]:
            """A 12x6 graph of ``metrics``, each summed over 5 minutes."""
            return {
                "type": "metric",
                "x": x,
                "y": y,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": title,
                    "region": region,
                    "stat": "Sum",
                    "period": 300,
                    "metrics": metrics,
                },
            }

        def lambda_metrics(metric: str) -> list[list[str]]:
            return [["AWS/Lambda", metric, "FunctionName", n] for n in names]

        executions = ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed")
        widgets = [
            widget("Lambda Invocations", 0, 0, lambda_metrics("Invocations")),
            widget("Lambda Errors", 12, 0, lambda_metrics("Errors")),
            widget(
                "Workflow executions",
                0,
                6,
                [["AWS/States", m, "StateMachineArn", self.state_machine.arn] for m in executions],
            ),
            widget(
                "Records table writes",
                12,
                6,
                [["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", self.table.name]],
            ),
        ]
        return json.dumps({"widgets": widgets}, separators=(",", ":"))
