"""The deployed transaction pipeline (seed 002): images in ECR, the EXPRESS workflow,
the validated upload API, and a CSV flowing validation -> transactions table.

Functions run through ``lambda_invoke.invoke`` (``lambda:Invoke`` on AWS; on the
emulator the image's build context, found through the manifest annotation the
image step registered, runs in-process). The test plays the workflow's steps in
order with the payloads the state machine passes: on AWS the S3 event also starts
the real workflow, whose writes are the same (idempotent by key).
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path

import boto3
import pytest

from tests.integration.lambda_invoke import ROOT, invoke, on_emulator

OUTPUT_KEYS = (
    "TransactionApiId",
    "TransactionUploadBucketName",
    "TransactionsTableName",
    "TransactionStatusTableName",
    "TransactionStateMachineArn",
    "TransactionCsvValidatorFunctionName",
    "TransactionDataTransformerFunctionName",
    "TransactionNotificationSenderFunctionName",
)
FUNCTIONS = {
    "csv_validator": "TransactionCsvValidatorFunctionName",
    "data_transformer": "TransactionDataTransformerFunctionName",
    "notification_sender": "TransactionNotificationSenderFunctionName",
}
SOURCE_ANNOTATION = "org.opencontainers.image.source"


@pytest.fixture(scope="module")
def txn(outputs, region):
    missing = [k for k in OUTPUT_KEYS if k not in outputs]
    if missing:
        pytest.skip(f"transaction_pipeline is not deployed (no {', '.join(missing)})")
    return outputs


def _image(function_name: str, region: str) -> tuple[str, str, str]:
    """(repository, tag, image uri) of a deployed image function."""
    uri = boto3.client("lambda", region_name=region).get_function(FunctionName=function_name)["Code"][
        "ImageUri"
    ]
    repository, tag = uri.split("/", 1)[1].rsplit(":", 1)
    return repository, tag, uri


def _image_source(function_name: str, region: str) -> Path | None:
    """The build context of the deployed image (the emulator runs it in-process)."""
    if not on_emulator():
        return None
    repository, tag, _ = _image(function_name, region)
    image = boto3.client("ecr", region_name=region).batch_get_image(
        repositoryName=repository, imageIds=[{"imageTag": tag}]
    )["images"][0]
    return ROOT / json.loads(image["imageManifest"])["annotations"][SOURCE_ANNOTATION]


def _run(txn, region: str, function: str, event: dict):
    name = txn[FUNCTIONS[function]]
    return invoke(name, event, region=region, image_source=_image_source(name, region))


def _upload_event(file_name: str, content: str) -> dict:
    return {
        "httpMethod": "POST",
        "resource": "/upload",
        "path": "/upload",
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"file_name": file_name, "content": content}),
    }


def test_functions_run_immutable_scanned_images_from_their_repositories(txn, region):
    ecr = boto3.client("ecr", region_name=region)
    for function, key in FUNCTIONS.items():
        config = boto3.client("lambda", region_name=region).get_function(FunctionName=txn[key])
        assert config["Configuration"]["PackageType"] == "Image"
        assert config["Configuration"]["Architectures"] == ["arm64"]
        repository, tag, _ = _image(txn[key], region)
        assert tag.startswith("src-")
        repo = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]
        assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
        assert repo["imageTagMutability"] == "IMMUTABLE"
        detail = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"][
            0
        ]
        assert detail["imageDigest"].startswith("sha256:")
        policy = json.loads(ecr.get_lifecycle_policy(repositoryName=repository)["lifecyclePolicyText"])
        assert policy["rules"][0]["selection"]["countType"] == "imageCountMoreThan"
        if on_emulator():
            assert _image_source(txn[key], region) == ROOT / "lib/lambda/transaction_pipeline" / function


def test_workflow_is_express_logged_and_wired_to_the_functions(txn, region):
    sfn = boto3.client("stepfunctions", region_name=region)
    machine = sfn.describe_state_machine(stateMachineArn=txn["TransactionStateMachineArn"])
    assert machine["type"] == "EXPRESS"
    assert machine["loggingConfiguration"]["level"] == "ALL"
    definition = json.loads(machine["definition"])
    assert definition["States"]["Validate"]["Next"] == "Transform"
    assert definition["States"]["Transform"]["Next"] == "Notify"
    targets = {
        definition["States"][s]["Parameters"]["FunctionName"].split(":")[-1]
        for s in ("Validate", "Transform", "Notify")
    }
    assert targets == {txn[k] for k in FUNCTIONS.values()}
    assert definition["States"]["Validate"]["Catch"][0]["Next"] == "RecordFailure"


def test_validated_uploads_start_the_workflow(txn, region):
    events = boto3.client("events", region_name=region)
    rule = events.describe_rule(Name=txn["TransactionEventRuleName"])
    pattern = json.loads(rule["EventPattern"])
    assert pattern["detail"]["bucket"]["name"] == [txn["TransactionUploadBucketName"]]
    assert pattern["detail"]["object"]["key"] == [{"prefix": "validated/"}]
    notification = boto3.client("s3", region_name=region).get_bucket_notification_configuration(
        Bucket=txn["TransactionUploadBucketName"]
    )
    assert notification["EventBridgeConfiguration"] == {}
    targets = events.list_targets_by_rule(Rule=txn["TransactionEventRuleName"])["Targets"]
    assert [t["Arn"] for t in targets] == [txn["TransactionStateMachineArn"]]


def test_upload_api_requires_a_key_and_validates_the_body(txn, region):
    apigw = boto3.client("apigateway", region_name=region)
    api_id = txn["TransactionApiId"]
    upload = next(r for r in apigw.get_resources(restApiId=api_id)["items"] if r.get("path") == "/upload")
    method = apigw.get_method(restApiId=api_id, resourceId=upload["id"], httpMethod="POST")
    assert method["apiKeyRequired"] is True
    assert method["requestModels"] == {"application/json": "UploadRequest"}
    validator = apigw.get_request_validator(restApiId=api_id, requestValidatorId=method["requestValidatorId"])
    assert validator["validateRequestBody"] is True
    schema = json.loads(apigw.get_model(restApiId=api_id, modelName="UploadRequest")["schema"])
    assert schema["required"] == ["file_name", "content"]
    plan = apigw.get_usage_plan(usagePlanId=txn["TransactionUsagePlanId"])
    assert plan["quota"]["period"] == "DAY"
    assert plan["apiStages"][0]["apiId"] == api_id
    keys = apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert [k["id"] for k in keys] == [txn["TransactionApiKeyId"]]


def test_a_csv_flows_through_validation_to_the_transactions_table(txn, region):
    ids = [f"it-{uuid.uuid4().hex[:12]}" for _ in range(2)]
    content = (
        "transaction_id,account_id,amount,currency,timestamp\n"
        f"{ids[0]},acct-1,12.50,usd,2026-01-02T03:04:05Z\n"
        f"{ids[1]},acct-2,-2.25,USD,2026-01-02T04:00:00+01:00\n"
    )
    uploaded = _run(txn, region, "csv_validator", _upload_event("batch.csv", content))
    assert uploaded.ok, uploaded.payload
    assert uploaded.payload["statusCode"] == 202
    body = uploaded.body()
    assert body["status"] == "VALIDATED"
    assert body["rows"] == 2
    key = body["key"]
    assert key.startswith(f"validated/{body['upload_id']}/")
    head = boto3.client("s3", region_name=region).head_object(
        Bucket=txn["TransactionUploadBucketName"], Key=key
    )
    assert head["Metadata"]["upload-id"] == body["upload_id"]
    assert head["ServerSideEncryption"] == "aws:kms"

    # The workflow's steps, with the payloads the state machine passes.
    step = {"bucket": txn["TransactionUploadBucketName"], "key": key}
    validated = _run(txn, region, "csv_validator", step)
    assert validated.ok, validated.payload
    assert validated.payload["upload_id"] == body["upload_id"]
    transformed = _run(txn, region, "data_transformer", {**step, "upload_id": body["upload_id"]})
    assert transformed.ok, transformed.payload
    assert transformed.payload["written"] == 2
    assert transformed.payload["totals"] == {"USD": "10.25"}
    notified = _run(
        txn,
        region,
        "notification_sender",
        {"upload_id": body["upload_id"], "key": key, "written": 2, "totals": transformed.payload["totals"]},
    )
    assert notified.ok, notified.payload

    dynamodb = boto3.resource("dynamodb", region_name=region)
    item = dynamodb.Table(txn["TransactionsTableName"]).get_item(Key={"transaction_id": ids[1]})["Item"]
    assert item["amount"] == Decimal("-2.25")
    assert item["timestamp"] == "2026-01-02T03:00:00Z"  # normalized to UTC
    assert item["direction"] == "DEBIT"
    status = dynamodb.Table(txn["TransactionStatusTableName"]).get_item(Key={"upload_id": body["upload_id"]})[
        "Item"
    ]
    assert status["status"] == "COMPLETED"
    assert status["message_id"] == notified.payload["message_id"]


def test_a_malformed_csv_is_rejected_with_row_errors_and_not_stored(txn, region):
    content = (
        "transaction_id,account_id,amount,currency,timestamp\nt1,acct,not-a-number,USD,2026-01-02T03:04:05Z\n"
    )
    result = _run(txn, region, "csv_validator", _upload_event("bad.csv", content))
    assert result.payload["statusCode"] == 422
    body = result.body()
    assert body["status"] == "REJECTED"
    assert body["error_count"] == 1
    status = (
        boto3.resource("dynamodb", region_name=region)
        .Table(txn["TransactionStatusTableName"])
        .get_item(Key={"upload_id": body["upload_id"]})["Item"]
    )
    assert status["status"] == "REJECTED"
    listed = boto3.client("s3", region_name=region).list_objects_v2(
        Bucket=txn["TransactionUploadBucketName"], Prefix=f"validated/{body['upload_id']}/"
    )
    assert listed.get("KeyCount", 0) == 0


def test_the_workflow_step_refuses_a_key_outside_validated(txn, region):
    result = _run(
        txn, region, "csv_validator", {"bucket": txn["TransactionUploadBucketName"], "key": "raw/x.csv"}
    )
    assert result.function_error == "Unhandled"
    assert "is not under s3://" in result.payload["errorMessage"]
