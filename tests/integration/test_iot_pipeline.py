"""The deployed IoT pipeline: configuration, and readings flowing through it as devices send them.

A reading is a SigV4-signed ``POST /ingest`` with the API key; the ingest function
stores it and queues it; the SQS event source mapping runs the processor, which
writes the daily record; a signed ``GET /query`` reads it back. A malformed
message is retried by the mapping and lands in the dead-letter queue after
``maxReceiveCount`` receives. The same calls run on AWS and on the embedded AWS.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.http_api import Response, call
from tests.integration.iot_support import IotPipeline, discover
from tests.integration.waiting import eventually

OUTPUT_KEYS = (
    "ApiEndpoint",
    "RawSensorTableName",
    "ProcessedDataTableName",
    "IngestionQueueUrl",
    "AlertTopicArn",
)


@pytest.fixture(scope="module")
def iot(outputs) -> IotPipeline:
    missing = [k for k in OUTPUT_KEYS if k not in outputs]
    if missing:
        pytest.skip(f"iot_pipeline is not deployed (no {', '.join(missing)})")
    return discover(outputs)


def device() -> str:
    return f"it-{uuid.uuid4().hex[:12]}"


def today() -> str:
    return datetime.now(tz=UTC).date().isoformat()


def dlq_url(iot: IotPipeline) -> str:
    policy = json.loads(
        iot.client("sqs").get_queue_attributes(QueueUrl=iot.queue_url, AttributeNames=["RedrivePolicy"])[
            "Attributes"
        ]["RedrivePolicy"]
    )
    name = policy["deadLetterTargetArn"].split(":")[-1]
    return iot.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def api(
    iot: IotPipeline, method: str, route: str, *, sign: bool = True, key: bool = True, **kwargs: Any
) -> Response:
    """A device's request: signed with the caller's credentials, with the devices' API key."""
    headers = {"x-api-key": iot.api_key} if key else {}
    return call(method, f"{iot.endpoint}/{route}", headers=headers, sign=sign, region=iot.region, **kwargs)


# -- deployed configuration ---------------------------------------------------------


def test_tables_are_on_demand_encrypted_with_pitr(iot):
    ddb = iot.client("dynamodb")
    for name, keys in (
        (iot.raw_table, [("device_id", "HASH", "S"), ("timestamp", "RANGE", "N")]),
        (iot.processed_table, [("device_id", "HASH", "S"), ("event_date", "RANGE", "S")]),
    ):
        table = ddb.describe_table(TableName=name)["Table"]
        types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
        assert [
            (k["AttributeName"], k["KeyType"], types[k["AttributeName"]]) for k in table["KeySchema"]
        ] == keys
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSEDescription"]["SSEType"] == "KMS"
        backups = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_queue_redrives_to_an_encrypted_dlq(iot):
    sqs = iot.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=iot.queue_url, AttributeNames=["All"])["Attributes"]
    policy = json.loads(attrs["RedrivePolicy"])
    assert policy["maxReceiveCount"] == 3
    processor = iot.client("lambda").get_function_configuration(FunctionName=iot.functions["process"])
    assert int(attrs["VisibilityTimeout"]) >= processor["Timeout"]  # Lambda's rule for an SQS source
    assert attrs["KmsMasterKeyId"].startswith("arn:aws:kms:")
    dlq = sqs.get_queue_attributes(QueueUrl=dlq_url(iot), AttributeNames=["All"])["Attributes"]
    assert dlq["MessageRetentionPeriod"] == str(14 * 24 * 3600)
    assert dlq["KmsMasterKeyId"] == attrs["KmsMasterKeyId"]


def test_topic_is_encrypted(iot):
    attrs = iot.client("sns").get_topic_attributes(TopicArn=iot.topic_arn)["Attributes"]
    assert attrs["KmsMasterKeyId"].startswith("arn:aws:kms:")


def test_api_routes_are_iam_authorized_and_throttled(iot):
    apigw = iot.client("apigateway")
    routes = {}
    for resource in apigw.get_resources(restApiId=iot.api_id)["items"]:
        for verb in resource.get("resourceMethods", {}):
            method = apigw.get_method(restApiId=iot.api_id, resourceId=resource["id"], httpMethod=verb)
            routes[(resource["path"], verb)] = (method["authorizationType"], method["apiKeyRequired"])
    assert routes == {
        ("/ingest", "POST"): ("AWS_IAM", True),
        ("/process", "POST"): ("AWS_IAM", True),
        ("/query", "GET"): ("AWS_IAM", True),
    }
    stage = apigw.get_stage(restApiId=iot.api_id, stageName=iot.stage)
    assert stage["tracingEnabled"] is True
    assert stage["accessLogSettings"]["destinationArn"].startswith("arn:aws:logs:")
    settings = stage["methodSettings"]["*/*"]
    assert settings["throttlingRateLimit"] == 1000
    assert settings["throttlingBurstLimit"] >= 1000


def test_functions_are_arm64_traced_with_reserved_concurrency(iot):
    lam = iot.client("lambda")
    assert set(iot.functions) == {"ingest", "process", "query"}
    for arn in iot.functions.values():
        fn = lam.get_function(FunctionName=arn)
        config = fn["Configuration"]
        assert config["Architectures"] == ["arm64"]
        assert config["TracingConfig"]["Mode"] == "Active"
        assert config["Runtime"] == "python3.12"
        assert len(config["Layers"]) == 1
        assert config["DeadLetterConfig"]["TargetArn"].endswith("-iot-ingestion-dlq-" + arn.rsplit("-", 1)[1])
        assert fn["Concurrency"]["ReservedConcurrentExecutions"] >= 1
        group = f"/aws/lambda/{config['FunctionName']}"
        groups = iot.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert [g["retentionInDays"] > 0 for g in groups if g["logGroupName"] == group] == [True]


