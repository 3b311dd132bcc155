"""The deployed IoT pipeline: configuration, and readings flowing API -> SQS -> DynamoDB.

Functions run through ``lambda_invoke.invoke`` (``lambda:Invoke`` on AWS; the
deployed package in-process on the emulator). The SQS event source mapping
is played by the tests that consume the ingestion queue, under a lock so
parallel workers never receive each other's messages.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.integration.iot_support import IotPipeline, api_event, discover, exclusive, sqs_event
from tests.integration.lambda_invoke import invoke

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


def queue_arn(iot: IotPipeline, url: str) -> str:
    return iot.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def dlq_url(iot: IotPipeline) -> str:
    policy = json.loads(
        iot.client("sqs").get_queue_attributes(QueueUrl=iot.queue_url, AttributeNames=["RedrivePolicy"])[
            "Attributes"
        ]["RedrivePolicy"]
    )
    name = policy["deadLetterTargetArn"].split(":")[-1]
    return iot.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def receive_own(iot: IotPipeline, url: str, marker: str, want: int, *, visibility: int = 30) -> list[dict]:
    """Receive until ``want`` messages containing ``marker`` are held; release any others."""
    sqs, mine = iot.client("sqs"), []
    for _ in range(20):
        resp = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility, AttributeNames=["All"]
        )
        for message in resp.get("Messages", []):
            if marker in message["Body"]:
                mine.append(message)
            else:  # a leftover of an earlier run: make it visible again at once
                sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        if len(mine) >= want:
            return mine
        time.sleep(0.2)
    raise AssertionError(f"only {len(mine)} of {want} messages with {marker} arrived in {url}")


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
    assert int(attrs["VisibilityTimeout"]) >= 60
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


def test_ingest_then_processor_then_query(iot):
    dev, now = device(), time.time()
    sqs = iot.client("sqs")
    with exclusive(iot.queue_url):
        for offset, celsius in ((0, 20.0), (1, 30.0)):
            result = invoke(
                iot.functions["ingest"],
                api_event(
                    "POST",
                    "ingest",
                    body={
                        "device_id": dev,
                        "timestamp": now + offset,
                        "sensor_data": {"temperature": celsius},
                    },
                ),
                region=iot.region,
            )
            assert result.ok, result.payload
            assert result.payload["statusCode"] == 202, result.payload
        raw = iot.client("dynamodb").query(
            TableName=iot.raw_table,
            KeyConditionExpression="device_id = :d",
            ExpressionAttributeValues={":d": {"S": dev}},
        )
        assert raw["Count"] == 2
        messages = receive_own(iot, iot.queue_url, dev, 2)
        batch = invoke(
            iot.functions["process"],
            sqs_event(messages, queue_arn(iot, iot.queue_url), iot.region),
            region=iot.region,
        )
        assert batch.ok, batch.payload
        assert batch.payload == {"batchItemFailures": []}
        for m in messages:  # what the event source mapping does after a successful batch
            sqs.delete_message(QueueUrl=iot.queue_url, ReceiptHandle=m["ReceiptHandle"])
    day = datetime.fromtimestamp(now, tz=UTC).date().isoformat()
    item = iot.client("dynamodb").get_item(
        TableName=iot.processed_table, Key={"device_id": {"S": dev}, "event_date": {"S": day}}
    )["Item"]
    assert item["reading_count"] == {"N": "2"}
    assert Decimal(item["temperature_fahrenheit_sum"]["N"]) == Decimal("68") + Decimal("86")
    query = invoke(
        iot.functions["query"],
        api_event("GET", "query", query={"device_id": dev, "start_date": day, "end_date": day}),
        region=iot.region,
    )
    assert query.payload["statusCode"] == 200
    body = query.body()
    assert body["count"] == 1
    assert body["items"][0]["average_temperature_fahrenheit"] == 77.0


def test_poison_message_moves_to_the_dlq_after_three_receives(iot):
    marker = device()
    sqs = iot.client("sqs")
    arn = queue_arn(iot, iot.queue_url)
    with exclusive(iot.queue_url):
        sqs.send_message(
            QueueUrl=iot.queue_url, MessageBody=json.dumps({"device_id": marker, "sensor_data": "oops"})
        )
        receives = 0
        for _ in range(6):
            resp = sqs.receive_message(
                QueueUrl=iot.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
            )
            mine = [m for m in resp.get("Messages", []) if marker in m["Body"]]
            if not mine:
                break
            receives += 1
            result = invoke(iot.functions["process"], sqs_event(mine, arn, iot.region), region=iot.region)
            assert result.payload == {"batchItemFailures": [{"itemIdentifier": mine[0]["MessageId"]}]}
        assert receives == 3
    moved = receive_own(iot, dlq_url(iot), marker, 1)
    assert json.loads(moved[0]["Body"])["device_id"] == marker
    sqs.delete_message(QueueUrl=dlq_url(iot), ReceiptHandle=moved[0]["ReceiptHandle"])


def test_ingest_rejects_a_malformed_reading(iot):
    dev = device()
    result = invoke(
        iot.functions["ingest"],
        api_event("POST", "ingest", body={"device_id": dev, "sensor_data": {"temperature": "warm"}}),
        region=iot.region,
    )
    assert result.payload["statusCode"] == 400
    assert result.body() == {"message": "sensor_data.temperature must be a number"}
    raw = iot.client("dynamodb").query(
        TableName=iot.raw_table,
        KeyConditionExpression="device_id = :d",
        ExpressionAttributeValues={":d": {"S": dev}},
    )
    assert raw["Count"] == 0


def test_process_endpoint_writes_the_daily_record(iot):
    dev = device()
    result = invoke(
        iot.functions["process"],
        api_event(
            "POST", "process", body={"device_id": dev, "sensor_data": {"temperature": 100, "humidity": 55}}
        ),
        region=iot.region,
    )
    assert result.payload["statusCode"] == 200
    assert result.body()["metrics"] == {"temperature_fahrenheit": 212, "humidity": 55}
    item = iot.client("dynamodb").get_item(
        TableName=iot.processed_table, Key={"device_id": {"S": dev}, "event_date": {"S": today()}}
    )["Item"]
    # DynamoDB normalises numbers ("212"); moto keeps the text it was sent ("212.00")
    assert Decimal(item["latest_metrics"]["M"]["temperature_fahrenheit"]["N"]) == 212


def test_query_rejects_a_reversed_range(iot):
    result = invoke(
        iot.functions["query"],
        api_event(
            "GET",
            "query",
            query={"device_id": device(), "start_date": "2024-05-02", "end_date": "2024-05-01"},
        ),
        region=iot.region,
    )
    assert result.payload["statusCode"] == 400
    assert result.body() == {"message": "start_date must not be after end_date"}
