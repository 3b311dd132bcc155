"""The deployed transaction pipeline (seed 002): images in ECR, the EXPRESS workflow,
the validated upload API, and a CSV flowing API -> S3 -> EventBridge -> workflow -> tables.

A CSV is posted to ``POST /upload`` with the API key, as a client posts it; the
validator stores it under ``validated/``, the upload starts the EXPRESS workflow
(validate -> transform -> notify) and the tests wait for its effects: rows in the
transactions table, the upload's status COMPLETED. A file that fails inside the
workflow lands in the dead-letter queue and is announced on the alert topic.
(EXPRESS executions cannot be described on AWS: the tests read their effects.)
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tests.integration.http_api import Response, call
from tests.integration.waiting import eventually

OUTPUT_KEYS = (
    "TransactionApiId",
    "TransactionApiEndpoint",
    "TransactionApiKeyId",
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
HEADER = "transaction_id,account_id,amount,currency,timestamp\n"


@pytest.fixture(scope="module")
def txn(outputs, region):
    missing = [k for k in OUTPUT_KEYS if k not in outputs]
    if missing:
        pytest.skip(f"transaction_pipeline is not deployed (no {', '.join(missing)})")
    return outputs


@pytest.fixture(scope="module")
def api_key(txn, region) -> str:
    return boto3.client("apigateway", region_name=region).get_api_key(
        apiKey=txn["TransactionApiKeyId"], includeValue=True
    )["value"]


def _image(function_name: str, region: str) -> tuple[str, str, str]:
    """(repository, tag, image uri) of a deployed image function."""
    uri = boto3.client("lambda", region_name=region).get_function(FunctionName=function_name)["Code"][
        "ImageUri"
    ]
    repository, tag = uri.split("/", 1)[1].rsplit(":", 1)
    return repository, tag, uri


def post_upload(txn, region: str, key: str | None, body: Any) -> Response:
    headers = {"x-api-key": key} if key else {}
    return call("POST", txn["TransactionApiEndpoint"], body=body, headers=headers, region=region)


def status_of(txn, region: str, upload_id: str, want: str, timeout: float = 90) -> dict[str, Any]:
    table = boto3.resource("dynamodb", region_name=region).Table(txn["TransactionStatusTableName"])

    def reached() -> dict[str, Any] | None:
        item = table.get_item(Key={"upload_id": upload_id}).get("Item")
        return item if item and item["status"] == want else None

    return eventually(f"upload {upload_id} to be {want}", reached, timeout=timeout)


def test_functions_run_immutable_scanned_images_from_their_repositories(txn, region):
    ecr = boto3.client("ecr", region_name=region)
    for key in FUNCTIONS.values():
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


def test_the_upload_api_refuses_a_missing_key_and_an_invalid_body(txn, region, api_key):
    good = {"file_name": "a.csv", "content": HEADER}
    assert post_upload(txn, region, None, good).status == 403
    refused = post_upload(txn, region, api_key, {"file_name": "a.csv"})
    assert (refused.status, refused.json()) == (400, {"message": "Invalid request body"})


def test_a_csv_flows_from_the_api_through_the_workflow_to_the_tables(txn, region, api_key):
    ids = [f"it-{uuid.uuid4().hex[:12]}" for _ in range(2)]
    content = (
        HEADER
        + f"{ids[0]},acct-1,12.50,usd,2026-01-02T03:04:05Z\n"
        + f"{ids[1]},acct-2,-2.25,USD,2026-01-02T04:00:00+01:00\n"
    )
    resp = post_upload(txn, region, api_key, {"file_name": "batch.csv", "content": content})
    assert resp.status == 202, resp.body
    body = resp.json()
    assert (body["status"], body["rows"]) == ("VALIDATED", 2)
    key = body["key"]
    assert key.startswith(f"validated/{body['upload_id']}/")
    head = boto3.client("s3", region_name=region).head_object(
        Bucket=txn["TransactionUploadBucketName"], Key=key
    )
    assert head["Metadata"]["upload-id"] == body["upload_id"]
    assert head["ServerSideEncryption"] == "aws:kms"

    status = status_of(txn, region, body["upload_id"], "COMPLETED")
    assert status["message_id"]  # the notification sender published the summary
    item = (
        boto3.resource("dynamodb", region_name=region)
        .Table(txn["TransactionsTableName"])
        .get_item(Key={"transaction_id": ids[1]})["Item"]
    )
    assert item["amount"] == Decimal("-2.25")
    assert item["timestamp"] == "2026-01-02T03:00:00Z"  # normalized to UTC
    assert item["direction"] == "DEBIT"


def test_a_malformed_csv_is_rejected_by_the_api_and_not_stored(txn, region, api_key):
    content = HEADER + "t1,acct,not-a-number,USD,2026-01-02T03:04:05Z\n"
    resp = post_upload(txn, region, api_key, {"file_name": "bad.csv", "content": content})
    assert resp.status == 422
    body = resp.json()
    assert (body["status"], body["error_count"]) == ("REJECTED", 1)
    assert status_of(txn, region, body["upload_id"], "REJECTED", timeout=5)
    listed = boto3.client("s3", region_name=region).list_objects_v2(
        Bucket=txn["TransactionUploadBucketName"], Prefix=f"validated/{body['upload_id']}/"
    )
    assert listed.get("KeyCount", 0) == 0


def _listen(topic_arn: str, region: str) -> tuple[str, str]:
    """A temporary queue subscribed to ``topic_arn``: (queue URL, subscription ARN)."""
    sqs, sns = boto3.client("sqs", region_name=region), boto3.client("sns", region_name=region)
    url = sqs.create_queue(QueueName=f"it-alerts-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    subscription = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True)
    return url, subscription["SubscriptionArn"]


def test_a_file_failing_inside_the_workflow_goes_to_the_dlq_and_the_alert_topic(txn, region):
    upload_id = uuid.uuid4().hex
    key = f"validated/{upload_id}/broken.csv"  # bypasses the API's validation
    sqs, sns = boto3.client("sqs", region_name=region), boto3.client("sns", region_name=region)
    alerts, subscription = _listen(txn["TransactionNotificationTopicArn"], region)
    try:
        boto3.client("s3", region_name=region).put_object(
            Bucket=txn["TransactionUploadBucketName"], Key=key, Body=b"not,a\ncsv"
        )
        status = status_of(txn, region, upload_id, "FAILED")
        assert status["error"]

        def dead_lettered() -> list[dict[str, Any]]:
            got = sqs.receive_message(
                QueueUrl=txn["TransactionDlqUrl"], MaxNumberOfMessages=10, VisibilityTimeout=5
            )
            return [m for m in got.get("Messages", []) if upload_id in m["Body"]]

        message = eventually("the failed upload on the dead-letter queue", dead_lettered)[0]
        assert json.loads(message["Body"])["key"] == key
        sqs.delete_message(QueueUrl=txn["TransactionDlqUrl"], ReceiptHandle=message["ReceiptHandle"])

        def alerted() -> list[dict[str, Any]]:
            got = sqs.receive_message(QueueUrl=alerts, MaxNumberOfMessages=10)
            return [m for m in got.get("Messages", []) if upload_id in m["Body"]]

        notice = json.loads(eventually("the failure notice on the alert topic", alerted)[0]["Body"])
        assert notice["Subject"] == "Transaction upload failed"
    finally:
        sns.unsubscribe(SubscriptionArn=subscription)
        sqs.delete_queue(QueueUrl=alerts)


def test_the_workflow_step_refuses_a_key_outside_validated(txn, region):
    resp = boto3.client("lambda", region_name=region).invoke(
        FunctionName=txn[FUNCTIONS["csv_validator"]],
        Payload=json.dumps({"bucket": txn["TransactionUploadBucketName"], "key": "raw/x.csv"}),
    )
    assert resp["FunctionError"] == "Unhandled"
    assert "is not under s3://" in json.loads(resp["Payload"].read())["errorMessage"]
