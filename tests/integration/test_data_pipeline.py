"""The deployed data pipeline: configuration, and a batch flowing S3 -> four steps -> DynamoDB.

The steps run through ``lambda_invoke.invoke`` (``lambda:Invoke`` on AWS; on
the emulator, which cannot execute Lambda code, the deployed package runs
in-process with the deployed environment). The region comes from the
outputs' ARNs: the stack deploys to us-east-2 whatever the environment's region.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import boto3
import pytest

from tests.integration.lambda_invoke import invoke

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


def step(dp: DataPipeline, name: str, event: dict) -> dict:
    result = invoke(dp.functions[name], event, region=dp.region)
    assert result.function_error is None, result.payload
    return result.payload


def test_a_batch_flows_from_s3_to_the_table(dp: DataPipeline) -> None:
    batch = uuid.uuid4().hex[:12]
    records = [
        {"record_id": f"{batch}-1", "source": " Meter ", "value": 2.5, "site": "north"},
        {"record_id": f"{batch}-2", "source": "meter", "value": "bad"},
    ]
    key = f"raw/{batch}.json"
    dp.client("s3").put_object(Bucket=dp.bucket, Key=key, Body=json.dumps({"records": records}))
    location = step(dp, "ingest", {"bucket": dp.bucket, "key": key})
    assert location == {"bucket": dp.bucket, "key": key}
    validated = step(dp, "validate", location)
    assert (validated["valid"], validated["invalid"]) == (1, 1)
    transformed = step(dp, "transform", validated)
    assert transformed["key"] == f"transformed/{batch}.json"
    assert step(dp, "load", transformed) == {"table": dp.table, "loaded": 1}
    item = dp.client("dynamodb").get_item(TableName=dp.table, Key={"record_id": {"S": f"{batch}-1"}})["Item"]
    assert item["source"] == {"S": "meter"}
    assert item["value"] == {"N": "2.5"}
    assert item["attributes"] == {"M": {"site": {"S": "north"}}}
    # the intermediate objects are stored under their own prefixes, encrypted with the stack's key
    head = dp.client("s3").head_object(Bucket=dp.bucket, Key=f"validated/{batch}.json")
    assert head["ServerSideEncryption"] == "aws:kms"


def test_a_batch_without_valid_records_fails_validation(dp: DataPipeline) -> None:
    key = f"raw/{uuid.uuid4().hex[:12]}.json"
    dp.client("s3").put_object(Bucket=dp.bucket, Key=key, Body=json.dumps([{"record_id": "x"}]))
    result = invoke(dp.functions["validate"], {"bucket": dp.bucket, "key": key}, region=dp.region)
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "PipelineError"
    assert result.payload["errorMessage"] == f"no valid record among 1 in s3://{dp.bucket}/{key}"


def test_state_machine_retries_and_catches_every_step(dp: DataPipeline) -> None:
    described = dp.client("stepfunctions").describe_state_machine(stateMachineArn=dp.state_machine)
    definition = json.loads(described["definition"])
    for name in STEPS:
        state = definition["States"][name]
        assert state["Resource"] == dp.functions[name.lower()]
        assert state["Retry"][0]["BackoffRate"] == 2.0
        assert state["Retry"][0]["MaxAttempts"] == 3
        assert state["Catch"][0]["Next"] == "Notify"
    assert definition["States"]["DeadLetter"]["Parameters"]["QueueUrl"] == dp.dlq_url


def test_execution_starts_with_inline_records(dp: DataPipeline) -> None:
    sfn = dp.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=dp.state_machine,
        input=json.dumps({"records": [{"record_id": uuid.uuid4().hex, "source": "it", "value": 1}]}),
    )["executionArn"]
    assert sfn.describe_execution(executionArn=arn)["status"] in {"RUNNING", "SUCCEEDED"}


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