def test_alarms_notify_the_alert_topic(iot):
    alarms = [
        a
        for page in iot.client("cloudwatch").get_paginator("describe_alarms").paginate()
        for a in page["MetricAlarms"]
        if iot.topic_arn in a["AlarmActions"]
    ]
    metrics = sorted((a["Namespace"], a["MetricName"]) for a in alarms)
    assert metrics == sorted(
        [("AWS/Lambda", "Errors")] * 3
        + [("AWS/Lambda", "Throttles")] * 3
        + [("AWS/SQS", "ApproximateNumberOfMessagesVisible"), ("AWS/ApiGateway", "5XXError")]
    )


def test_config_and_api_key_parameters(iot):
    config = iot.client("lambda").get_function_configuration(FunctionName=iot.functions["ingest"])
    name = config["Environment"]["Variables"]["CONFIG_PARAMETER"]
    ssm = iot.client("ssm")
    value = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    assert value["max_receive_count"] == 3
    assert value["max_metrics_per_reading"] >= 1
    key = ssm.get_parameter(Name=name.rsplit("/", 1)[0] + "/api-key", WithDecryption=False)["Parameter"]
    assert key["Type"] == "SecureString"


# -- data flows ---------------------------------------------------------------------


def test_a_reading_flows_from_the_api_through_the_queue_to_the_daily_record(iot):
    dev, now = device(), datetime.now(tz=UTC).timestamp()
    for offset, celsius in ((0, 20.0), (1, 30.0)):
        resp = api(
            iot,
            "POST",
            "ingest",
            body={"device_id": dev, "timestamp": now + offset, "sensor_data": {"temperature": celsius}},
        )
        assert resp.status == 202, resp.body
    raw = iot.client("dynamodb").query(
        TableName=iot.raw_table,
        KeyConditionExpression="device_id = :d",
        ExpressionAttributeValues={":d": {"S": dev}},
    )
    assert raw["Count"] == 2
    day = datetime.fromtimestamp(now, tz=UTC).date().isoformat()

    def processed() -> dict[str, Any] | None:
        item = (
            iot.client("dynamodb")
            .get_item(TableName=iot.processed_table, Key={"device_id": {"S": dev}, "event_date": {"S": day}})
            .get("Item")
        )
        return item if item and item.get("reading_count") == {"N": "2"} else None

    item = eventually("the processor's daily record of both readings", processed)
    assert Decimal(item["temperature_fahrenheit_sum"]["N"]) == Decimal("68") + Decimal("86")
    query = api(iot, "GET", "query", query={"device_id": dev, "start_date": day, "end_date": day})
    assert query.status == 200, query.body
    body = query.json()
    assert body["count"] == 1
    assert body["items"][0]["average_temperature_fahrenheit"] == 77.0


@pytest.mark.long_wait
def test_a_poison_message_lands_in_the_dlq_after_three_receives(iot):
    marker = device()
    iot.client("sqs").send_message(
        QueueUrl=iot.queue_url, MessageBody=json.dumps({"device_id": marker, "sensor_data": "oops"})
    )
    dlq = dlq_url(iot)

    def moved() -> list[dict[str, Any]]:
        resp = iot.client("sqs").receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=5, AttributeNames=["All"]
        )
        return [m for m in resp.get("Messages", []) if marker in m["Body"]]

    message = eventually("the poison message in the dead-letter queue", moved, timeout=120)[0]
    assert json.loads(message["Body"])["device_id"] == marker
    assert int(message["Attributes"]["ApproximateReceiveCount"]) >= 3
    iot.client("sqs").delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])


def test_the_api_refuses_unsigned_and_keyless_requests(iot):
    reading = {"device_id": device(), "sensor_data": {"temperature": 1}}
    assert api(iot, "POST", "ingest", body=reading, sign=False).status == 403
    assert api(iot, "POST", "ingest", body=reading, key=False).status == 403


def test_ingest_rejects_a_malformed_reading(iot):
    dev = device()
    resp = api(iot, "POST", "ingest", body={"device_id": dev, "sensor_data": {"temperature": "warm"}})
    assert resp.status == 400
    assert resp.json() == {"message": "sensor_data.temperature must be a number"}
    raw = iot.client("dynamodb").query(
        TableName=iot.raw_table,
        KeyConditionExpression="device_id = :d",
        ExpressionAttributeValues={":d": {"S": dev}},
    )
    assert raw["Count"] == 0


def test_process_endpoint_writes_the_daily_record(iot):
    dev = device()
    resp = api(
        iot, "POST", "process", body={"device_id": dev, "sensor_data": {"temperature": 100, "humidity": 55}}
    )
    assert resp.status == 200, resp.body
    assert resp.json()["metrics"] == {"temperature_fahrenheit": 212, "humidity": 55}
    item = iot.client("dynamodb").get_item(
        TableName=iot.processed_table, Key={"device_id": {"S": dev}, "event_date": {"S": today()}}
    )["Item"]
    # DynamoDB normalises numbers ("212"); moto keeps the text it was sent ("212.00")
    assert Decimal(item["latest_metrics"]["M"]["temperature_fahrenheit"]["N"]) == 212


def test_query_rejects_a_reversed_range(iot):
    resp = api(
        iot,
        "GET",
        "query",
        query={"device_id": device(), "start_date": "2024-05-02", "end_date": "2024-05-01"},
    )
    assert resp.status == 400
    assert resp.json() == {"message": "start_date must not be after end_date"}
