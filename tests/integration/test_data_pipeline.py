"""The deployed data pipeline: configuration, and batches flowing S3 -> Step Functions -> DynamoDB.

A batch uploaded under ``raw/`` starts an execution (S3 -> EventBridge -> Step
Functions); its four Lambda steps run, and the records land in the table. A
batch without a valid record fails the execution into the alert topic and the
dead-letter queue. The region comes from the outputs' ARNs: the stack deploys
to us-east-2 whatever the environment's region.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from tests.integration.waiting import eventually

STEPS = ("Ingest", "Validate", "Transform", "Load")


@dataclass(frozen=True)
class DataPipeline:
    region: str
    bucket: str
    table: str
    state_machine: str
    dlq_url: str
    functions: dict[str, str]

    def client(self, service: str):
        return boto3.client(service, region_name=self.region)


@pytest.fixture(scope="module")
def dp(outputs) -> DataPipeline:
    keys = ["S3BucketName", "DynamoDBTableName", "StepFunctionsStateMachineArn", "DataPipelineDlqUrl"]
    keys += [f"{s}FunctionArn" for s in STEPS]
    missing = [k for k in keys if k not in outputs]
    if missing:
        pytest.skip(f"data_pipeline is not deployed (no {', '.join(missing)})")
    arn = outputs["StepFunctionsStateMachineArn"]
    return DataPipeline(
        region=arn.split(":")[3],
        bucket=outputs["S3BucketName"],
        table=outputs["DynamoDBTableName"],
        state_machine=arn,
        dlq_url=outputs["DataPipelineDlqUrl"],
        functions={s.lower(): outputs[f"{s}FunctionArn"] for s in STEPS},
    )


def finished(dp: DataPipeline, arn: str, timeout: float = 90) -> dict[str, Any]:
    sfn = dp.client("stepfunctions")

    def done() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=arn)
        return None if described["status"] == "RUNNING" else described

    return eventually(f"execution {arn.rsplit(':', 1)[1]} to finish", done, timeout=timeout)


def execution_for(dp: DataPipeline, key: str) -> str:
    """The execution the upload of ``key`` started (its input names the object)."""
    sfn = dp.client("stepfunctions")

    def started() -> str | None:
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=dp.state_machine):
            for execution in page["executions"]:
                described = sfn.describe_execution(executionArn=execution["executionArn"])
                if json.loads(described.get("input") or "{}").get("key") == key:
                    return execution["executionArn"]
        return None

    return eventually(f"an execution started by s3://{dp.bucket}/{key}", started)


def test_an_uploaded_batch_flows_through_the_workflow_to_the_table(dp: DataPipeline) -> None:
    batch = uuid.uuid4().hex[:12]
    records = [
        {"record_id": f"{batch}-1", "source": " Meter ", "value": 2.5, "site": "north"},
        {"record_id": f"{batch}-2", "source": "meter", "value": "bad"},
    ]
    key = f"raw/{batch}.json"
    dp.client("s3").put_object(Bucket=dp.bucket, Key=key, Body=json.dumps({"records": records}))
    execution = finished(dp, execution_for(dp, key))
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"]) == {"table": dp.table, "loaded": 1}
    item = dp.client("dynamodb").get_item(TableName=dp.table, Key={"record_id": {"S": f"{batch}-1"}})["Item"]
    assert item["source"] == {"S": "meter"}
    assert item["value"] == {"N": "2.5"}
    assert item["attributes"] == {"M": {"site": {"S": "north"}}}
    # the intermediate objects are stored under their own prefixes, encrypted with the stack's key
    head = dp.client("s3").head_object(Bucket=dp.bucket, Key=f"validated/{batch}.json")
    assert head["ServerSideEncryption"] == "aws:kms"
    steps = [
        e["stateEnteredEventDetails"]["name"]
        for e in dp.client("stepfunctions").get_execution_history(executionArn=execution["executionArn"])[
            "events"
        ]
        if e["type"] == "TaskStateEntered"
    ]
    assert steps == list(STEPS)


def test_a_batch_without_valid_records_fails_into_the_dead_letter_queue(dp: DataPipeline) -> None:
    key = f"raw/{uuid.uuid4().hex[:12]}.json"
    dp.client("s3").put_object(Bucket=dp.bucket, Key=key, Body=json.dumps([{"record_id": "x"}]))
    execution = finished(dp, execution_for(dp, key))
    assert (execution["status"], execution["error"]) == ("FAILED", "PipelineFailed")
    history = dp.client("stepfunctions").get_execution_history(executionArn=execution["executionArn"])[
        "events"
    ]
    failure = next(
        e["lambdaFunctionFailedEventDetails"] for e in history if e["type"] == "LambdaFunctionFailed"
    )
    assert failure["error"] == "PipelineError"  # not retried: a bad batch is not transient
    assert sum(e["type"] == "LambdaFunctionFailed" for e in history) == 1
    sqs = dp.client("sqs")

    def dead_lettered() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=dp.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=5)
        return [m for m in messages.get("Messages", []) if key in m["Body"]]

    message = eventually("the failed batch in the dead-letter queue", dead_lettered)[0]
    body = json.loads(message["Body"])
    assert body["key"] == key
    assert f"no valid record among 1 in s3://{dp.bucket}/{key}" in body["error"]["Cause"]
    sqs.delete_message(QueueUrl=dp.dlq_url, ReceiptHandle=message["ReceiptHandle"])


def test_a_step_invoked_directly_reports_its_error_as_lambda_does(dp: DataPipeline) -> None:
    key = f"raw/direct-{uuid.uuid4().hex[:12]}.json"
    # under a prefix no rule watches? raw/ starts an execution too: that one fails alike, harmlessly
    dp.client("s3").put_object(Bucket=dp.bucket, Key=key, Body=json.dumps([{"record_id": "x"}]))
    resp = dp.client("lambda").invoke(
        FunctionName=dp.functions["validate"], Payload=json.dumps({"bucket": dp.bucket, "key": key})
    )
    assert resp["FunctionError"] == "Unhandled"
    error = json.loads(resp["Payload"].read())
    assert error["errorType"] == "PipelineError"
    assert error["errorMessage"] == f"no valid record among 1 in s3://{dp.bucket}/{key}"


def test_state_machine_retries_and_catches_every_step(dp: DataPipeline) -> None:
    described = dp.client("stepfunctions").describe_state_machine(stateMachineArn=dp.state_machine)
    definition = json.loads(described["definition"])
    for name in STEPS:
        state = definition["States"][name]
        assert state["Resource"] == dp.functions[name.lower()]
        assert state["Retry"][0]["BackoffRate"] == 2.0
        assert state["Retry"][0]["MaxAttempts"] == 3
        assert state["Catch"][0]["Next"] == "Notify"
    assert definition["States"]["HasBatch"]["Choices"][0]["Next"] == "NoBatch"
    assert definition["States"]["DeadLetter"]["Parameters"]["QueueUrl"] == dp.dlq_url


def test_an_execution_with_inline_records_loads_them(dp: DataPipeline) -> None:
    record_id = uuid.uuid4().hex
    arn = dp.client("stepfunctions").start_execution(
        stateMachineArn=dp.state_machine,
        input=json.dumps({"records": [{"record_id": record_id, "source": "it", "value": 1}]}),
    )["executionArn"]
    assert finished(dp, arn)["status"] == "SUCCEEDED"
    item = dp.client("dynamodb").get_item(TableName=dp.table, Key={"record_id": {"S": record_id}})["Item"]
    assert item["batch"]["S"].startswith("transformed/")


def test_functions_run_in_private_subnets_of_the_pipeline_vpc(dp: DataPipeline, outputs) -> None:
    ec2, lam = dp.client("ec2"), dp.client("lambda")
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [outputs["VpcId"]]}])["Subnets"]
    assert {s["MapPublicIpOnLaunch"] for s in subnets} == {False}
    for arn in dp.functions.values():
        config = lam.get_function_configuration(FunctionName=arn)
        assert config["VpcConfig"]["VpcId"] == outputs["VpcId"]
        assert set(config["VpcConfig"]["SubnetIds"]) == {s["SubnetId"] for s in subnets}
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [outputs["VpcId"]]}])
    services = sorted(e["ServiceName"].rsplit(".", 1)[1] for e in endpoints["VpcEndpoints"])
    assert services == ["dynamodb", "s3"]


def test_the_dead_letter_queue_keeps_failures_for_14_days(dp: DataPipeline) -> None:
    attrs = dp.client("sqs").get_queue_attributes(
        QueueUrl=dp.dlq_url, AttributeNames=["MessageRetentionPeriod"]
    )
    assert attrs["Attributes"]["MessageRetentionPeriod"] == str(14 * 86400)
